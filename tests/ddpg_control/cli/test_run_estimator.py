"""A policy trained on quantised angles with no velocity reported, deployed: ``run`` rebuilds
the training env's observations exactly (the velocity estimator from the policy's metadata),
and swings up on the simulator and through the device emulator at the same encoder resolution.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ddpg_control.cli.main import main
from ddpg_control.runtime.contracts import make_observation
from ddpg_control.runtime.telemetry import Telemetry
from export.runtime import OnnxPolicy
from sim.params import PRESETS, preset
from sim.pendulum_env import PyBulletPendulumEnv

CLI = [sys.executable, "-m", "ddpg_control.cli.main"]


def test_the_policy_records_the_estimator_it_was_trained_with(
    randomized_realistic_policy: Path,
) -> None:
    spec = OnnxPolicy.load(randomized_realistic_policy).metadata.estimator_spec
    env = PyBulletPendulumEnv(preset="realistic")
    try:
        assert spec is not None and spec == env.velocity_estimator
    finally:
        env.close()


def test_run_sim_builds_the_same_observations_as_the_training_env(
    randomized_realistic_policy: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The realistic preset without its random parts (noise), so both sides see one trajectory.
    params = preset("realistic").with_changes(
        angle_noise_std_rad=0.0, velocity_noise_std_rad_s=0.0, torque_noise_std_nm=0.0
    )
    monkeypatch.setitem(PRESETS, "quiet-realistic", params)
    telemetry = tmp_path / "run.csv"
    code = main(
        [
            "run",
            "--sim",
            "--virtual-time",
            "--quiet",
            "--duration-s",
            "5",
            "--policy",
            str(randomized_realistic_policy),
            "--preset",
            "quiet-realistic",
            "--output",
            str(telemetry),
        ]  # fmt: skip
    )
    assert code == 0
    assert "velocity from angles" in capsys.readouterr().err
    rows = Telemetry.read_csv(telemetry)
    env = PyBulletPendulumEnv(params=params)
    try:
        obs, _ = env.reset(options={"state": (math.pi, 0.0)})
        for k in range(len(rows["time_s"])):
            deployed = make_observation(rows["angle_rad"][k], rows["velocity_rad_s"][k])
            np.testing.assert_allclose(deployed, obs, atol=2e-6, err_msg=f"tick {k}")
            obs, *_ = env.step(np.array([rows["torque_sent_nm"][k]], dtype=np.float32))
    finally:
        env.close()
    assert np.abs(rows["velocity_rad_s"]).max() > 1.0  # it swung: the estimate was exercised


def test_run_sim_swings_up_through_the_estimator(
    randomized_realistic_policy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    telemetry = tmp_path / "sim.csv"
    code = main(
        [
            "run",
            "--sim",
            "--virtual-time",
            "--quiet",
            "--seed",
            "3",
            "--policy",
            str(randomized_realistic_policy),
            "--output",
            str(telemetry),
        ]  # fmt: skip
    )
    assert code == 0
    assert "holding upright" in capsys.readouterr().out
    rows = Telemetry.read_csv(telemetry)
    assert np.isfinite(rows["velocity_rad_s"]).all()


@pytest.mark.slow
def test_run_device_swings_up_through_the_estimator_on_a_12_bit_emulator(
    randomized_realistic_policy: Path, tmp_path: Path
) -> None:
    counts = preset("realistic").encoder_counts_per_rev
    emulator = subprocess.Popen(
        [*CLI, "emulate", "--counts-per-rev", str(counts)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert emulator.stdout is not None
        port = emulator.stdout.readline().strip()
        telemetry = tmp_path / "device.csv"
        result = subprocess.run(
            [
                *CLI,
                "run",
                "--device",
                port,
                "--policy",
                str(randomized_realistic_policy),
                "--quiet",
                "--duration-s",
                "15",
                "--output",
                str(telemetry),
            ],  # fmt: skip
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "velocity from angles" in result.stderr
        rows = np.genfromtxt(telemetry, delimiter=",", names=True)
        count_rad = 2 * math.pi / counts
        angles = rows["angle_rad"]
        assert np.allclose(angles / count_rad, np.round(angles / count_rad), atol=1e-4)
        last = rows[rows["time_s"] >= rows["time_s"][-1] - 5.0]
        assert np.all(np.abs(last["angle_rad"]) < 0.1), np.abs(last["angle_rad"]).max()
    finally:
        emulator.terminate()
        emulator.communicate(timeout=10)
