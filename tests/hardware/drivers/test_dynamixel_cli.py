"""End to end through real pseudo-terminals: ``emulate --driver dynamixel`` + ``run --device PTY
--driver dynamixel``, both subprocesses as a user runs them. The emulator's exit summary says
what the servo was left doing, so each test checks zero current as well as the exit and message.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.hardware.cli_runs import (
    CLI,
    EmulatorProcess,
    assert_clean_failure,
    emulate,
    run_and_hold,
    run_device,
)


def _left_at_zero(summary: dict[str, str]) -> None:
    assert summary["applied_current"] == "0" and summary["applied_torque_nm"] == "0.0000"


@pytest.mark.slow
def test_swings_up_and_holds_through_the_dynamixel_emulator(
    exported_policy: Path, emulator_processes: list[EmulatorProcess], tmp_path: Path
) -> None:
    emu = emulate(emulator_processes, "dynamixel")
    run_and_hold(emu.port, exported_policy, tmp_path / "dynamixel.csv", "--driver", "dynamixel")
    summary = emu.finish()
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
    emu = emulate(emulator_processes, "dynamixel", "--fault", f"{fault}@0.7")
    result = run_device(emu.port, exported_policy, "--driver", "dynamixel", "--duration-s", "10")
    assert_clean_failure(result, 3, r"(?m)^exit: plant fault \(3\): Dynamixel ID 1 .*" + message)
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
    emu = emulate(emulator_processes, "dynamixel")
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
    tripped = run_device(emu.port, exported_policy, "--driver", "dynamixel", "--duration-s", "0.5")
    assert_clean_failure(tripped, 3, r"(?m)^error: .*tripped Bus Watchdog.*--clear-faults")
    summary = emu.finish()
    assert summary["last_goal_current"] != "0"  # the killed host never said goodbye
    assert summary["watchdog_trips"] == "1" and summary["bus_watchdog"] == "255"
    _left_at_zero(summary)
