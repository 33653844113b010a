"""A virtual ODrive on a pseudo-terminal: :class:`VirtualOdrive` behind the ASCII protocol.

One thread waits on the pty with ``select``, cuts the bytes into request lines, lets the virtual
ODrive answer them (the physics advances to the current time at each request) and runs its
watchdog every millisecond. Fault injection schedules count from the first entry into
CLOSED_LOOP_CONTROL, so a test does not depend on how long the host took to start:

- ``silence_after_s``: the device stops answering (a broken TX line) but still obeys commands;
- ``error_after_s`` with ``error``: an axis error latches (e.g. MOTOR_FAILED + DRV_FAULT) and
  the axis falls to IDLE, as the firmware's checks do;
- ``watchdog_trip_after_s``: the watchdog feeds (``c``, ``u``) are lost from then on, so the
  axis watchdog trips (WATCHDOG_TIMER_EXPIRED) while feedback is still answered.
"""

from __future__ import annotations

import logging
import math
import os
import select
import threading
import time
import tty
from dataclasses import dataclass

from ddpg_control.runtime.errors import ConfigError
from hardware.drivers.odrive.ascii import (
    REQUEST_TERMINATORS,
    LineSplitter,
    decode_request,
    encode_reply,
)
from hardware.drivers.odrive.device import FAULTS, VirtualOdrive
from hardware.drivers.odrive.errors import AxisError, AxisState, flag_names

log = logging.getLogger(__name__)

WATCHDOG_POLL_S = 0.001


@dataclass(frozen=True, slots=True)
class OdriveFaults:
    """Faults the emulator injects, in seconds after the first closed-loop entry."""

    silence_after_s: float | None = None
    error_after_s: float | None = None
    error: str = "drv_fault"
    watchdog_trip_after_s: float | None = None

    def __post_init__(self) -> None:
        for name in ("silence_after_s", "error_after_s", "watchdog_trip_after_s"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"{name} must be >= 0 s, got {value!r}")
        if self.error not in FAULTS:
            raise ConfigError(f"unknown ODrive fault {self.error!r}; choose from {sorted(FAULTS)}")


class OdriveEmulator:
    """Serves a VirtualOdrive on a pseudo-terminal. ``open()`` returns the path for the host."""

    def __init__(self, device: VirtualOdrive, faults: OdriveFaults | None = None) -> None:
        self.device = device
        self.faults = faults or OdriveFaults()
        self._lines = LineSplitter(REQUEST_TERMINATORS)
        self._master: int | None = None
        self._slave: int | None = None
        self.silent = False
        self.bad_checksums = 0
        self.replies_dropped = 0
        self._error_injected = False

    def open(self) -> str:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no line editing, before any host opens it
        os.set_blocking(self._master, False)
        return os.ttyname(self._slave)

    def close(self) -> None:
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = None

    def serve(self, stop: threading.Event) -> None:
        """Run until ``stop`` is set."""
        assert self._master is not None, "open() first"
        while not stop.is_set():
            ready, _, _ = select.select([self._master], [], [], WATCHDOG_POLL_S)
            if ready:
                self._receive()
            now = time.monotonic()
            self._inject(now)
            self.device.tick(now)
        log.info("emulator summary: %s", self.summary())

    def summary(self) -> str:
        d = self.device
        last = "none" if d.last_torque_command_nm is None else f"{d.last_torque_command_nm:.4f}"
        return (
            f"requests={d.requests} torque_commands={d.torque_commands} "
            f"last_torque_command_nm={last} applied_torque_nm={d.applied_torque_nm:.4f} "
            f"state={AxisState(d.state).name} axis_error={flag_names(d.errors['axis'], AxisError)} "
            f"watchdog_enabled={int(d.enable_watchdog)} watchdog_trips={d.watchdog_trips} "
            f"replies_dropped={self.replies_dropped} bad_checksums={self.bad_checksums} "
            f"overlong_lines={self._lines.dropped_lines}"
        )

    def _receive(self) -> None:
        assert self._master is not None
        try:
            data = os.read(self._master, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:  # EIO: no host has the pty open
            log.debug("read: %s", exc)
            time.sleep(WATCHDOG_POLL_S)
            return
        now = time.monotonic()
        for line in self._lines.feed(data):
            request = decode_request(line)
            if request is None:
                self.bad_checksums += 1
                continue
            replies = self.device.handle(request.command, now)
            for text in replies:
                self._write(encode_reply(text, with_checksum=request.with_checksum))

    def _write(self, reply: bytes) -> None:
        if self.silent:
            self.replies_dropped += 1
            return
        try:
            assert self._master is not None
            os.write(self._master, reply)
        except (BlockingIOError, InterruptedError):
            log.debug("host is not reading; reply dropped")
        except OSError as exc:
            log.info("write: %s", exc)

    def _inject(self, now: float) -> None:
        faults, device = self.faults, self.device
        if device.closed_loop_at_s is None:
            return
        since_s = now - device.closed_loop_at_s
        if faults.silence_after_s is not None and since_s >= faults.silence_after_s:
            if not self.silent:
                log.warning("fault injection: the device stops answering")
            self.silent = True
        error_at = faults.error_after_s
        if error_at is not None and since_s >= error_at and not self._error_injected:
            self._error_injected = True
            log.warning("fault injection: %s", faults.error)
            device.raise_error(FAULTS[faults.error])
        trip_at = faults.watchdog_trip_after_s
        if trip_at is not None and since_s >= trip_at and not device.ignore_feeds:
            log.warning("fault injection: watchdog feeds are lost from now on")
            device.ignore_feeds = True
