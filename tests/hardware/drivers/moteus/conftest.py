"""Fixtures: an emulated moteus (pendulum physics, register protocol, fdcanusb lines) on a real
pseudo-terminal, served by a background thread."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hardware.drivers.moteus.device import MoteusDevice, MoteusDeviceConfig
from hardware.drivers.moteus.emulator import MoteusEmulator
from hardware.emulator import LinkImpairments, ScheduledFault
from tests.hardware.emulators import Emulators, Running

StartMoteus = Callable[..., Running]


@pytest.fixture
def start_moteus(emulators: Emulators) -> StartMoteus:
    def start(
        *,
        link: LinkImpairments | None = None,
        faults: tuple[ScheduledFault, ...] = (),
        device: MoteusDeviceConfig | None = None,
        start_angle_rad: float = 3.14159,
    ) -> Running:
        config = device or MoteusDeviceConfig()
        return emulators.start(
            MoteusEmulator,
            lambda physics, _: MoteusDevice(physics, config),
            link=link,
            faults=faults,
            start_angle_rad=start_angle_rad,
        )

    return start
