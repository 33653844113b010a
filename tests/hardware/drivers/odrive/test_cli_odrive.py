"""End to end through real pseudo-terminals: ``emulate --driver odrive`` + ``run --device PTY
--driver odrive``, both as subprocesses, as a user runs them. The emulator's exit summary says
what the virtual ODrive last received and where its axis was left."""

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


@pytest.mark.slow
def test_swings_up_and_holds_through_the_odrive_emulator(
    exported_policy: Path, emulator_processes: list[EmulatorProcess], tmp_path: Path
) -> None:
    emu = emulate(emulator_processes, "odrive")
    # a 1 s watchdog: margin for a host process a loaded machine keeps waiting (seen: 335 ms
    # in one read at load 14 on 2 cores); the watchdog itself is what the two tests below check
    options = ["--driver", "odrive", "--watchdog-ms", "1000"]
    run_and_hold(emu.port, exported_policy, tmp_path / "odrive.csv", *options)
    summary = emu.finish()
    assert summary["last_torque_command_nm"] == "0.0000" and summary["state"] == "IDLE"
    assert summary["watchdog_trips"] == "0" and summary["axis_error"] == "NONE"
    assert summary["watchdog_enabled"] == "0"


def test_a_watchdog_fault_ends_the_run_naming_the_odrive_error_at_zero_torque(
    exported_policy: Path, emulator_processes: list[EmulatorProcess]
) -> None:
    emu = emulate(emulator_processes, "odrive", "--fault", "watchdog@0.5")
    result = run_device(emu.port, exported_policy, "--driver", "odrive", "--duration-s", "10")
    assert_clean_failure(
        result, 3, r"plant fault.*: ODrive fault: axis0\.error=WATCHDOG_TIMER_EXPIRED "
    )
    summary = emu.finish()
    assert summary["applied_torque_nm"] == "0.0000" and summary["state"] == "IDLE"
    assert summary["watchdog_trips"] == "1"


def test_sigkill_of_the_host_lets_the_odrive_watchdog_stop_the_motor(
    exported_policy: Path, emulator_processes: list[EmulatorProcess]
) -> None:
    emu = emulate(emulator_processes, "odrive")
    host = subprocess.Popen(
        [*CLI, "run", "--device", emu.port, "--driver", "odrive"]
        + ["--policy", str(exported_policy)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert host.stderr is not None
    while not host.stderr.readline().startswith("t "):  # the first live status: the loop runs
        assert host.poll() is None, "the host ended before its loop started"
    time.sleep(1.0)  # swinging, with torque on
    os.kill(host.pid, signal.SIGKILL)
    host.wait()
    time.sleep(0.1 + 0.1)  # the 100 ms watchdog plus a margin
    result = run_device(emu.port, exported_policy, "--driver", "odrive", "--duration-s", "0.2")
    assert_clean_failure(result, 3, r"errors from before this run \(axis0\.error=WATCHDOG_TIMER")
    summary = emu.finish()  # (the refused run above sent zero torque and IDLE on its way out)
    assert int(summary["torque_commands"]) >= 5  # about 20 by the host, 1 by the refused run
    assert summary["watchdog_trips"] == "1" and summary["applied_torque_nm"] == "0.0000"
    assert summary["axis_error"] == "WATCHDOG_TIMER_EXPIRED" and summary["state"] == "IDLE"
