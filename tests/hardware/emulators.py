"""Emulators served in background threads on real pseudo-terminals, for the tests of every
driver: each driver's emulator class around its device model, the PyBullet pendulum behind it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ddpg_control.runtime.contracts import Plant
from hardware.emulator import Emulator, LinkImpairments, ScheduledFault, ServeClock
from sim.params import PendulumParams
from sim.plant import SimPlant


@dataclass
class Running:
    port: str
    emulator: Any  # the driver's Emulator subclass
    physics: SimPlant
    thread: threading.Thread

    @property
    def device(self) -> Any:
        return self.emulator.device

    def wait_for(self, condition: Callable[[], bool], timeout_s: float = 2.0) -> bool:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if condition():
                return True
            time.sleep(0.005)
        return condition()


class Emulators:
    """Starts emulators in threads; :meth:`stop_all` stops and closes every one."""

    def __init__(self) -> None:
        self._started: list[tuple[Running, threading.Event]] = []

    def start(
        self,
        emulator: type[Emulator],
        device: Callable[[Plant, Any, float], Any],
        config: Any,
        *,
        link: LinkImpairments | None = None,
        faults: tuple[ScheduledFault, ...] = (),
        tcp_port: int | None = None,
        start_angle_rad: float = 3.14159,
    ) -> Running:
        """``emulator`` serving ``device(physics, config, start_s)`` in a thread."""
        clock = ServeClock()
        physics = SimPlant(
            PendulumParams(physics_substeps=50), clock=clock, start_angle_rad=start_angle_rad
        )
        served = emulator(
            device(physics, config, clock.now()),
            link=link,
            faults=faults,
            tcp_port=tcp_port,
            clock=clock,
        )
        port = served.open()
        stop = threading.Event()
        thread = threading.Thread(target=served.serve, args=(stop,), daemon=True)
        thread.start()
        running = Running(port, served, physics, thread)
        self._started.append((running, stop))
        return running

    def starter(
        self,
        emulator: type[Emulator],
        device: Callable[[Plant, Any, float], Any],
        default_config: Any,
        start_angle_rad: float = 3.14159,
    ) -> Callable[..., Running]:
        """``start(*, device_config, link, faults, tcp_port, start_angle_rad)`` for one driver."""

        def start(*, device_config: Any = None, **options: Any) -> Running:
            options.setdefault("start_angle_rad", start_angle_rad)
            return self.start(emulator, device, device_config or default_config, **options)

        return start

    def stop_all(self) -> None:
        for running, stop in self._started:
            stop.set()
            running.thread.join(timeout=5)
            running.emulator.close()
            running.physics.close()
