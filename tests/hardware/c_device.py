"""The C firmware core's host build (hardware/firmware, ``ddpg-fw-host``) as a test device.

It takes the options of ``ddpg-control emulate`` and prints the same port line and exit summary,
so the serial end-to-end tests run against it and the Python emulator alike. :class:`CDevice`
looks inside it while it runs (a ``status`` line on its stdin) through the attribute names the
tests use on the in-process Python emulator (``device.armed``, ``physics.torque_nm``, ...).
"""

from __future__ import annotations

import contextlib
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from hardware.drivers.ddpg.device import DdpgDeviceConfig
from hardware.emulator import LinkImpairments, ScheduledFault

FIRMWARE = Path(__file__).resolve().parents[2] / "hardware" / "firmware"
BINARY = FIRMWARE / "build" / "ddpg-fw-host"


@cache
def host_device_binary() -> Path:
    """Build the host device (make is a no-op when it is up to date) and return its path."""
    try:
        result = subprocess.run(
            ["make", "-C", str(FIRMWARE), "host"], capture_output=True, text=True, timeout=120
        )
    except FileNotFoundError:
        pytest.fail("make is not installed: run 'make toolchains' (docs/firmware.md)")
    if result.returncode != 0:
        pytest.fail(f"building the C host device failed:\n{result.stdout}{result.stderr}")
    return BINARY


def parse_summary(line: str) -> dict[str, str]:
    """``prefix: key=value key=value`` -> dict."""
    return dict(item.split("=", 1) for item in line.split(":", 1)[1].split())


def emulate_options(
    link: LinkImpairments | None,
    faults: tuple[ScheduledFault, ...],
    device: DdpgDeviceConfig | None,
    start_angle_rad: float,
) -> list[str]:
    """The command-line options that ask ddpg-fw-host for this device and these faults."""
    options = ["--start-angle-rad", repr(start_angle_rad)]
    if device is not None:
        options += [
            "--device-torque-limit-nm",
            repr(device.max_torque_nm),
            "--counts-per-rev",
            str(device.counts_per_rev),
            "--protocol-version",
            str(device.protocol_version),
        ]
    f = link or LinkImpairments()
    options += ["--latency-ms", repr(f.reply_latency_s * 1000.0)]
    options += ["--drop-rate", repr(f.drop_reply_probability)]
    options += ["--corrupt-rate", repr(f.corrupt_reply_probability)]
    for fault in faults:
        options += ["--fault", f"{fault.kind}@{fault.at_s!r}"]
    return options


class _View:
    def __init__(self, device: CDevice) -> None:
        self._device = device

    def _get(self, key: str) -> str:
        return self._device.status()[key]


class _DeviceView(_View):
    @property
    def armed(self) -> bool:
        return self._get("armed") == "1"

    @property
    def faults(self) -> int:
        return int(self._get("faults"), 16)

    @property
    def watchdog_trips(self) -> int:
        return int(self._get("watchdog_trips"))

    @property
    def last_torque_command_nm(self) -> float | None:
        value = self._get("last_torque_command_nm")
        return None if value == "none" else float(value)


class _PhysicsView(_View):
    @property
    def torque_nm(self) -> float:
        return float(self._get("physics_torque_nm"))


class _LinkView(_View):
    @property
    def replies_dropped(self) -> int:
        return int(self._get("replies_dropped"))

    @property
    def replies_corrupted(self) -> int:
        return int(self._get("replies_corrupted"))


class _ProcessView(_View):
    def join(self, timeout: float | None = None) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._device.proc.wait(timeout=timeout)

    def is_alive(self) -> bool:
        return self._device.proc.poll() is None


class CDevice:
    """A running ddpg-fw-host, shaped like the conftest's ``Running`` for the tests' reads."""

    def __init__(self, *options: str) -> None:
        self.proc = subprocess.Popen(
            [str(host_device_binary()), *options],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.port = self.proc.stdout.readline().strip()
        assert self.port, self.proc.communicate()
        self._final: dict[str, str] | None = None
        self.device: Any = _DeviceView(self)
        self.physics: Any = _PhysicsView(self)
        self.emulator: Any = _LinkView(self)
        self.thread: Any = _ProcessView(self)

    def status(self) -> dict[str, str]:
        """The device's counters now (or its exit summary once it has ended)."""
        if self.proc.poll() is None:
            assert self.proc.stdin is not None and self.proc.stdout is not None
            try:
                self.proc.stdin.write("status\n")
                self.proc.stdin.flush()
                line = self.proc.stdout.readline()
            except BrokenPipeError:
                line = ""
            if line.startswith("status:"):
                return parse_summary(line)
        return self.finish()

    def finish(self, timeout_s: float = 5.0) -> dict[str, str]:
        """Stop it (SIGTERM, if it still runs) and return its exit summary."""
        if self._final is None:
            if self.proc.poll() is None:
                self.proc.terminate()
            _, err = self.proc.communicate(timeout=timeout_s)
            lines = [line for line in err.splitlines() if line.startswith("emulator:")]
            assert lines, f"no summary from ddpg-fw-host:\n{err}"
            self._final = parse_summary(lines[-1])
        return self._final

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate()
