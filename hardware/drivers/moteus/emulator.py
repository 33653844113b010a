"""``ddpg-control emulate --driver moteus``: an emulated moteus behind an emulated fdcanusb, on a
pseudo-terminal, with the PyBullet pendulum behind it in real time.

One thread waits on the pty with ``select``, answers each ``can send`` line with ``OK`` and,
when the frame asked for one (bit 0x8000 of its id) and was addressed to this device's id (or
broadcast, 0x7f), a ``rcv`` line with the device's reply; every millisecond the device samples
the physics and runs its watchdog and position loop. Faults are injected counting from the
first position command, so a test does not depend on how long the host took to start:

* ``silence_after_s``: the line goes dead (nothing answered, nothing reaches the motor), so the
  device's own watchdog stops it;
* ``fault`` + ``fault_after_s``: mode 1 with that fault code (:data:`FAULTS`), or mode 11 as if
  the watchdog had expired (``"watchdog"``), or an encoder that stops counting while the motor
  still drives (``"stuck_encoder"``: position and velocity frozen, no fault raised);
* ``reply_latency_s``: every line out is that much late.
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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ddpg_control.runtime.errors import ConfigError
from hardware.drivers.moteus import fdcanusb
from hardware.drivers.moteus import multiplex as mp
from hardware.drivers.moteus.device import MoteusDevice, MoteusDeviceConfig
from hardware.drivers.moteus.registers import Mode
from hardware.pseudo_terminal import close_fds, open_raw_pty

if TYPE_CHECKING:
    from hardware.drivers import EmulatorOptions

log = logging.getLogger(__name__)

TICK_S = 0.001
BROADCAST_ID = 0x7F

#: The faults ``emulate --driver moteus --fault NAME`` injects: moteus' own fault codes (0x00f),
#: "watchdog" for mode 11 (timeout) without waiting for the host to go quiet, and
#: "stuck_encoder" for a reading that freezes while the controller reports no fault (a loose
#: magnet or a cut encoder cable: what the host's stuck-sensor check is for).
FAULTS: dict[str, int] = {
    "motor_driver": 33,
    "over_voltage": 34,
    "encoder": 35,
    "over_temperature": 38,
    "under_voltage": 40,
    "watchdog": 0,
    "stuck_encoder": 0,
}


@dataclass(frozen=True, slots=True)
class MoteusFaults:
    reply_latency_s: float = 0.0
    silence_after_s: float | None = None
    fault: str | None = None
    fault_after_s: float | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.reply_latency_s) and self.reply_latency_s >= 0):
            raise ConfigError(f"reply latency must be >= 0 s, got {self.reply_latency_s!r}")
        for name in ("silence_after_s", "fault_after_s"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"{name} must be >= 0 s, got {value!r}")
        if self.fault is not None and self.fault not in FAULTS:
            raise ConfigError(
                f"moteus cannot inject fault {self.fault!r}: pick one of {', '.join(FAULTS)}"
            )


@dataclass(slots=True)
class LineStats:
    lines: int = 0
    bad_lines: int = 0  # answered ERR
    ignored_frames: int = 0  # for another id, or not a multiplex frame
    lines_unanswered: int = 0  # while silent


class MoteusEmulator:
    """Serves a :class:`MoteusDevice` as an fdcanusb on a pseudo-terminal."""

    def __init__(self, device: MoteusDevice, faults: MoteusFaults | None = None) -> None:
        self.device = device
        self.faults = faults or MoteusFaults()
        self.stats = LineStats()
        self.silent = False
        self._fault_injected = False
        self._checksums_required = False
        self._buffer = b""
        self._pending: list[tuple[float, int, bytes]] = []
        self._order = 0
        self._master: int | None = None
        self._slave: int | None = None

    def open(self) -> str:
        """Create the pseudo-terminal; return its path for ``--device``."""
        self._master, self._slave, path = open_raw_pty()
        return path

    def close(self) -> None:
        close_fds(self._master, self._slave)
        self._master = self._slave = None

    def serve(self, stop: threading.Event) -> None:
        while not stop.is_set() and self._master is not None:
            now = time.monotonic()
            timeout = TICK_S
            if self._pending:
                timeout = max(0.0, min(timeout, self._pending[0][0] - now))
            ready, _, _ = select.select([self._master], [], [], timeout)
            if ready:
                self._receive()
            now = time.monotonic()
            self._inject(now)
            self.device.tick(now)
            self._flush(now)
        log.info("moteus emulator summary: %s", self.summary())

    def summary(self) -> str:
        d = self.device
        last = d.last_feedforward_torque_nm
        return (
            f"frames={d.frames} position_commands={d.position_commands} stops={d.stops} "
            f"last_command={d.last_command} "
            f"last_feedforward_torque_nm={'none' if last is None else f'{last:.4f}'} "
            f"applied_torque_nm={d.applied_torque_nm:.4f} mode={d.mode} fault={d.fault} "
            f"watchdog_trips={d.watchdog_trips} bad_lines={self.stats.bad_lines} "
            f"silent={int(self.silent)}"
        )

    # -- lines ---------------------------------------------------------------------------------

    def _receive(self) -> None:
        assert self._master is not None
        try:
            data = os.read(self._master, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # EIO: no host has the pty open
            time.sleep(TICK_S)
            return
        self._buffer += data
        *lines, self._buffer = self._buffer.replace(b"\r", b"\n").split(b"\n")
        if len(self._buffer) > 512:
            self._buffer = b""  # a line that long is garbage; drop it as the adapter does
        now = time.monotonic()
        for line in lines:
            if line.strip():
                self._line(line.strip(), now)

    def _line(self, line: bytes, now_s: float) -> None:
        self.stats.lines += 1
        if self.silent:
            self.stats.lines_unanswered += 1
            return
        try:
            body, checksummed = fdcanusb.split_checksum(line)
            if checksummed:
                self._checksums_required = True
            elif self._checksums_required:
                raise fdcanusb.LineError("checksum required")
            frame = fdcanusb.parse_command(body)
        except fdcanusb.LineError as exc:
            self.stats.bad_lines += 1
            self._send(fdcanusb.with_checksum(f"ERR {exc}"), now_s)
            return
        self._send(fdcanusb.with_checksum("OK"), now_s)
        reply = self._frame(frame, now_s)
        if reply is not None:
            self._send(fdcanusb.with_checksum(fdcanusb.format_rcv(reply)), now_s)

    def _frame(self, frame: fdcanusb.CanFrame, now_s: float) -> fdcanusb.CanFrame | None:
        destination = frame.arbitration_id & 0x7F
        source = (frame.arbitration_id >> 8) & 0x7F
        prefix = frame.arbitration_id >> 16
        if destination not in (self.device.config.can_id, BROADCAST_ID):
            self.stats.ignored_frames += 1
            return None
        try:
            reply = self.device.handle(frame.data, now_s)
        except mp.MultiplexError as exc:
            log.info("frame ignored: %s", exc)
            self.stats.ignored_frames += 1
            return None
        if not frame.arbitration_id & 0x8000:
            return None
        reply_id = (prefix << 16) | (self.device.config.can_id << 8) | source
        return fdcanusb.CanFrame(reply_id, mp.pad(reply), brs=frame.brs, fd=frame.fd)

    def _send(self, line: bytes, now_s: float) -> None:
        self._order += 1
        heapq.heappush(self._pending, (now_s + self.faults.reply_latency_s, self._order, line))

    def _flush(self, now_s: float) -> None:
        while self._pending and self._pending[0][0] <= now_s:
            _, _, line = heapq.heappop(self._pending)
            if self._master is None:
                return
            try:
                os.write(self._master, line)
            except (BlockingIOError, InterruptedError):
                log.debug("host is not reading; line dropped")
            except OSError as exc:
                log.info("write: %s", exc)

    def _inject(self, now_s: float) -> None:
        faults, device = self.faults, self.device
        if device.first_enabled_s is None:
            return
        since_s = now_s - device.first_enabled_s
        silence_s = faults.silence_after_s
        if silence_s is not None and since_s >= silence_s and not self.silent:
            log.warning("fault injection: the line goes silent")
            self.silent = True
            self._pending.clear()
        if (
            faults.fault is not None
            and faults.fault_after_s is not None
            and since_s >= faults.fault_after_s
            and not self._fault_injected
        ):
            self._fault_injected = True
            if faults.fault == "watchdog":
                log.warning("fault injection: the watchdog trips")
                device.watchdog_trips += 1
                device.enter(Mode.TIMEOUT)
            elif faults.fault == "stuck_encoder":
                log.warning("fault injection: the encoder reading freezes")
                device.encoder_frozen = True
            else:
                device.enter(Mode.FAULT, FAULTS[faults.fault])


class _WallClock:
    def now(self) -> float:
        return time.monotonic()

    def sleep_until(self, deadline_s: float) -> None:
        time.sleep(max(0.0, deadline_s - time.monotonic()))


@dataclass(frozen=True, slots=True)
class MoteusEmulatorSetup:
    device: MoteusDeviceConfig = field(default_factory=MoteusDeviceConfig)
    faults: MoteusFaults = field(default_factory=MoteusFaults)
    start_angle_rad: float = math.pi


def serve(
    setup: MoteusEmulatorSetup, stop: threading.Event, announce: Callable[[str], None]
) -> str:
    """Run an emulated moteus on a new pty until ``stop``; return the exit summary."""
    from sim.params import PendulumParams
    from sim.plant import SimPlant

    # Pendulum-v1 physics stepped every millisecond, so it runs smoothly in real time.
    params = PendulumParams(max_torque_nm=setup.device.max_torque_nm, physics_substeps=50)
    clock = _WallClock()
    with SimPlant(params, clock=clock, start_angle_rad=setup.start_angle_rad) as physics:
        emulator = MoteusEmulator(MoteusDevice(physics, setup.device), setup.faults)
        try:
            port = emulator.open()
        except OSError as exc:
            raise ConfigError(f"cannot open a pseudo-terminal: {exc}") from None
        try:
            announce(port)
            emulator.serve(stop)
        finally:
            emulator.close()
        return emulator.summary()


def serve_emulator(
    options: EmulatorOptions, stop: threading.Event, announce: Callable[[str], None]
) -> str:
    """The seam's entry point (hardware/drivers/__init__.py)."""
    setup = MoteusEmulatorSetup(
        device=MoteusDeviceConfig(can_id=options.device_id, max_torque_nm=options.max_torque_nm),
        faults=MoteusFaults(
            reply_latency_s=options.reply_latency_s,
            silence_after_s=options.silence_after_s,
            fault=options.fault,
            fault_after_s=options.fault_after_s,
        ),
        start_angle_rad=options.start_angle_rad,
    )
    return serve(setup, stop, announce)
