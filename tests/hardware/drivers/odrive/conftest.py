"""Fixtures: a virtual ODrive (pendulum physics) behind its ASCII protocol on a real pty."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hardware.drivers.odrive.device import OdriveDevice, OdriveDeviceConfig
from hardware.drivers.odrive.emulator import OdriveEmulator
from tests.hardware.emulators import Emulators, Running

StartOdrive = Callable[..., Running]


@pytest.fixture
def start_odrive(emulators: Emulators) -> StartOdrive:
    return emulators.starter(OdriveEmulator, OdriveDevice, OdriveDeviceConfig(), 3.0)
