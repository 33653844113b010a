"""``ddpg-control emulate --driver dynamixel``: a virtual X series servo on a pseudo-terminal.

The shared :class:`hardware.emulator.Emulator` feeds the bytes to the Protocol 2.0 decoder, lets
the :class:`~.device.DynamixelDevice` answer, and sends its status packets after the servo's
Return Delay Time (plus any injected latency); between packets the servo advances the PyBullet
pendulum and runs its Bus Watchdog. Faults count from the first Torque Enable: ``silence``
stops the servo hearing the bus (a cut cable: its Bus Watchdog then trips); a Hardware Error
Status bit (:data:`~.protocol.FAULTS`) latches; ``watchdog`` trips the Bus Watchdog as a late
instruction would.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from typing import Any

from ddpg_control.runtime.contracts import Plant
from hardware.drivers import EmulatorOptions
from hardware.drivers.dynamixel.device import DynamixelDevice, DynamixelDeviceConfig
from hardware.drivers.dynamixel.protocol import FAULTS, PacketDecoder
from hardware.emulator import Emulator, serve_pendulum


class DynamixelEmulator(Emulator):
    device: DynamixelDevice
    DEVICE_FAULTS = (*FAULTS, "watchdog")

    def __init__(self, device: DynamixelDevice, **link_and_faults: Any) -> None:
        super().__init__(device, **link_and_faults)
        self.decoder = PacketDecoder()

    def answer(self, data: bytes, now_s: float) -> list[bytes]:
        if self.silent:  # the servo no longer hears the bus
            return []
        return [
            reply
            for packet in self.decoder.feed(data)
            for reply in self.device.handle(packet, now_s)
        ]

    def reply_delay_s(self) -> float:
        return self.device.reply_delay_s

    def enabled_at_s(self) -> float | None:
        return self.device.enabled_at_s

    @classmethod
    def device_for(
        cls, physics: Plant, start_s: float, options: EmulatorOptions
    ) -> DynamixelDevice:
        return DynamixelDevice(physics, device_config(options), start_s)

    def inject(self, kind: str, now_s: float) -> None:
        if kind == "watchdog":
            self.device.trip_watchdog()
        else:
            self.device.raise_hardware_error(FAULTS[kind])

    def summary_fields(self) -> Mapping[str, object]:
        s = self.device
        return {
            "instructions": s.instructions,
            "last_goal_current": "none" if s.last_goal_current is None else s.last_goal_current,
            "applied_current": s.applied_current,
            "applied_torque_nm": f"{s.applied_torque_nm:.4f}",
            "torque_enable": int(s.torque_enabled),
            "watchdog_trips": s.watchdog_trips,
            "bus_watchdog": s.get(98),
            "hardware_error": f"{s.hardware_error:#04x}",
            "bad_crc": self.decoder.bad_crc,
            "silent": int(self.silent),
        }


def device_config(options: EmulatorOptions) -> DynamixelDeviceConfig:
    """An XM430-W350-like servo whose Current Limit is the emulator's torque limit."""
    base = DynamixelDeviceConfig(servo_id=options.device_id)
    amps_per_unit = base.current_unit_ma / 1000.0
    limit = math.ceil(
        options.device_torque_limit_nm / base.torque_constant_nm_per_a / amps_per_unit
    )
    return DynamixelDeviceConfig(servo_id=options.device_id, current_limit=min(1193, limit))


def serve_emulator(
    options: EmulatorOptions, stop: threading.Event, announce: Callable[[str], None]
) -> str:
    """The seam's entry point (hardware/drivers/__init__.py)."""
    return serve_pendulum(options, stop, announce, DynamixelEmulator)
