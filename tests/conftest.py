"""Session fixtures shared by every package's tests."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ddpg_control.cli import main

#: The trained_run fixture's run: the default config (a population of 4 learners, 10k steps
#: each), ~11 s here. Seed 1, not 0: the delivered policies of seeds 0-2 all hold within 0.1 rad
#: of upright on the simulator (20 of 20 randomised starts each), but on the simavr AVR rig
#: (tests/hardware/test_firmware_avr.py: a DC motor with back-EMF, a 2400-count encoder, the
#: velocity estimated by the firmware) seed 0's rests 0.09-0.11 rad off upright and fails that
#: test's 0.1 rad, while seeds 1 and 2 hold within 0.05 rad. One learner for 20k steps does the
#: same there on another seed: seeds 0 and 2 hold, seed 1 peaks at 0.102 rad. A population of 4
#: at 5k steps does not even hold on the simulator (seed 0's best rests 0.104 rad off): the hold
#: offset keeps shrinking long after the return has levelled off.
TRAINED_RUN_SEED = 1


@pytest.fixture(autouse=True)
def _isolated_device_profiles(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test (nor the CLI subprocesses it starts) reads or writes the user's device profiles:
    ``run --device PORT`` would otherwise pick up a profile saved for that pty path."""
    folder = tmp_path_factory.mktemp("device-profiles")
    monkeypatch.setenv("DDPG_CONTROL_PROFILES", str(folder))


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real DDPG run on Pendulum-v1 (default config, seed ``TRAINED_RUN_SEED``): the run
    directory, holding ``checkpoints/best.pt`` (a swing-up-and-hold policy), ``last.pt``, metrics
    and plots."""
    import gymnasium

    from ddpg_control.learning.config import TrainConfig, with_overrides
    from ddpg_control.learning.trainer import train
    from ddpg_control.pipeline.envs import vector_env_factory

    config = with_overrides(TrainConfig(), [("seed", TRAINED_RUN_SEED)])
    run_dir = tmp_path_factory.mktemp("runs") / "trained"
    vector = vector_env_factory("Pendulum-v1")  # as `ddpg-control train` steps its members
    train(config, lambda: gymnasium.make("Pendulum-v1"), run_dir, vector_env_factory=vector)
    return run_dir


#: The randomized_realistic_policy fixture's run: the default config (a population of 4, 10k
#: steps each; evaluated at 5000 and 10000 steps instead of every 1000) on the realistic PyBullet
#: preset with domain randomisation (``train --env PyBulletPendulum-v0 --preset realistic
#: --randomize``). Its evaluations, on the 1 kHz physics, cost more than the training's own
#: steps: on a loaded 2-core machine (load 3-5) the fixture took 420 s evaluating every 1000
#: steps, 241 s every 2000 and 95 s every 5000, and its policy still holds 19 of 20. The
#: realistic preset has stiction, torque response, a 12-bit encoder and no velocity; many
#: intermediate checkpoints settle 0.05-0.12 rad off upright. A single learner at 10k steps held
#: in 0, 20, 10 and 0 of 20 runs for seeds 0-3; the population of 4 held 20 of 20 for seeds 0
#: and 1 (``bench/swing_up.py --preset realistic``).
REALISTIC_RUN_SEED = 1


@pytest.fixture(scope="session")
def randomized_realistic_policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real DDPG run on PyBulletPendulum-v0 (preset realistic, randomize on, default config
    otherwise), its best checkpoint exported and verified to ``<run>/policy.onnx``."""
    from ddpg_control.learning.config import TrainConfig, with_overrides
    from ddpg_control.learning.trainer import train
    from ddpg_control.pipeline.envs import PYBULLET_ENV_ID, env_factory
    from ddpg_control.runtime.run_layout import BEST_CHECKPOINT, POLICY_FILE
    from export.onnx_export import export_policy

    config = with_overrides(
        TrainConfig(),
        [
            ("seed", REALISTIC_RUN_SEED),
            ("env.id", PYBULLET_ENV_ID),
            ("env.preset", "realistic"),
            ("env.randomize", True),
            # Two of the default's ten evaluations: on the 1 kHz physics they cost more than
            # the training's own steps, and a test run has no use for the others.
            ("eval_every_steps", 5000),
        ],
    )
    run_dir = tmp_path_factory.mktemp("runs") / "realistic-randomized"
    train(config, env_factory(PYBULLET_ENV_ID, "realistic", randomize=True), run_dir)
    return export_policy(run_dir / BEST_CHECKPOINT, run_dir / POLICY_FILE).path


@pytest.fixture(scope="session")
def exported_policy(trained_run: Path) -> Path:
    """``trained_run``'s best checkpoint exported (and verified) to ``<run>/policy.onnx``, as
    ``ddpg-control export --onnx`` does: the deployed artifact the loop and device tests run."""
    from ddpg_control.runtime.run_layout import BEST_CHECKPOINT, POLICY_FILE
    from export.onnx_export import export_policy

    return export_policy(trained_run / BEST_CHECKPOINT, trained_run / POLICY_FILE).path


@pytest.fixture
def cli_error(capsys: pytest.CaptureFixture[str]) -> Callable[[list[str]], str]:
    """Run ``ddpg-control ARGV`` in-process; assert it failed with one ``error:`` line and no
    traceback, and return that line."""

    def run(argv: list[str]) -> str:
        code = main(argv)
        captured = capsys.readouterr()
        assert code != 0
        assert "Traceback" not in captured.err
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
        return lines[0]

    return run


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    """A local Ray cluster of 2 CPUs on this machine, started once for the module of tests that
    use it (there is one) and stopped after them, so that its idle processes do not load the
    real-time tests that follow; this test process is its driver, so ``--address auto`` runs
    on it."""
    ray = pytest.importorskip("ray", reason="the 'ray' extra (make setup installs it)")
    sigterm = signal.getsignal(signal.SIGTERM)
    ray.init(
        address="local",  # a new cluster, whatever else runs on this machine
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        logging_level="WARNING",
    )
    signal.signal(signal.SIGTERM, sigterm)  # ray.init's own handler would outlive this test
    try:
        yield "auto"
    finally:
        ray.shutdown()
