"""End to end through real pseudo-terminals: ``emulate --driver dynamixel`` + ``run --device PTY
--driver dynamixel``, both subprocesses as a user runs them. The emulator's exit summary says
what the servo was left doing, so each test checks zero current as well as the exit and message.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from ..test_cli_device import CLI, EmulatorProcess


def _start(emulator_processes: list[EmulatorProcess], *options: str) -> EmulatorProcess:
    emu = EmulatorProcess([*CLI, "emulate", "--driver", "dynamixel"], *options)
    emulator_processes.append(emu)
    return emu


def _run(port: str, policy: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *CLI,
            "run",
            "--device",
            port,
            "--driver",
            "dynamixel",
            "--policy",
            str(policy),
            "--quiet",
            *options,
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=60,
    )


def _one_line_failure(result: subprocess.CompletedProcess[str], pattern: str) -> None:
    out = result.stdout + result.stderr
    assert result.returncode == 3, out
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) <= 1 and "Traceback" not in result.stderr, out
    assert re.search(pattern, out), out


def _left_at_zero(summary: dict[str, str]) -> None:
    assert summary["applied_current"] == "0" and summary["applied_torque_nm"] == "0.0000"


@pytest.mark.slow
def test_swings_up_and_holds_through_the_dynamixel_emulator(
    exported_policy: Path, emulator_processes: list[EmulatorProcess], tmp_path: Path
) -> None:
    emu = _start(emulator_processes)
    telemetry = tmp_path / "dynamixel.csv"
    result = _run(emu.port, exported_policy, "--duration-s", "15", "--output", str(telemetry))
    assert result.returncode == 0, result.stdout + result.stderr
    summary = emu.finish()
    data = np.genfromtxt(telemetry, delimiter=",", names=True)
    last = data[data["time_s"] >= data["time_s"][-1] - 5.0]
    assert len(last) >= 95  # 20 Hz for 5 s, give or take a tick
    assert np.all(np.abs(last["angle_rad"]) < 0.1), np.abs(last["angle_rad"]).max()
    assert summary["last_goal_current"] == "0" and summary["torque_enable"] == "0"
    assert summary["bus_watchdog"] == "0" and summary["watchdog_trips"] == "0"
    _left_at_zero(summary)


#: fault kind -> what the one-line exit names.
FAULTS = {
    "overload": r"Overload Error \(Hardware Error Status 0x20\)",
    # Input Voltage is not in Shutdown (63): the servo keeps its torque, the host must stop it.
    "input-voltage": r"Input Voltage Error",
    "watchdog": r"its Bus Watchdog tripped",
    "silence": r"stopped answering",
}


@pytest.mark.parametrize("fault", FAULTS)
def test_every_servo_fault_ends_the_run_with_its_name_and_zero_current(
    exported_policy: Path, emulator_processes: list[EmulatorProcess], fault: str
) -> None:
    message = FAULTS[fault]
    emu = _start(emulator_processes, "--fault", f"{fault}@0.7")
    result = _run(emu.port, exported_policy, "--duration-s", "10")
    _one_line_failure(result, r"(?m)^exit: plant fault \(3\): Dynamixel ID 1 .*" + message)
    if fault == "silence":
        time.sleep(0.2)  # its 100 ms Bus Watchdog plus a margin
    summary = emu.finish()
    _left_at_zero(summary)
    if fault == "silence":  # the host could not reach it: its own watchdog stopped it
        assert summary["watchdog_trips"] == "1" and summary["bus_watchdog"] == "255"
    else:
        assert summary["torque_enable"] == "0", summary


def test_sigkill_of_the_host_lets_the_bus_watchdog_stop_the_servo(
    exported_policy: Path, emulator_processes: list[EmulatorProcess]
) -> None:
    emu = _start(emulator_processes)
    host = subprocess.Popen(
        [
            *CLI,
            "run",
            "--device",
            emu.port,
            "--driver",
            "dynamixel",
            "--policy",
            str(exported_policy),
            "--quiet",
        ],  # fmt: skip
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert host.stderr is not None
    host.stderr.readline()  # "running ..." once the policy is loaded
    time.sleep(1.5)  # swinging, with current on
    os.kill(host.pid, signal.SIGKILL)
    host.wait()
    time.sleep(0.2)  # the 100 ms Bus Watchdog plus a margin
    # The next host is told why, and leaves the tripped watchdog for --clear-faults to clear.
    tripped = _run(emu.port, exported_policy, "--duration-s", "0.5")
    _one_line_failure(tripped, r"(?m)^error: .*tripped Bus Watchdog.*--clear-faults")
    summary = emu.finish()
    assert summary["last_goal_current"] != "0"  # the killed host never said goodbye
    assert summary["watchdog_trips"] == "1" and summary["bus_watchdog"] == "255"
    _left_at_zero(summary)
