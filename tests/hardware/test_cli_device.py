"""End to end through real pseudo-terminals: `ddpg-control emulate` + `run --device`.

Both run as subprocesses, as a user runs them. Every test runs twice: against `emulate` (the
Python device) and against `ddpg-fw-host` (the C firmware core's host build, same options, same
summary). The emulator's exit summary says what the device
last received, so each test checks that the motor was left at zero torque (or that the device's
watchdog tripped) as well as the exit code and the message.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import serial

from tests.hardware.c_device import host_device_binary
from tests.hardware.cli_runs import (
    CLI,
    EmulatorProcess,
    assert_clean_failure,
    run_and_hold,
    run_device,
)

StartDevice = Callable[..., EmulatorProcess]


def _starter(command: list[str]) -> Iterator[StartDevice]:
    started: list[EmulatorProcess] = []

    def start(*options: str) -> EmulatorProcess:
        emu = EmulatorProcess(command, *options)
        started.append(emu)
        return emu

    yield start
    for emu in started:
        if emu.proc.poll() is None:
            emu.proc.kill()
            emu.proc.wait()


@pytest.fixture(params=["python", "c"])
def emulate(request: pytest.FixtureRequest) -> Iterator[StartDevice]:
    """Start `ddpg-control emulate` (python) or `ddpg-fw-host` (c) with these options."""
    command = [*CLI, "emulate"] if request.param == "python" else [str(host_device_binary())]
    yield from _starter(command)


@pytest.fixture
def emulate_python() -> Iterator[StartDevice]:
    """`ddpg-control emulate` alone, for what does not depend on the device (the port's lock)."""
    yield from _starter([*CLI, "emulate"])


@pytest.mark.slow
def test_swings_up_and_holds_through_the_emulator(
    exported_policy: Path, emulate: StartDevice, tmp_path: Path
) -> None:
    emu = emulate()
    run_and_hold(emu.port, exported_policy, tmp_path / "device.csv")
    summary = emu.finish()
    assert summary["last_torque_command_nm"] == "0.0000" and summary["armed"] == "0"
    assert summary["watchdog_trips"] == "0"


def test_sigkill_of_the_host_leaves_the_device_at_zero_within_the_watchdog(
    exported_policy: Path, emulate: StartDevice
) -> None:
    emu = emulate()
    host = subprocess.Popen(
        [*CLI, "run", "--device", emu.port, "--policy", str(exported_policy), "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert host.stderr is not None
    host.stderr.readline()  # "running ..." is printed once the policy is loaded
    time.sleep(1.5)  # swinging, with torque on
    os.kill(host.pid, signal.SIGKILL)
    host.wait()
    time.sleep(0.1 + 0.05)  # the 100 ms watchdog plus a margin
    summary = emu.finish()
    assert summary["last_torque_command_nm"] != "0.0000"  # the host never said goodbye
    assert summary["watchdog_trips"] == "1" and summary["applied_torque_nm"] == "0.0000"
    assert summary["faults"] == "0x01" and summary["armed"] == "0"


def test_unplugged_mid_run(exported_policy: Path, emulate: StartDevice) -> None:
    emu = emulate("--fault", "disconnect@1.0")
    result = run_device(emu.port, exported_policy, "--duration-s", "10")
    assert_clean_failure(result, 3, r"plant fault.*(lost the connection|stopped answering)")
    emu.proc.wait(timeout=3.0)  # it exits by itself once its watchdog has tripped
    summary = emu.finish()
    assert summary["watchdog_trips"] == "1", (summary, result.stdout, result.stderr)
    assert summary["applied_torque_nm"] == "0.0000"


def test_stuck_sensor_mid_run(exported_policy: Path, emulate: StartDevice) -> None:
    emu = emulate("--fault", "stuck-sensor@0.5")
    result = run_device(emu.port, exported_policy, "--duration-s", "10")
    assert_clean_failure(result, 3, r"plant fault.*sensor is stuck")
    summary = emu.finish()
    assert summary["last_torque_command_nm"] == "0.0000" and summary["armed"] == "0"


def test_slow_device_stops_the_run(exported_policy: Path, emulate: StartDevice) -> None:
    emu = emulate("--latency-ms", "40")  # replies later than half a 50 ms period
    result = run_device(emu.port, exported_policy, "--duration-s", "10")
    assert_clean_failure(result, 3, r"plant fault.*stopped answering")
    ticks = re.search(r"ticks\s+(\d+)", result.stdout)
    assert ticks and int(ticks.group(1)) <= 3  # the loop stops within three periods
    summary = emu.finish()
    assert summary["last_torque_command_nm"] == "0.0000" and summary["armed"] == "0"


def test_dropped_and_corrupted_replies_are_survived_and_reported(
    exported_policy: Path, emulate: StartDevice
) -> None:
    emu = emulate("--drop-rate", "0.05", "--corrupt-rate", "0.05", "--seed", "3")
    result = run_device(emu.port, exported_policy, "--duration-s", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"link .*: \d+ requests, [1-9]\d* missing", result.stderr), result.stderr
    summary = emu.finish()
    assert int(summary["replies_dropped"]) > 0 and int(summary["replies_corrupted"]) > 0
    assert summary["last_torque_command_nm"] == "0.0000" and summary["armed"] == "0"


def test_device_fault_before_the_run_is_refused(
    exported_policy: Path, emulate: StartDevice
) -> None:
    emu = emulate()
    with serial.serial_for_url(emu.port, timeout=0.2) as port:  # arm, then go quiet
        from hardware.drivers.ddpg.protocol import Arm, encode

        port.write(encode(Arm(20, 1.0), 1))
        port.read(27)
        time.sleep(0.1)
    result = run_device(emu.port, exported_policy, "--duration-s", "1")
    assert_clean_failure(result, 3, r"error: .*latched fault \(WATCHDOG\).*--clear-faults")
    result = run_device(emu.port, exported_policy, "--duration-s", "0.5", "--clear-faults")
    assert result.returncode == 0, result.stderr
    summary = emu.finish()
    assert summary["last_torque_command_nm"] == "0.0000" and summary["faults"] == "0x00"


def test_version_mismatch(exported_policy: Path, emulate: StartDevice) -> None:
    emu = emulate("--protocol-version", "2")
    result = run_device(emu.port, exported_policy)
    assert_clean_failure(result, 3, r"error: protocol version mismatch.*version 2")
    assert emu.finish()["armed"] == "0"


def test_missing_and_busy_ports(exported_policy: Path, emulate_python: StartDevice) -> None:
    result = run_device("/dev/ttyUSB-does-not-exist", exported_policy)
    assert_clean_failure(result, 3, r"error: serial port .* does not exist")
    emu = emulate_python()
    with serial.serial_for_url(emu.port, exclusive=True):
        result = run_device(emu.port, exported_policy)
    assert_clean_failure(result, 3, r"error: serial port .* is busy")
