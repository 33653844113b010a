"""A virtual ODrive on a pseudo-terminal: :class:`VirtualOdrive` behind the ASCII protocol.

One thread waits on the pty with ``select``, cuts the bytes into request lines, lets the virtual
ODrive answer them (the physics advances to the current time at each request) and runs its
watchdog every millisecond. Fault injection schedules count from the first entry into
CLOSED_LOOP_CONTROL, so a test does not depend on how long the host took to start:

- ``silence_after_s``: the device stops answering (a broken TX line) but still obeys commands;
- ``fault`` at ``fault_after_s``: an error latches and the axis falls to IDLE, as the
  firmware's checks do: ``drv_fault`` (MOTOR_FAILED + motor DRV_FAULT),
  ``encoder_no_response`` (ENCODER_FAILED + encoder NO_RESPONSE), ``overspeed``
  (CONTROLLER_FAILED + controller OVERSPEED), or ``watchdog``: the watchdog feeds (``c``,
  ``u``) are lost from then on, so the axis watchdog trips (WATCHDOG_TIMER_EXPIRED) while
  feedback is still answered;
- ``reply_latency_s``: every reply leaves that much later.

:func:`serve_emulator` is the driver seam's entry point (``emulate --driver odrive``).
"""

from __future__ import annotations

import heapq
import logging
import math
import os
import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ddpg_control.runtime.errors import ConfigError
from ddpg_control.runtime.timing import MonotonicClock
from hardware.drivers import EmulatorOptions
from hardware.drivers.odrive.ascii import (
    REQUEST_TERMINATORS,
    LineSplitter,
    decode_request,
    encode_reply,
)
from hardware.drivers.odrive.device import FAULTS, OdriveDeviceConfig, VirtualOdrive
from hardware.drivers.odrive.errors import AxisError, AxisState, flag_names
from hardware.pseudo_terminal import close_fds, open_raw_pty

log = logging.getLogger(__name__)

WATCHDOG_POLL_S = 0.001
#: The fault that makes the device lose its watchdog feeds, beside the error flags of FAULTS.
WATCHDOG_FAULT = "watchdog"
FAULT_KINDS = (*FAULTS, WATCHDOG_FAULT)


@dataclass(frozen=True, slots=True)
class OdriveFaults:
    """Faults the emulator injects; times in seconds after the first closed-loop entry."""

    silence_after_s: float | None = None
    fault: str | None = None
    fault_after_s: float | None = None
    reply_latency_s: float = 0.0

    def __post_init__(self) -> None:
        for name in ("silence_after_s", "fault_after_s", "reply_latency_s"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"{name} must be >= 0 s, got {value!r}")
        if self.fault is not None and self.fault not in FAULT_KINDS:
            raise ConfigError(
                f"unknown ODrive fault {self.fault!r}; choose from {', '.join(FAULT_KINDS)}"
            )
        if (self.fault is None) != (self.fault_after_s is None):
            raise ConfigError("an injected ODrive fault needs both its kind and its time")


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
        self._fault_injected = False
        self._pending: list[tuple[float, int, bytes]] = []  # (due time, order, reply)
        self._order = 0

    def open(self) -> str:
        self._master, self._slave, path = open_raw_pty()
        return path

    def close(self) -> None:
        close_fds(self._master, self._slave)
        self._master = self._slave = None

    def serve(self, stop: threading.Event) -> None:
        """Run until ``stop`` is set."""
        assert self._master is not None, "open() first"
        while not stop.is_set():
            timeout = WATCHDOG_POLL_S
            if self._pending:
                timeout = max(0.0, min(timeout, self._pending[0][0] - time.monotonic()))
            ready, _, _ = select.select([self._master], [], [], timeout)
            if ready:
                self._receive()
            now = time.monotonic()
            self._inject(now)
            self.device.tick(now)
            while self._pending and self._pending[0][0] <= now:
                self._write(heapq.heappop(self._pending)[2])
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
                reply = encode_reply(text, with_checksum=request.with_checksum)
                if self.faults.reply_latency_s:
                    self._order += 1
                    due = now + self.faults.reply_latency_s
                    heapq.heappush(self._pending, (due, self._order, reply))
                else:
                    self._write(reply)

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
        fault_at = faults.fault_after_s
        if fault_at is not None and since_s >= fault_at and not self._fault_injected:
            self._fault_injected = True
            log.warning("fault injection: %s", faults.fault)
            if faults.fault == WATCHDOG_FAULT:
                device.ignore_feeds = True
            elif faults.fault is not None:
                device.raise_error(FAULTS[faults.fault])


#: The emulated motor's torque constant (N*m/A); current_lim follows from the torque limit.
EMULATED_TORQUE_CONSTANT_NM_PER_A = 0.04


def serve_emulator(
    options: EmulatorOptions, stop: threading.Event, announce: Callable[[str], None]
) -> str:
    """``emulate --driver odrive``: a virtual ODrive (axis0) on a pty until ``stop`` is set."""
    from sim.params import PendulumParams
    from sim.plant import SimPlant

    if options.device_id != 0:
        raise ConfigError(
            f"the ODrive emulator models axis0 only, not axis{options.device_id}: "
            "drop --device-id or pass 0"
        )
    device_config = OdriveDeviceConfig(
        torque_constant_nm_per_a=EMULATED_TORQUE_CONSTANT_NM_PER_A,
        current_lim_a=options.max_torque_nm / EMULATED_TORQUE_CONSTANT_NM_PER_A,
    )
    faults = OdriveFaults(
        silence_after_s=options.silence_after_s,
        fault=options.fault,
        fault_after_s=options.fault_after_s,
        reply_latency_s=options.reply_latency_s,
    )
    params = PendulumParams(max_torque_nm=options.max_torque_nm, physics_substeps=50)
    clock = MonotonicClock()
    with SimPlant(params, clock=clock, start_angle_rad=options.start_angle_rad) as physics:
        emulator = OdriveEmulator(VirtualOdrive(physics, device_config, clock.now()), faults)
        announce(emulator.open())
        try:
            emulator.serve(stop)
        finally:
            emulator.close()
        return emulator.summary()
