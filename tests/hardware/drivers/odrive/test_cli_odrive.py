"""End to end through real pseudo-terminals: ``emulate --driver odrive`` + ``run --device PTY
--driver odrive``, both as subprocesses, as a user runs them. The emulator's exit summary says
what the virtual ODrive last received and where its axis was left."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from ...test_cli_device import CLI, EmulatorProcess, _assert_clean_failure


def _run_odrive(port: str, policy: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "run", "--device", port, "--driver", "odrive", "--policy", str(policy)]
        + ["--quiet", *options],
        capture_output=True,
        text=True,
        timeout=60.0,
    )


def _emulate(started: list[EmulatorProcess], *options: str) -> EmulatorProcess:
    emu = EmulatorProcess([*CLI, "emulate"], "--driver", "odrive", *options)
    started.append(emu)
    return emu


@pytest.mark.slow
def test_swings_up_and_holds_through_the_odrive_emulator(
    exported_policy: Path, emulator_processes: list[EmulatorProcess], tmp_path: Path
) -> None:
    emu = _emulate(emulator_processes)
    telemetry = tmp_path / "odrive.csv"
    # a 1 s watchdog: margin for a host process a loaded machine keeps waiting (seen: 335 ms
    # in one read at load 14 on 2 cores); the watchdog itself is what the two tests below check
    result = _run_odrive(
        emu.port,
        exported_policy,
        "--duration-s",
        "15",
        "--output",
        str(telemetry),
        "--watchdog-ms",
        "1000",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = emu.finish()
    data = np.genfromtxt(telemetry, delimiter=",", names=True)
    last = data[data["time_s"] >= data["time_s"][-1] - 5.0]
    assert len(last) >= 95  # 20 Hz for 5 s, give or take a tick
    assert np.all(np.abs(last["angle_rad"]) < 0.1), np.abs(last["angle_rad"]).max()
    assert summary["last_torque_command_nm"] == "0.0000" and summary["state"] == "IDLE"
    assert summary["watchdog_trips"] == "0" and summary["axis_error"] == "NONE"
    assert summary["watchdog_enabled"] == "0"


def test_a_watchdog_fault_ends_the_run_naming_the_odrive_error_at_zero_torque(
    exported_policy: Path, emulator_processes: list[EmulatorProcess]
) -> None:
    emu = _emulate(emulator_processes, "--fault", "watchdog@0.5")
    result = _run_odrive(emu.port, exported_policy, "--duration-s", "10")
    _assert_clean_failure(
        result, 3, r"plant fault.*: ODrive fault: axis0\.error=WATCHDOG_TIMER_EXPIRED "
    )
    summary = emu.finish()
    assert summary["applied_torque_nm"] == "0.0000" and summary["state"] == "IDLE"
    assert summary["watchdog_trips"] == "1"


def test_sigkill_of_the_host_lets_the_odrive_watchdog_stop_the_motor(
    exported_policy: Path, emulator_processes: list[EmulatorProcess]
) -> None:
    emu = _emulate(emulator_processes)
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
    result = _run_odrive(emu.port, exported_policy, "--duration-s", "0.2")
    _assert_clean_failure(result, 3, r"errors from before this run \(axis0\.error=WATCHDOG_TIMER")
    summary = emu.finish()  # (the refused run above sent zero torque and IDLE on its way out)
    assert int(summary["torque_commands"]) >= 5  # about 20 by the host, 1 by the refused run
    assert summary["watchdog_trips"] == "1" and summary["applied_torque_nm"] == "0.0000"
    assert summary["axis_error"] == "WATCHDOG_TIMER_EXPIRED" and summary["state"] == "IDLE"
