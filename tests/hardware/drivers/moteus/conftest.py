"""Fixtures: an emulated moteus (pendulum physics, register protocol, fdcanusb lines) on a real
pseudo-terminal, served by a background thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from hardware.drivers.moteus.device import MoteusDevice, MoteusDeviceConfig
from hardware.drivers.moteus.emulator import MoteusEmulator, MoteusFaults
from sim.params import PendulumParams
from sim.plant import SimPlant


class WallClock:
    def now(self) -> float:
        return time.monotonic()

    def sleep_until(self, deadline_s: float) -> None:
        time.sleep(max(0.0, deadline_s - time.monotonic()))


@dataclass
class RunningMoteus:
    port: str
    emulator: MoteusEmulator
    thread: threading.Thread

    @property
    def device(self) -> MoteusDevice:
        return self.emulator.device

    def wait_for(self, condition: Callable[[], bool], timeout_s: float = 2.0) -> bool:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if condition():
                return True
            time.sleep(0.005)
        return condition()


StartMoteus = Callable[..., RunningMoteus]


@pytest.fixture
def start_moteus() -> Iterator[StartMoteus]:
    started: list[tuple[RunningMoteus, threading.Event, SimPlant]] = []

    def start(
        *,
        faults: MoteusFaults | None = None,
        device: MoteusDeviceConfig | None = None,
        start_angle_rad: float = 3.14159,
    ) -> RunningMoteus:
        physics = SimPlant(
            PendulumParams(physics_substeps=50), clock=WallClock(), start_angle_rad=start_angle_rad
        )
        emulator = MoteusEmulator(MoteusDevice(physics, device or MoteusDeviceConfig()), faults)
        port = emulator.open()
        stop = threading.Event()
        thread = threading.Thread(target=emulator.serve, args=(stop,), daemon=True)
        thread.start()
        running = RunningMoteus(port, emulator, thread)
        started.append((running, stop, physics))
        return running

    yield start
    for running, stop, physics in started:
        stop.set()
        running.thread.join(timeout=5)
        running.emulator.close()
        physics.close()
