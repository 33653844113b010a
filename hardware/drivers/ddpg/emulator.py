"""``ddpg-control emulate`` (``--driver ddpg``): the :class:`~.device.DdpgDevice` behind a
pseudo-terminal or a loopback TCP port, served by the shared :class:`hardware.emulator.Emulator`.

Its faults: ``disconnect`` hangs up (the port closes; the emulator ends once the device's
watchdog has tripped) and ``stuck-sensor`` freezes the position sensor. ``protocol_version``
other than 1 makes every reply carry that version: a stand-in for a device with other firmware,
to test the host's version check.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from ddpg_control.runtime.contracts import Plant
from hardware.drivers import EmulatorOptions
from hardware.drivers.ddpg.device import DdpgDevice, DdpgDeviceConfig
from hardware.drivers.ddpg.protocol import FrameDecoder, encode
from hardware.emulator import Emulator, serve_pendulum, torque_command_fields

log = logging.getLogger(__name__)


def answer(decoder: FrameDecoder, device: DdpgDevice, data: bytes, now_s: float) -> list[bytes]:
    """The reply frames to the bytes ``data`` received at ``now_s``: the device's receive path.

    ``decoder`` must keep raw frames (``keep_raw=True``) so the device can answer unknown types.
    """
    frames = []
    for packet in decoder.feed(data, now_s):
        reply = device.handle(packet.message, now_s)
        if reply is not None:
            frames.append(encode(reply, packet.seq, version=device.config.protocol_version))
    return frames


class DdpgEmulator(Emulator):
    """Serves a DdpgDevice on a port. ``open()`` returns the URL/path for the host."""

    device: DdpgDevice
    DEVICE_FAULTS = ("disconnect", "stuck-sensor")

    def __init__(self, device: DdpgDevice, **link_and_faults: Any) -> None:
        super().__init__(device, **link_and_faults)
        self._decoder = FrameDecoder(version=device.config.protocol_version, keep_raw=True)

    def answer(self, data: bytes, now_s: float) -> list[bytes]:
        return answer(self._decoder, self.device, data, now_s)

    def reset_input(self) -> None:
        self._decoder.reset()

    def enabled_at_s(self) -> float | None:
        return self.device.armed_at_s

    @classmethod
    def device_for(cls, physics: Plant, start_s: float, options: EmulatorOptions) -> DdpgDevice:
        return DdpgDevice(physics, device_config(options), start_s)

    def inject(self, kind: str, now_s: float) -> None:
        if kind == "disconnect":
            self.hang_up()
        else:  # stuck-sensor
            sample = self.device.sample(now_s)
            self.device.frozen_sample = (sample.position_counts, sample.velocity_rad_s)

    def finished(self) -> bool:
        return self.disconnected and not self.device.armed

    def summary_fields(self) -> Mapping[str, object]:
        d = self.device
        return {
            **torque_command_fields(d),
            "armed": int(d.armed),
            "watchdog_trips": d.watchdog_trips,
            "faults": f"{d.faults:#04x}",
            "replies_dropped": self.replies_dropped,
            "replies_corrupted": self.replies_corrupted,
            "bad_frames": self._decoder.stats.dropped,
        }


def device_config(options: EmulatorOptions) -> DdpgDeviceConfig:
    """The emulated device: the options' torque limit, encoder resolution and version."""
    config = DdpgDeviceConfig(max_torque_nm=options.device_torque_limit_nm)
    if options.counts_per_rev is not None:
        config = replace(config, counts_per_rev=options.counts_per_rev)
    if options.protocol_version is not None:
        config = replace(config, protocol_version=options.protocol_version)
    return config


def serve_emulator(
    options: EmulatorOptions, stop: threading.Event, announce: Callable[[str], None]
) -> str:
    """The seam's entry point (hardware/drivers/__init__.py)."""
    return serve_pendulum(options, stop, announce, DdpgEmulator)
