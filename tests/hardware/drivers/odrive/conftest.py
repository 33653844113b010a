"""Fixtures: a virtual ODrive (pendulum physics) behind its ASCII protocol on a real pty."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from ddpg_control.runtime.timing import MonotonicClock
from hardware.drivers.odrive.device import OdriveDeviceConfig, VirtualOdrive
from hardware.drivers.odrive.emulator import OdriveEmulator, OdriveFaults
from sim.params import PendulumParams
from sim.plant import SimPlant


@dataclass
class RunningOdrive:
    port: str
    emulator: OdriveEmulator
    physics: SimPlant

    @property
    def device(self) -> VirtualOdrive:
        return self.emulator.device


StartOdrive = Callable[..., RunningOdrive]


@pytest.fixture
def start_odrive() -> Iterator[StartOdrive]:
    """Start virtual ODrives in background threads; all are stopped after the test."""
    started: list[tuple[RunningOdrive, threading.Event, threading.Thread]] = []

    def start(
        *,
        faults: OdriveFaults | None = None,
        device: OdriveDeviceConfig | None = None,
        start_angle_rad: float = 3.0,
    ) -> RunningOdrive:
        clock = MonotonicClock()
        physics = SimPlant(
            PendulumParams(physics_substeps=50), clock=clock, start_angle_rad=start_angle_rad
        )
        emulator = OdriveEmulator(
            VirtualOdrive(physics, device or OdriveDeviceConfig(), clock.now()), faults
        )
        port = emulator.open()
        stop = threading.Event()
        thread = threading.Thread(target=emulator.serve, args=(stop,), daemon=True)
        thread.start()
        running = RunningOdrive(port, emulator, physics)
        started.append((running, stop, thread))
        return running

    yield start
    for running, stop, thread in started:
        stop.set()
        thread.join(timeout=5)
        running.emulator.close()
        running.physics.close()
