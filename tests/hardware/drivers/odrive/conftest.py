"""Fixtures: a virtual ODrive (pendulum physics) behind its ASCII protocol on a real pty."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hardware.drivers.odrive.device import OdriveDevice, OdriveDeviceConfig
from hardware.drivers.odrive.emulator import OdriveEmulator
from hardware.emulator import LinkImpairments, ScheduledFault
from tests.hardware.emulators import Emulators, Running

StartOdrive = Callable[..., Running]


@pytest.fixture
def start_odrive(emulators: Emulators) -> StartOdrive:
    def start(
        *,
        link: LinkImpairments | None = None,
        faults: tuple[ScheduledFault, ...] = (),
        device: OdriveDeviceConfig | None = None,
        start_angle_rad: float = 3.0,
    ) -> Running:
        config = device or OdriveDeviceConfig()
        return emulators.start(
            OdriveEmulator,
            lambda physics, start_s: OdriveDevice(physics, config, start_s),
            link=link,
            faults=faults,
            start_angle_rad=start_angle_rad,
        )

    return start
