"""Fixtures: a vendor driver's emulator served in a background thread on a real pty."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from hardware.drivers import EmulatorOptions, get_driver, load
from tests.hardware.cli_runs import EmulatorProcess


@dataclass
class ServedEmulator:
    port: str
    stop: threading.Event
    thread: threading.Thread
    result: dict[str, Any] = field(default_factory=dict)

    def finish(self) -> str:
        self.stop.set()
        self.thread.join(timeout=5)
        return str(self.result.get("summary", ""))


StartDriverEmulator = Callable[..., ServedEmulator]


@pytest.fixture
def start_driver_emulator() -> Iterator[StartDriverEmulator]:
    """``start(driver, **EmulatorOptions fields)``: the driver's ``serve_emulator`` in a thread."""
    started: list[ServedEmulator] = []

    def start(driver: str, **options: Any) -> ServedEmulator:
        serve = load(get_driver(driver).emulator)
        ports: list[str] = []
        stop = threading.Event()
        result: dict[str, Any] = {}

        def target() -> None:
            result["summary"] = serve(EmulatorOptions(**options), stop, ports.append)

        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not ports and time.monotonic() < deadline and thread.is_alive():
            time.sleep(0.005)
        assert ports, "the emulator announced no port"
        served = ServedEmulator(ports[0], stop, thread, result)
        started.append(served)
        return served

    yield start
    for served in started:
        served.finish()


@pytest.fixture
def emulator_processes() -> Iterator[list[EmulatorProcess]]:
    """``emulate --driver X`` subprocesses a test started (append them); killed if still running."""
    started: list[EmulatorProcess] = []
    yield started
    for emu in started:
        if emu.proc.poll() is None:
            emu.proc.kill()
            emu.proc.wait()
