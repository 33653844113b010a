"""``ddpg-control emulate --driver dynamixel``: a virtual X series servo on a pseudo-terminal.

One thread waits on the pty with ``select`` (1 ms at most), feeds the bytes to the Protocol 2.0
decoder, lets the :class:`~.servo.VirtualServo` answer, and sends its status packets after the
servo's Return Delay Time (plus any injected latency). Between packets it advances the PyBullet
pendulum and runs the servo's Bus Watchdog. Injected faults count from the first Torque Enable:
``silence_after_s`` stops the servo hearing the bus (a cut cable: its Bus Watchdog then trips),
``fault``/``fault_after_s`` latches a Hardware Error Status bit (or, for ``watchdog``, trips
the Bus Watchdog as a late instruction would).
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

from hardware.drivers import EmulatorOptions
from hardware.drivers.dynamixel.protocol import FAULTS, PacketDecoder
from hardware.drivers.dynamixel.servo import ServoConfig, VirtualServo
from hardware.pseudo_terminal import close_fds, open_raw_pty

log = logging.getLogger(__name__)

POLL_S = 0.001


class DynamixelEmulator:
    def __init__(self, servo: VirtualServo, options: EmulatorOptions) -> None:
        self.servo = servo
        self.options = options
        self.decoder = PacketDecoder()
        self._pending: list[tuple[float, int, bytes]] = []
        self._order = 0
        self._master: int | None = None
        self._slave: int | None = None
        self.silent = False
        self.fault_raised = False

    def open(self) -> str:
        self._master, self._slave, path = open_raw_pty()
        return path

    def close(self) -> None:
        close_fds(self._master, self._slave)
        self._master = self._slave = None

    def serve(self, stop: threading.Event) -> None:
        servo = self.servo
        while not stop.is_set():
            now = time.monotonic()
            timeout = POLL_S
            if self._pending:
                timeout = max(0.0, min(timeout, self._pending[0][0] - now))
            assert self._master is not None
            ready, _, _ = select.select([self._master], [], [], timeout)
            if ready:
                self._receive()
            now = time.monotonic()
            servo.tick(now)
            self._inject(now)
            while self._pending and self._pending[0][0] <= now:
                self._write(heapq.heappop(self._pending)[2])

    def _receive(self) -> None:
        assert self._master is not None
        try:
            data = os.read(self._master, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # no host has the pty open (EIO): wait for one
            time.sleep(POLL_S)
            return
        if self.silent:
            return
        now = time.monotonic()
        due = now + self.servo.reply_delay_s + self.options.reply_latency_s
        for packet in self.decoder.feed(data):
            for reply in self.servo.handle(packet, now):
                self._order += 1
                heapq.heappush(self._pending, (due, self._order, reply))

    def _write(self, frame: bytes) -> None:
        try:
            if self._master is not None:
                os.write(self._master, frame)
        except (BlockingIOError, InterruptedError):
            log.debug("host is not reading; status packet dropped")
        except OSError as exc:
            log.info("write: %s", exc)

    def _inject(self, now: float) -> None:
        opts, servo = self.options, self.servo
        if servo.enabled_at_s is None:
            return
        since = now - servo.enabled_at_s
        if opts.silence_after_s is not None and since >= opts.silence_after_s and not self.silent:
            log.warning("fault injection: the servo no longer hears the bus")
            self.silent = True
            self._pending.clear()
        if (
            opts.fault is not None
            and opts.fault_after_s is not None
            and since >= opts.fault_after_s
            and not self.fault_raised
        ):
            self.fault_raised = True
            if opts.fault == "watchdog":
                log.warning("fault injection: the Bus Watchdog trips")
                servo.trip_watchdog()
            else:
                servo.raise_hardware_error(FAULTS[opts.fault])

    def summary(self) -> str:
        s = self.servo
        last = "none" if s.last_goal_current is None else str(s.last_goal_current)
        return (
            f"instructions={s.instructions} last_goal_current={last} "
            f"applied_current={s.applied_current} applied_torque_nm={s.applied_torque_nm:.4f} "
            f"torque_enable={int(s.torque_enabled)} watchdog_trips={s.watchdog_trips} "
            f"bus_watchdog={s.get(98)} hardware_error={s.hardware_error:#04x} "
            f"bad_crc={self.decoder.bad_crc} silent={int(self.silent)}"
        )


class _WallClock:
    def now(self) -> float:
        return time.monotonic()

    def sleep_until(self, deadline_s: float) -> None:
        time.sleep(max(0.0, deadline_s - time.monotonic()))


def servo_config(options: EmulatorOptions) -> ServoConfig:
    """An XM430-W350-like servo whose Current Limit is the emulator's torque limit."""
    base = ServoConfig(servo_id=options.device_id)
    amps_per_unit = base.current_unit_ma / 1000.0
    limit = math.ceil(options.max_torque_nm / base.torque_constant_nm_per_a / amps_per_unit)
    return ServoConfig(servo_id=options.device_id, current_limit=min(1193, limit))


def serve_emulator(
    options: EmulatorOptions, stop: threading.Event, announce: Callable[[str], None]
) -> str:
    from sim.params import PendulumParams
    from sim.plant import SimPlant

    params = PendulumParams(max_torque_nm=options.max_torque_nm, physics_substeps=50)
    clock = _WallClock()
    with SimPlant(params, clock=clock, start_angle_rad=options.start_angle_rad) as physics:
        servo = VirtualServo(physics, servo_config(options), clock.now())
        emulator = DynamixelEmulator(servo, options)
        announce(emulator.open())
        try:
            emulator.serve(stop)
        finally:
            emulator.close()
        return emulator.summary()
