"""Fixtures: an emulated moteus (pendulum physics, register protocol, fdcanusb lines) on a real
pseudo-terminal, served by a background thread."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hardware.drivers.moteus.device import MoteusDevice, MoteusDeviceConfig
from hardware.drivers.moteus.emulator import MoteusEmulator
from tests.hardware.emulators import Emulators, Running

StartMoteus = Callable[..., Running]


@pytest.fixture
def start_moteus(emulators: Emulators) -> StartMoteus:
    return emulators.starter(MoteusEmulator, MoteusDevice, MoteusDeviceConfig())
