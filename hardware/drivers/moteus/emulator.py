"""``ddpg-control emulate --driver moteus``: an emulated moteus behind an emulated fdcanusb, on a
pseudo-terminal, with the PyBullet pendulum behind it in real time.

The shared :class:`hardware.emulator.Emulator` hands over the bytes; each ``can send`` line is
answered with ``OK`` and, when the frame asked for one (bit 0x8000 of its id) and was addressed
to this device's id (or broadcast, 0x7f), a ``rcv`` line with the :class:`~.device.MoteusDevice`'s
reply; every millisecond the device samples the physics and runs its watchdog and position loop.
Faults count from the first position command:

* ``silence``: the line goes dead (nothing answered, nothing reaches the motor), so the
  device's own watchdog stops it;
* a moteus fault code (:data:`FAULTS`): mode 1 with that code; ``watchdog``: mode 11 as if the
  watchdog had expired; ``stuck-encoder``: an encoder that stops counting while the motor still
  drives (position and velocity frozen, no fault raised: what the host's stuck-sensor check is
  for).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ddpg_control.runtime.contracts import Plant
from hardware.drivers import EmulatorOptions
from hardware.drivers.moteus import fdcanusb
from hardware.drivers.moteus import multiplex as mp
from hardware.drivers.moteus.device import MoteusDevice, MoteusDeviceConfig
from hardware.drivers.moteus.registers import Mode
from hardware.emulator import Emulator, serve_pendulum

log = logging.getLogger(__name__)

BROADCAST_ID = 0x7F

#: The moteus fault codes (register 0x00f) ``emulate --driver moteus --fault NAME`` raises.
FAULTS: dict[str, int] = {
    "motor-driver": 33,
    "over-voltage": 34,
    "encoder": 35,
    "over-temperature": 38,
    "under-voltage": 40,
}


@dataclass(slots=True)
class LineStats:
    lines: int = 0
    bad_lines: int = 0  # answered ERR
    ignored_frames: int = 0  # for another id, or not a multiplex frame
    lines_unanswered: int = 0  # while silent


class MoteusEmulator(Emulator):
    """Serves a :class:`MoteusDevice` as an fdcanusb on a pseudo-terminal."""

    device: MoteusDevice
    DEVICE_FAULTS = (*FAULTS, "watchdog", "stuck-encoder")

    def __init__(self, device: MoteusDevice, **link_and_faults: Any) -> None:
        super().__init__(device, **link_and_faults)
        self.stats = LineStats()
        self._checksums_required = False
        self._buffer = b""

    def enabled_at_s(self) -> float | None:
        return self.device.first_enabled_s

    @classmethod
    def device_for(cls, physics: Plant, start_s: float, options: EmulatorOptions) -> MoteusDevice:
        config = MoteusDeviceConfig(
            can_id=options.device_id, max_torque_nm=options.device_torque_limit_nm
        )
        return MoteusDevice(physics, config, start_s)

    def inject(self, kind: str, now_s: float) -> None:
        if kind == "watchdog":
            self.device.watchdog_trips += 1
            self.device.enter(Mode.TIMEOUT)
        elif kind == "stuck-encoder":
            self.device.encoder_frozen = True
        else:
            self.device.enter(Mode.FAULT, FAULTS[kind])

    def summary_fields(self) -> Mapping[str, object]:
        d = self.device
        last = d.last_feedforward_torque_nm
        return {
            "frames": d.frames,
            "position_commands": d.position_commands,
            "stops": d.stops,
            "last_command": d.last_command,
            "last_feedforward_torque_nm": "none" if last is None else f"{last:.4f}",
            "applied_torque_nm": f"{d.applied_torque_nm:.4f}",
            "mode": d.mode,
            "fault": d.fault,
            "watchdog_trips": d.watchdog_trips,
            "bad_lines": self.stats.bad_lines,
            "silent": int(self.silent),
        }

    # -- lines ---------------------------------------------------------------------------------

    def reset_input(self) -> None:
        self._buffer = b""

    def answer(self, data: bytes, now_s: float) -> list[bytes]:
        self._buffer += data
        *lines, self._buffer = self._buffer.replace(b"\r", b"\n").split(b"\n")
        if len(self._buffer) > 512:
            self._buffer = b""  # a line that long is garbage; drop it as the adapter does
        return [
            reply for line in lines if line.strip() for reply in self._line(line.strip(), now_s)
        ]

    def _line(self, line: bytes, now_s: float) -> list[bytes]:
        self.stats.lines += 1
        if self.silent:
            self.stats.lines_unanswered += 1
            return []
        try:
            body, checksummed = fdcanusb.split_checksum(line)
            if checksummed:
                self._checksums_required = True
            elif self._checksums_required:
                raise fdcanusb.LineError("checksum required")
            frame = fdcanusb.parse_command(body)
        except fdcanusb.LineError as exc:
            self.stats.bad_lines += 1
            return [fdcanusb.with_checksum(f"ERR {exc}")]
        replies = [fdcanusb.with_checksum("OK")]
        reply = self._frame(frame, now_s)
        if reply is not None:
            replies.append(fdcanusb.with_checksum(fdcanusb.format_rcv(reply)))
        return replies

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


def serve_emulator(
    options: EmulatorOptions, stop: threading.Event, announce: Callable[[str], None]
) -> str:
    """The seam's entry point (hardware/drivers/__init__.py)."""
    return serve_pendulum(options, stop, announce, MoteusEmulator)
