"""ddpg-fw-host itself: its command line, and the physics behind its HAL (Pendulum-v1)."""

from __future__ import annotations

import math
import re
import subprocess
import time

import pytest

from hardware.drivers.ddpg.plant import DdpgPlant
from hardware.link import LinkConfig
from tests.hardware.c_device import CDevice, host_device_binary


def _run(*options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(host_device_binary()), *options], capture_output=True, text=True, timeout=10
    )


def test_help_lists_every_option() -> None:
    result = _run("--help")
    assert result.returncode == 0
    for option in ("--duration-s", "--start-angle-rad", "--device-torque-limit-nm",
                   "--counts-per-rev", "--protocol-version", "--seed", "--latency-ms",
                   "--drop-rate", "--corrupt-rate", "--fault"):  # fmt: skip
        assert option in result.stdout


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--drop-rate", "1.5"], r"--drop-rate 1.5: must lie in \[0, 1\]"),
        (["--device-torque-limit-nm", "0"], "--device-torque-limit-nm 0: must be > 0"),
        (["--device-torque-limit-nm", "nan"], "not a finite number"),
        (["--fault", "silence"], "--fault silence: this device injects disconnect, stuck-sensor"),
        (["--fault", "disconnect@-1"], r"--fault -1: must lie in"),
        (["--fault", "stuck-sensor@soon"], "not a finite number"),
        (["--counts-per-rev", "2.5"], "not a whole number"),
        (["--protocol-version", "256"], "must lie in"),
        (["--latency-ms", "-1"], "must lie in"),
        (["--seed"], "--seed : needs a value"),
        (["--colour", "red"], "option --colour: unknown"),
    ],
)
def test_bad_options_give_one_clear_line_and_exit_2(options: list[str], message: str) -> None:
    result = _run(*options)
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ddpg-fw-host: error:")
    assert re.search(message, lines[0]), lines[0]


def _pendulum_v1(angle: float, velocity: float, seconds: float) -> float:
    """Gymnasium Pendulum-v1 with zero torque (theta = 0 upright), integrated finely."""
    steps = 2000
    dt = seconds / steps
    for _ in range(steps):
        velocity = max(-8.0, min(8.0, velocity + 15.0 * math.sin(angle) * dt))
        angle += velocity * dt
    return angle


def test_the_physics_is_pendulum_v1() -> None:
    device = CDevice("--start-angle-rad", "0.3")
    try:
        config = LinkConfig(watchdog_timeout_s=1.0)
        with DdpgPlant(device.port, config) as plant:  # armed at zero torque
            first = plant.read()
            time.sleep(0.3)
            plant.apply(0.0)
            second = plant.read()
    finally:
        device.kill()
    elapsed = second.timestamp_s - first.timestamp_s
    assert 0.25 < elapsed < 1.0
    predicted = _pendulum_v1(first.angle_rad, first.velocity_rad_s, elapsed)
    # it falls from 0.3 rad towards the bottom. The encoder (0.4 mrad) and the device's 1 ms
    # steps allow ~2 mrad; g = 9.81 instead of 10 would miss by ~4 mrad, l = 0.5 by ~0.2 rad
    assert abs(second.angle_rad - first.angle_rad) > 0.15
    assert second.angle_rad == pytest.approx(predicted, abs=0.004), second.angle_rad - predicted
