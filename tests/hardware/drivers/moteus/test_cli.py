"""End to end through a real pseudo-terminal: ``emulate --driver moteus`` and
``run --device PTY --driver moteus`` as subprocesses, as a user runs them. The emulator's exit
summary says what the moteus was left doing, so each test checks zero torque as well as the
exit code and the message."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ddpg_control.cli.main import main
from ddpg_control.runtime.errors import ConfigError
from hardware.drivers import get_driver
from hardware.profile import DeviceProfile
from tests.hardware.cli_runs import (
    CLI,
    EmulatorProcess,
    emulate,
    run_and_hold,
    run_device,
)

pytest.importorskip("moteus")


def _left_stopped(summary: dict[str, str]) -> bool:
    return (
        summary["last_command"] == "stop"
        and summary["mode"] == "0"
        and summary["applied_torque_nm"] == "0.0000"
    )


@pytest.mark.slow
def test_run_swings_up_and_holds_through_the_moteus_emulator(
    exported_policy: Path, emulator_processes: list[EmulatorProcess], tmp_path: Path
) -> None:
    emu = emulate(emulator_processes, "moteus")
    run_and_hold(emu.port, exported_policy, tmp_path / "moteus.csv", "--driver", "moteus")
    summary = emu.finish()
    assert _left_stopped(summary) and summary["watchdog_trips"] == "0", summary


def test_a_moteus_fault_mid_run_ends_with_one_line_and_zero_torque_and_no_torch_loaded(
    exported_policy: Path, emulator_processes: list[EmulatorProcess]
) -> None:
    emu = emulate(emulator_processes, "moteus", "--fault", "motor-driver@0.3")
    # `run` in a fresh interpreter that then lists what it loaded: the vendor's package and its
    # dependencies included, which the import contracts cannot see.
    argv = ["run", "--device", emu.port, "--driver", "moteus", "--policy", str(exported_policy)]
    code = (
        "import sys\n"
        "from ddpg_control.cli.main import main\n"
        f"rc = main({argv + ['--quiet', '--duration-s', '10']!r})\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'onnx'})\n"
        "learning = sorted(m for m in sys.modules if m.startswith('ddpg_control.learning'))\n"
        "print('HEAVY', heavy + learning, 'MOTEUS', 'moteus' in sys.modules)\n"
        "sys.exit(rc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert "HEAVY [] MOTEUS True" in result.stdout, result.stdout + result.stderr
    assert result.returncode == 3, result.stdout + result.stderr
    errors = [line for line in (result.stdout + result.stderr).splitlines() if "fault code" in line]
    assert errors and all(
        "moteus id 1 faulted: mode 1 (fault), fault code 33 (motor driver fault)" in line
        for line in errors
    ), result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert _left_stopped(emu.finish())


def test_a_stuck_encoder_mid_swing_up_is_caught_by_the_host_and_leaves_zero_torque(
    exported_policy: Path, emulator_processes: list[EmulatorProcess]
) -> None:
    # moteus raises no fault for an encoder that stops counting: only the host's check sees it
    emu = emulate(emulator_processes, "moteus", "--fault", "stuck-encoder@0.2")
    result = run_device(emu.port, exported_policy, "--driver", "moteus", "--duration-s", "10")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "the encoder is stuck or the joint is blocked" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert _left_stopped(emu.finish())


def test_sigkill_of_the_host_lets_the_moteus_watchdog_stop_the_motor(
    exported_policy: Path, emulator_processes: list[EmulatorProcess]
) -> None:
    emu = emulate(emulator_processes, "moteus")
    host = subprocess.Popen(
        [*CLI, "run", "--device", emu.port, "--driver", "moteus"]
        + ["--policy", str(exported_policy), "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert host.stderr is not None
    host.stderr.readline()  # "running ..." once the policy is loaded
    time.sleep(1.0)  # swinging, with torque on
    os.kill(host.pid, signal.SIGKILL)
    host.wait()
    time.sleep(0.1 + 0.1)  # the 100 ms watchdog plus a margin
    summary = emu.finish()
    assert summary["last_command"] == "position"  # the host never said goodbye
    assert summary["watchdog_trips"] == "1" and summary["mode"] == "11"
    assert summary["applied_torque_nm"] == "0.0000"


def test_without_the_moteus_package_the_driver_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "moteus" else real(name, *a)
    )
    with pytest.raises(ConfigError, match=r"--driver moteus needs .*ddpg-control\[moteus\]"):
        get_driver("moteus").check_installed()


def test_calibrate_through_the_moteus_plant_writes_a_profile_run_can_use(
    start_driver_emulator: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emu = start_driver_emulator("moteus", start_angle_rad=math.pi)
    profile = tmp_path / "moteus.toml"
    argv = ["calibrate", "--device", emu.port, "--driver", "moteus", "--profile", str(profile)]
    extra = ["--duration-s", "0.3", "--step-duration-s", "1.2", "--gravity-torque-nm", "5"]
    assert main([*argv, *extra]) == 0, capsys.readouterr().err
    saved = DeviceProfile.load(profile)
    assert (saved.driver, saved.device_id, saved.baud) == ("moteus", 1, 921_600)
    assert abs(math.remainder(saved.upright_offset_rad, 2 * math.pi)) < 0.01  # revolutions -> rad
    assert saved.direction == 1
    assert saved.torque_scale == pytest.approx(1.0, rel=0.05)  # the emulator takes N*m as is
    assert saved.options["max_torque_nm"] == 2.0
    summary = dict(item.split("=", 1) for item in emu.finish().split())
    assert summary["last_command"] == "stop" and summary["applied_torque_nm"] == "0.0000"
