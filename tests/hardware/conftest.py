"""Fixtures: a real emulator (pendulum physics, virtual device) on a real pseudo-terminal.

``start_emulator`` runs every test that takes it twice: against the Python emulator (in-process)
and against the C firmware core's host build (``ddpg-fw-host``, a subprocess, tests/hardware/
c_device.py). ``start_python_emulator`` is the Python one alone (TCP, which only it serves).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from hardware.device import DeviceConfig, VirtualDevice
from hardware.emulator import Emulator, EmulatorConfig, FaultInjection
from sim.params import PendulumParams
from sim.plant import SimPlant
from tests.hardware.c_device import CDevice, emulate_options


class WallClock:
    def now(self) -> float:
        return time.monotonic()

    def sleep_until(self, deadline_s: float) -> None:
        time.sleep(max(0.0, deadline_s - time.monotonic()))


@dataclass
class Running:
    port: str
    emulator: Emulator
    physics: SimPlant
    thread: threading.Thread

    @property
    def device(self) -> VirtualDevice:
        return self.emulator.device


StartEmulator = Callable[..., Running]


@pytest.fixture
def start_python_emulator() -> Iterator[StartEmulator]:
    """Start emulators in background threads; all are stopped and closed after the test."""
    started: list[tuple[Running, threading.Event]] = []

    def start(
        *,
        faults: FaultInjection | None = None,
        device: DeviceConfig | None = None,
        tcp_port: int | None = None,
        start_angle_rad: float = 3.14159,
    ) -> Running:
        clock = WallClock()
        physics = SimPlant(
            PendulumParams(physics_substeps=50), clock=clock, start_angle_rad=start_angle_rad
        )
        device_config = device or DeviceConfig()
        emulator = Emulator(
            VirtualDevice(physics, device_config, clock.now()),
            EmulatorConfig(
                tcp_port=tcp_port, device=device_config, faults=faults or FaultInjection()
            ),
        )
        port = emulator.open()
        stop = threading.Event()
        thread = threading.Thread(target=emulator.serve, args=(stop,), daemon=True)
        thread.start()
        running = Running(port, emulator, physics, thread)
        started.append((running, stop))
        return running

    yield start
    for running, stop in started:
        stop.set()
        running.thread.join(timeout=5)
        running.emulator.close()
        running.physics.close()


@pytest.fixture
def start_c_device() -> Iterator[StartEmulator]:
    """Start ddpg-fw-host processes; all are killed after the test."""
    started: list[CDevice] = []

    def start(
        *,
        faults: FaultInjection | None = None,
        device: DeviceConfig | None = None,
        start_angle_rad: float = 3.14159,
    ) -> CDevice:
        running = CDevice(*emulate_options(faults, device, start_angle_rad))
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
