"""``ddpg-control emulate --driver odrive``: the :class:`~.device.OdriveDevice` behind its ASCII
protocol on a pseudo-terminal, served by the shared :class:`hardware.emulator.Emulator`.

Request lines are cut from the bytes and answered (the physics advances to the current time at
each request); the device's watchdog runs every millisecond. Faults count from the first entry
into CLOSED_LOOP_CONTROL:

- ``silence``: the device stops answering (a broken TX line) but still obeys commands;
- an error (:data:`~.device.FAULTS`) latches and the axis falls to IDLE, as the firmware's
  checks do: ``drv-fault`` (MOTOR_FAILED + motor DRV_FAULT), ``encoder-no-response``
  (ENCODER_FAILED + encoder NO_RESPONSE), ``overspeed`` (CONTROLLER_FAILED + controller
  OVERSPEED), ``dc-bus-over-voltage``;
- ``watchdog``: the watchdog feeds (``c``, ``u``) are lost from then on, so the axis watchdog
  trips (WATCHDOG_TIMER_EXPIRED) while feedback is still answered.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from ddpg_control.runtime.contracts import Plant
from ddpg_control.runtime.errors import ConfigError
from hardware.drivers import EmulatorOptions
from hardware.drivers.odrive.ascii import (
    REQUEST_TERMINATORS,
    LineSplitter,
    decode_request,
    encode_reply,
)
from hardware.drivers.odrive.device import FAULTS, OdriveDevice, OdriveDeviceConfig
from hardware.drivers.odrive.errors import AxisError, AxisState, flag_names
from hardware.emulator import Emulator, serve_pendulum, torque_command_fields

#: The emulated motor's torque constant (N*m/A); current_lim follows from the torque limit.
EMULATED_TORQUE_CONSTANT_NM_PER_A = 0.04


class OdriveEmulator(Emulator):
    """Serves an OdriveDevice on a pseudo-terminal. ``open()`` returns the path for the host."""

    device: OdriveDevice
    DEVICE_FAULTS = (*FAULTS, "watchdog")

    def __init__(self, device: OdriveDevice, **link_and_faults: Any) -> None:
        super().__init__(device, **link_and_faults)
        self._lines = LineSplitter(REQUEST_TERMINATORS)
        self.bad_checksums = 0

    def answer(self, data: bytes, now_s: float) -> list[bytes]:
        replies = []
        for line in self._lines.feed(data):
            request = decode_request(line)
            if request is None:
                self.bad_checksums += 1
                continue
            for text in self.device.handle(request.command, now_s):
                replies.append(encode_reply(text, with_checksum=request.with_checksum))
        return replies

    def enabled_at_s(self) -> float | None:
        return self.device.closed_loop_at_s

    @classmethod
    def device_for(cls, physics: Plant, start_s: float, options: EmulatorOptions) -> OdriveDevice:
        """Axis0 of an ODrive whose current limit makes the options' torque limit."""
        if options.device_id != 0:
            raise ConfigError(
                f"the ODrive emulator models axis0 only, not axis{options.device_id}: "
                "drop --device-id or pass 0"
            )
        config = OdriveDeviceConfig(
            torque_constant_nm_per_a=EMULATED_TORQUE_CONSTANT_NM_PER_A,
            current_lim_a=options.device_torque_limit_nm / EMULATED_TORQUE_CONSTANT_NM_PER_A,
        )
        return OdriveDevice(physics, config, start_s)

    def inject(self, kind: str, now_s: float) -> None:
        if kind == "watchdog":
            self.device.ignore_feeds = True
        else:
            self.device.raise_error(FAULTS[kind])

    def silence(self) -> None:
        self.silent = True  # replies already on their way still leave; none after them

    def summary_fields(self) -> Mapping[str, object]:
        d = self.device
        return {
            **torque_command_fields(d),
            "state": AxisState(d.state).name,
            "axis_error": flag_names(d.errors["axis"], AxisError),
            "watchdog_enabled": int(d.enable_watchdog),
            "watchdog_trips": d.watchdog_trips,
            "replies_dropped": self.replies_dropped,
            "bad_checksums": self.bad_checksums,
            "overlong_lines": self._lines.dropped_lines,
        }


def serve_emulator(
    options: EmulatorOptions, stop: threading.Event, announce: Callable[[str], None]
) -> str:
    """The seam's entry point (hardware/drivers/__init__.py): axis0 of a virtual ODrive."""
    return serve_pendulum(options, stop, announce, OdriveEmulator)
