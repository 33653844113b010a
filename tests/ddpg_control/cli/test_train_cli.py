"""``ddpg-control train`` through the real entry point: a tiny run, resume, and bad input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ddpg_control.cli import main
from ddpg_control.runtime.run_layout import BEST_CHECKPOINT, LAST_CHECKPOINT

TINY = [
    "--total-steps", "400",
    "--set", "learning_starts=100",
    "--set", "eval_every_steps=200",
    "--set", "eval_episodes=1",
    "--set", "final_eval_episodes=2",
    "--set", "agent.hidden_sizes=[16, 16]",
    "--quiet",
]  # fmt: skip

CliError = Callable[[list[str]], str]


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_train_writes_a_run_directory_and_resumes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--name", "tiny", "--seed", "3", *TINY]) == 0
    out = capsys.readouterr().out
    assert "runs/tiny" in out and "over 1 deterministic episodes" in out
    run = Path("runs/tiny")
    for name in ("config.toml", "metrics.csv", "learning_curve.png", BEST_CHECKPOINT,
                 LAST_CHECKPOINT):  # fmt: skip
        assert (run / name).is_file(), name
    assert "seed = 3" in (run / "config.toml").read_text()
    assert main(["train", "--resume", "runs/tiny", "--total-steps", "600", "--quiet"]) == 0
    assert "600 steps" in capsys.readouterr().out
    assert "total_steps = 600" in (run / "config.toml").read_text()


def test_unknown_env_id(cli_error: CliError) -> None:
    assert "unknown environment id 'Pendulum-v9'" in cli_error(
        ["train", "--env", "Pendulum-v9", "--quiet"]
    )
    assert not Path("runs").exists()


@pytest.mark.parametrize("steps", ["0", "-5"])
def test_zero_or_negative_steps(steps: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["train", f"--total-steps={steps}"])
    assert exc.value.code == 2
    assert "argument --total-steps: value must be a whole number > 0" in capsys.readouterr().err


def test_not_a_number_of_steps(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["train", "--total-steps", "many"])
    assert exc.value.code == 2
    assert "expected a whole number" in capsys.readouterr().err


def test_config_file_problems(cli_error: CliError, tmp_path: Path) -> None:
    assert "does not exist" in cli_error(["train", "--config", "missing.toml"])
    Path("bad.toml").write_text("[agent\n")
    assert "not valid TOML" in cli_error(["train", "--config", "bad.toml"])
    Path("wrong.toml").write_text("[agent]\ntau = 2.0\n")
    assert "agent.tau" in cli_error(["train", "--config", "wrong.toml"])
    Path("dir.toml").mkdir()
    assert "cannot read" in cli_error(["train", "--config", "dir.toml"])
    assert "KEY=VALUE" in cli_error(["train", "--set", "tau"])


@pytest.mark.parametrize("option", [["--randomize"], ["--preset", "heavy"]])
def test_pybullet_only_options_on_pendulum_v1(cli_error: CliError, option: list[str]) -> None:
    message = cli_error(["train", *option])
    assert "only applies to PyBulletPendulum-v0" in message


def test_resume_without_a_checkpoint(cli_error: CliError) -> None:
    assert "nothing to resume" in cli_error(["train", "--resume", "runs/none"])
    Path("junk.pt").write_bytes(b"not a checkpoint")
    assert "corrupt" in cli_error(["train", "--resume", "junk.pt"])


def test_train_on_the_pybullet_pendulum_records_its_env(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["train", "--env", "PyBulletPendulum-v0", "--preset", "realistic", "--randomize"]
    tiny = [*TINY, "--total-steps", "200", "--set", "final_eval_episodes=1"]
    assert main([*argv, "--name", "pb", *tiny]) == 0
    from ddpg_control.learning.checkpoint import load_checkpoint

    payload = load_checkpoint(Path("runs/pb") / BEST_CHECKPOINT)
    env = payload["env"]
    assert env["id"] == "PyBulletPendulum-v0"
    assert env["randomize"] is True
    assert env["control_period_s"] == pytest.approx(0.05)
    assert env["max_torque_nm"] > 0
    assert env["params"] and all(
        isinstance(v, int | float | str | bool) for v in env["params"].values()
    )
    assert env["episode_steps"] == 200 and env["episode_s"] == pytest.approx(10.0)
    assert payload["config"]["env"] == {"id": "PyBulletPendulum-v0", "preset": "realistic",
                                        "randomize": True, "episode_s": 10.0}  # fmt: skip


def test_the_episode_and_the_discount_travel_from_train_to_the_onnx_metadata() -> None:
    """A 100 Hz rig with --episode-s 1.5: 150-step episodes; the run's config, checkpoint and
    policy.onnx all say 1.5 s and the discount per second, which gives the update's gamma."""
    from ddpg_control.learning.checkpoint import load_checkpoint
    from ddpg_control.learning.config import GAMMA_PER_S
    from export.runtime import OnnxPolicy

    rig = Path("rig.toml")
    rig.write_text("[pendulum]\ncontrol_period_s = 0.01\n")
    argv = ["train", "--env", "PyBulletPendulum-v0", "--params", str(rig), "--population", "1"]
    assert main([*argv, "--name", "fast", "--episode-s", "1.5", *TINY]) == 0
    run = Path("runs/fast")
    assert "episode_s = 1.5" in (run / "config.toml").read_text()
    payload = load_checkpoint(run / BEST_CHECKPOINT)
    assert payload["env"]["episode_steps"] == 150
    assert payload["env"]["episode_s"] == pytest.approx(1.5)
    episodes = int(payload["progress"]["episodes"])
    assert episodes == int(payload["progress"]["env_steps"]) // 150
    assert main(["export", "--onnx"]) == 0
    meta = OnnxPolicy.load(run / "policy.onnx").metadata
    assert meta.control_period_s == 0.01
    assert meta.episode_s == pytest.approx(1.5)
    assert meta.gamma_per_s == GAMMA_PER_S
    assert meta.gamma_per_s**meta.control_period_s == pytest.approx(0.99**0.2, rel=1e-12)
    # A checkpoint from before these records: a per-step gamma, no episode. It still exports.
    from ddpg_control.learning.checkpoint import save_checkpoint

    del payload["config"]["agent"]["gamma_per_s"]
    payload["config"]["agent"]["gamma"] = 0.99
    del payload["env"]["episode_s"], payload["env"]["episode_steps"]
    save_checkpoint(run / "checkpoints" / "old.pt", payload)
    assert main(["export", "--policy", str(run / "checkpoints" / "old.pt"), "-o", "old.onnx"]) == 0
    meta = OnnxPolicy.load(Path("old.onnx")).metadata
    assert meta.episode_s is None
    assert meta.gamma_per_s == pytest.approx(0.99**100, rel=1e-12)


