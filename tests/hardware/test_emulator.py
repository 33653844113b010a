"""The shared emulator's speed: the device's clock, the physics it costs per request, and reply
latency against the C device in the same run."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator

import pytest

import sim.bullet_pendulum
from ddpg_control.runtime.errors import ConfigError
from hardware.drivers.ddpg.device import DdpgDevice, DdpgDeviceConfig
from hardware.drivers.ddpg.emulator import DdpgEmulator
from hardware.drivers.ddpg.plant import DdpgPlant
from hardware.drivers.ddpg.protocol import Arm, FrameDecoder, Query, State, Torque, encode
from hardware.emulator import ServeClock, freeze_startup_objects
from hardware.link import LinkConfig
from sim.params import PendulumParams
from sim.plant import SimPlant
from tests.hardware.c_device import host_device_binary
from tests.hardware.cli_runs import CLI, EmulatorProcess


class FakeTime:
    def __init__(self) -> None:
        self.now_s = 100.0

    def __call__(self) -> float:
        return self.now_s


def test_the_serve_clock_holds_one_instant_per_turn_on_a_grid_from_its_first_reading() -> None:
    fake = FakeTime()
    clock = ServeClock(0.001, time_source=fake)
    fake.now_s = 100.5
    assert clock.now() == 100.5  # the first reading starts the grid
    fake.now_s = 100.5037
    assert clock.now() == 100.5  # nothing moves until the next turn
    assert clock.latch() == 100.5037  # the device's watchdog and replies get real time
    assert clock.now() == pytest.approx(100.503) and clock.next_step_s() == pytest.approx(100.504)
    fake.now_s = 100.5049
    clock.latch()
    assert clock.now() == pytest.approx(100.504)
    with pytest.raises(ConfigError, match="time step"):
        ServeClock(0.0)


@pytest.fixture
def physics_steps(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """Counts PyBullet's whole and shorter steps (a shorter step sets its own time step)."""
    counts = {"steps": 0, "shorter": 0}
    pybullet = sim.bullet_pendulum.pybullet
    step, set_time_step = pybullet.stepSimulation, pybullet.setTimeStep

    def counting_step(**kwargs: int) -> None:
        counts["steps"] += 1
        step(**kwargs)

    def counting_time_step(dt: float, **kwargs: int) -> None:
        counts["shorter"] += 1
        set_time_step(dt, **kwargs)

    monkeypatch.setattr(pybullet, "stepSimulation", counting_step)
    monkeypatch.setattr(pybullet, "setTimeStep", counting_time_step)
    yield counts


def test_requests_cost_no_physics_of_their_own_and_answer_from_the_latest_step(
    physics_steps: dict[str, int],
) -> None:
    """At 200 Hz, each QUERY and TORQUE landing between two of the serve loop's 1 ms turns: the
    physics takes one whole step per millisecond, whatever the requests, never a shorter one."""
    fake = FakeTime()
    clock = ServeClock(0.001, time_source=fake)
    physics = SimPlant(PendulumParams(physics_substeps=50), clock=clock, start_angle_rad=0.3)
    emulator = DdpgEmulator(DdpgDevice(physics, DdpgDeviceConfig(), clock.now()), clock=clock)
    decoder = FrameDecoder()
    start_s = fake.now_s
    emulator.answer(encode(Arm(100, 2.0), 0), clock.latch())
    before = dict(physics_steps)
    ticks = 200
    for tick in range(ticks):
        for turn in range(5):  # the serve loop's turns, just after each grid point
            fake.now_s = start_s + tick * 0.005 + turn * 0.001 + 0.00002
            emulator.device.tick(clock.latch())
            if turn == 2:  # the host's requests, 0.37 ms after a turn
                fake.now_s += 0.00037
                reply = emulator.answer(encode(Query(), 2 * tick + 1), clock.latch())
                fake.now_s += 0.00004
                emulator.answer(encode(Torque(0.2), 2 * tick + 2), clock.latch())
                (packet,) = decoder.feed(reply[0])
                assert isinstance(packet.message, State)
                # the state of the latest whole step, which the host's read also sees
                assert packet.message.velocity_rad_s == pytest.approx(
                    physics.read().velocity_rad_s, rel=1e-6
                )
    assert physics_steps["shorter"] == before["shorter"]
    grid_points = round((fake.now_s - start_s) // 0.001)  # from the clock's first reading
    assert physics_steps["steps"] - before["steps"] == grid_points == ticks * 5 - 1
    physics.close()


def test_freeze_startup_objects_keeps_them_out_of_later_collections() -> None:
    try:
        freeze_startup_objects()
        assert gc.get_freeze_count() > 1000
    finally:
        gc.unfreeze()


def test_emulate_freezes_its_startup_objects_before_it_announces_the_port(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import hardware.emulator
    from ddpg_control.cli.main import main

    events: list[str] = []
    monkeypatch.setattr(  # what stdout holds when it is called: the port is not out yet
        hardware.emulator,
        "freeze_startup_objects",
        lambda: events.append("gc:" + capsys.readouterr().out),
    )
    monkeypatch.setattr("signal.signal", lambda *_: None)  # pytest keeps its own handlers
    assert main(["emulate", "--duration-s", "0.05"]) == 0
    events.append(capsys.readouterr().out.splitlines()[0])
    assert events[0] == "gc:" and events[1].startswith("/dev/")


def _missing_replies(plants: dict[str, DdpgPlant], requests: int) -> dict[str, int]:
    """``requests`` QUERY + TORQUE ticks at 200 Hz to every plant in turn (the same moments)."""
    before = {name: plant.stats.missing_replies for name, plant in plants.items()}
    deadline = time.perf_counter()
    for _ in range(requests):
        deadline += 0.005
        time.sleep(max(0.0, deadline - time.perf_counter()))
        for plant in plants.values():
            plant.read()
            plant.apply(0.0)
    return {name: plant.stats.missing_replies - before[name] for name in plants}


def test_the_python_emulator_misses_replies_at_200_hz_no_more_than_the_c_device() -> None:
    """The same host asks both devices at the same moments, with ``run --device --rate-hz 200``'s
    2.5 ms reply timeout: replies missing from the Python emulator stay within a small margin of
    the C device's, whatever the machine's load does to both."""
    options = ("--start-angle-rad", "0")
    python = EmulatorProcess([*CLI, "emulate"], *options)
    c = EmulatorProcess([str(host_device_binary())], *options)
    config = LinkConfig(
        reply_timeout_s=0.0025,
        max_missed_replies=10_000,
        stuck_sensor_s=0.0,
        watchdog_timeout_s=1.0,  # a loaded machine's stall is not what this measures
    )
    try:
        with DdpgPlant(python.port, config) as python_plant, DdpgPlant(c.port, config) as c_plant:
            plants = {"python": python_plant, "c": c_plant}
            _missing_replies(plants, 20)  # both warm
            missing = _missing_replies(plants, 300)
    finally:
        python.finish()
        c.finish()
    assert missing["python"] <= 2 * missing["c"] + 3, missing
