"""Fixtures: a real emulator (pendulum physics, emulated device) on a real pseudo-terminal.

``start_emulator`` runs every test that takes it twice: against the Python emulator (in-process)
and against the C firmware core's host build (``ddpg-fw-host``, a subprocess, tests/hardware/
c_device.py). ``start_python_emulator`` is the Python one alone (TCP, which only it serves).
``emulators`` starts any driver's emulator (tests/hardware/emulators.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from hardware.drivers.ddpg.device import DdpgDevice, DdpgDeviceConfig
from hardware.drivers.ddpg.emulator import DdpgEmulator
from hardware.emulator import LinkImpairments, ScheduledFault
from tests.hardware.c_device import CDevice, emulate_options
from tests.hardware.emulators import Emulators, Running

StartEmulator = Callable[..., Running]


@pytest.fixture
def emulators() -> Iterator[Emulators]:
    """Start emulators in background threads; all are stopped and closed after the test."""
    started = Emulators()
    yield started
    started.stop_all()


@pytest.fixture
def start_python_emulator(emulators: Emulators) -> StartEmulator:
    return emulators.starter(DdpgEmulator, DdpgDevice, DdpgDeviceConfig())


@pytest.fixture
def start_c_device() -> Iterator[StartEmulator]:
    """Start ddpg-fw-host processes; all are killed after the test."""
    started: list[CDevice] = []

    def start(
        *,
        link: LinkImpairments | None = None,
        faults: tuple[ScheduledFault, ...] = (),
        device_config: DdpgDeviceConfig | None = None,
        start_angle_rad: float = 3.14159,
    ) -> CDevice:
        running = CDevice(*emulate_options(link, faults, device_config, start_angle_rad))
        started.append(running)
        return running

    yield start  # type: ignore[misc]
    for running in started:
        running.kill()


@pytest.fixture(params=["python", "c"])
def start_emulator(request: pytest.FixtureRequest) -> StartEmulator:
    """The Python emulator, then the C host device: the same test against both."""
    name = "start_python_emulator" if request.param == "python" else "start_c_device"
    start: StartEmulator = request.getfixturevalue(name)
    return start