def test_train_help_says_what_episode_s_means(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--episode-s S each episode's duration in seconds" in text
    assert "Applies to Pendulum-v1 too" in text


@pytest.mark.parametrize(
    ("env_id", "problem"),
    [
        ("CartPole-v1", "action space Discrete(2) is not a continuous Box"),
        ("MountainCarContinuous-v0", "no control period"),
    ],
)
def test_an_env_the_trainer_cannot_drive_is_refused_before_training(
    cli_error: CliError, env_id: str, problem: str
) -> None:
    message = cli_error(["train", "--env", env_id, "--quiet"])
    assert f"cannot train on {env_id}: " in message and problem in message
    assert "Pendulum-v1 or PyBulletPendulum-v0" in message
    assert not Path("runs").exists()


def test_population_on_the_pybullet_pendulum_delivers_a_policy_export_takes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["train", "--name", "pop", "--population", "2", "--env", "PyBulletPendulum-v0"]
    assert main([*args, "--preset", "realistic", "--randomize", *TINY]) == 0
    out = capsys.readouterr().out
    assert "population: 2 learners; best.pt is member" in out
    assert main(["export", "--onnx"]) == 0
    assert Path("runs/pop/policy.onnx").is_file()


def test_a_resumed_run_goes_on_with_the_params_it_was_trained_for(cli_error: CliError) -> None:
    rig = Path("rig.toml")
    rig.write_text("[pendulum]\nmass_kg = 1.25\n")
    argv = ["train", "--env", "PyBulletPendulum-v0", "--population", "1", "--name", "rig"]
    assert main([*argv, "--params", str(rig), *TINY, "--total-steps", "200"]) == 0
    from ddpg_control.learning.checkpoint import load_checkpoint

    last = Path("runs/rig") / LAST_CHECKPOINT
    assert load_checkpoint(last)["env"]["params"]["mass_kg"] == 1.25
    rig.unlink()  # the run keeps its own copy
    assert main(["train", "--resume", "runs/rig", "--total-steps", "400", "--quiet"]) == 0
    payload = load_checkpoint(last)
    assert payload["progress"]["env_steps"] == 400
    assert payload["env"]["params"]["mass_kg"] == 1.25  # not the preset's 1.0
    other = Path("other.toml")
    other.write_text("[pendulum]\nmass_kg = 0.8\n")
    message = cli_error(["train", "--resume", "runs/rig", "--total-steps", "600",
                         "--params", str(other), "--quiet"])  # fmt: skip
    assert "was trained with runs/rig/params.toml" in message
    assert "resume it without --params" in message
    assert main(["train", "--name", "plain", *TINY, "--total-steps", "200"]) == 0
    message = cli_error(["train", "--resume", "runs/plain", "--total-steps", "400",
                         "--params", str(other), "--quiet"])  # fmt: skip
    assert "was trained without --params" in message


def test_a_faster_rig_is_told_how_many_steps_give_the_same_seconds() -> None:
    from ddpg_control.cli.train import experience_note
    from ddpg_control.learning.config import TrainConfig, with_overrides

    assert experience_note(TrainConfig(), 0.05) == ""
    short = with_overrides(TrainConfig(), [("total_steps", 200)])
    assert experience_note(short, 0.05) == ""  # 20 Hz: the step counts are the user's choice
    note = experience_note(TrainConfig(), 0.01)
    assert "at 100 Hz, 10000 steps are 100 s of experience per learner" in note
    assert "--total-steps 50000 --set learning_starts=5000 --set eval_every_steps=5000" in note
    assert "--total-steps 100000" in experience_note(TrainConfig(), 0.005)
    assert experience_note(with_overrides(TrainConfig(), [("total_steps", 50_000)]), 0.01) == ""


def test_a_run_without_a_budget_gets_the_default_seconds_at_its_rate(tmp_path: Path) -> None:
    import argparse

    from ddpg_control.cli.train import budget_given, default_budget
    from ddpg_control.learning.config import TrainConfig

    at_100hz = default_budget(TrainConfig(), 0.01)
    assert (at_100hz.total_steps, at_100hz.learning_starts, at_100hz.eval_every_steps) == (
        50_000,
        5_000,
        5_000,
    )
    assert at_100hz.balance_steps == 50_000  # up to 500 s more until a policy balances
    at_20hz = default_budget(TrainConfig(), 0.05)
    assert (at_20hz.total_steps, at_20hz.balance_steps, at_20hz.learning_starts) == (
        10_000,
        10_000,
        1_000,
    )

    def given(**kw: object) -> bool:
        args = {"overrides": [], "config": None, "total_steps": None, **kw}
        return budget_given(argparse.Namespace(**args))

    config = tmp_path / "c.toml"
    config.write_text("seed = 1\n[agent]\ntau = 0.02\n")
    assert not given() and not given(config=config)
    assert not given(overrides=["agent.tau=0.02"])
    assert given(total_steps=400)
    assert given(overrides=["eval_every_steps=500"])
    config.write_text("total_steps = 400\n")
    assert given(config=config)
