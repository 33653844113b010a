"""The tick feed: every row reaches the run's own sink first, then the outlet on a thread of
its own; an outlet that falls behind costs messages, never the loop's time."""

from __future__ import annotations

import json
import math
import threading
import time
from typing import Any

import pytest

from ddpg_control.runtime.contracts import JointState
from ddpg_control.runtime.control_loop import LoopConfig, LoopStatus, run_loop
from ddpg_control.runtime.errors import TelemetryError
from ddpg_control.runtime.safety import SafetyLimits
from ddpg_control.runtime.telemetry import COLUMNS, TelemetryRecorder
from ddpg_control.runtime.tick_feed import (
    STATUS_TOPIC,
    TICK_FIELDS,
    TICK_SCHEMA,
    TICK_TOPIC,
    FeedConfig,
    TickFeed,
    VelocityTap,
)
from ddpg_control.runtime.timing import SimulatedClock


class RecordingOutlet:
    """Keeps what it is given; ``gate`` (when set) makes every publish wait for it."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.messages: list[tuple[str, int, dict[str, Any]]] = []
        self.flushes = 0
        self.gate = gate

    def publish(self, topic: str, log_time_ns: int, data: bytes) -> None:
        if self.gate is not None:
            self.gate.wait()
        self.messages.append((topic, log_time_ns, json.loads(data)))

    def flush(self) -> None:
        self.flushes += 1

    def on(self, topic: str) -> list[dict[str, Any]]:
        return [m for t, _, m in self.messages if t == topic]


class SwingingPlant:
    """A joint that turns at 1 rad/s and reports no velocity (NaN), as an angle-only encoder."""

    max_torque_nm = 1.0

    def __init__(self, clock: SimulatedClock) -> None:
        self.clock = clock

    def read(self) -> JointState:
        t = self.clock.now()
        return JointState(angle_rad=math.pi - t, velocity_rad_s=math.nan, timestamp_s=t)

    def apply(self, torque_nm: float) -> None:
        pass

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass


def estimate(state: JointState) -> JointState:
    return JointState(state.angle_rad, -1.0, state.timestamp_s, state.status)


def big_policy(observation: Any) -> float:
    return 5.0  # beyond every limit here


big_policy.max_torque_nm = 10.0  # type: ignore[attr-defined]


def test_every_tick_reaches_the_sink_and_the_outlet_with_velocity_read_and_flags() -> None:
    clock = SimulatedClock()
    recorder, outlet = TelemetryRecorder(), RecordingOutlet()
    config = LoopConfig(period_s=0.01, duration_s=2.0, limits=SafetyLimits(max_torque_nm=0.5))
    tap = VelocityTap(estimate)
    feed = TickFeed(recorder, outlet, FeedConfig(0.5, 0.01, wait_when_behind=True), tap=tap).open()
    result = run_loop(
        SwingingPlant(clock),
        big_policy,
        clock,
        config,
        telemetry=feed,
        on_status=feed.on_status,
        observer=tap,
    )
    assert result.exit_code == 0
    rows = recorder.freeze()
    ticks = outlet.on(TICK_TOPIC)
    assert len(ticks) == len(rows) == 200
    assert set(ticks[0]) == set(TICK_FIELDS) == set(TICK_SCHEMA["properties"])
    for name in COLUMNS:  # as the CSV writes them
        assert [t[name] for t in ticks] == [float(f"{v:.9g}") for v in rows[name]]
    assert all(t["velocity_observed_rad_s"] is None for t in ticks)  # NaN: the plant has none
    assert all(t["velocity_rad_s"] == -1.0 for t in ticks)  # the estimator's
    assert all(t["torque_clipped"] and not t["slew_limited"] for t in ticks)
    statuses = outlet.on(STATUS_TOPIC)
    assert 6 <= len(statuses) <= 9  # every 0.25 s of run time
    assert statuses[-1]["rate_asked_hz"] == pytest.approx(100.0)
    assert statuses[-1]["rate_hz"] == pytest.approx(100.0, rel=0.05)
    assert outlet.flushes >= 4  # every 0.5 s of run time, then at close
    feed.finish("completed", [])
    assert outlet.on(STATUS_TOPIC)[-1]["state"] == "completed"
    stamps = [ns for topic, ns, _ in outlet.messages if topic == TICK_TOPIC]
    assert stamps == sorted(stamps) and stamps[1] - stamps[0] == 10_000_000


def test_a_stalled_outlet_drops_messages_and_never_holds_the_loop() -> None:
    gate = threading.Event()
    recorder, outlet = TelemetryRecorder(), RecordingOutlet(gate)
    feed = TickFeed(
        recorder, outlet, FeedConfig(1.0, 0.001, max_pending=100), complete_log="the log"
    ).open()
    started = time.perf_counter()
    for i in range(5000):
        feed.record(i * 0.001, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    took_s = time.perf_counter() - started
    assert took_s < 0.5  # the outlet never returned once: a waiting loop would hang here
    assert len(recorder) == 5000  # the primary record has every tick
    assert feed.ticks_dropped >= 5000 - 101
    gate.set()
    with pytest.raises(TelemetryError, match=r"the log misses \d+ of 5000 ticks and had 0 write"):
        feed.close()
    assert len(outlet.on(TICK_TOPIC)) == 5000 - feed.ticks_dropped


def test_an_outlet_that_fails_never_stops_the_run_and_close_says_so() -> None:
    class Broken(RecordingOutlet):
        def publish(self, topic: str, log_time_ns: int, data: bytes) -> None:
            raise OSError("disk full")

    clock = SimulatedClock()
    recorder = TelemetryRecorder()
    feed = TickFeed(
        recorder, Broken(), FeedConfig(1.0, 0.01, wait_when_behind=True), complete_log="the log"
    ).open()
    result = run_loop(
        SwingingPlant(clock),
        big_policy,
        clock,
        LoopConfig(0.01, 0.5),
        telemetry=feed,
        observer=estimate,
    )
    assert result.ticks == 50 and len(recorder) == 50
    assert "WARNING: the log misses 50 of 50 ticks and had 50 write errors" in result.message


def test_status_passes_on_to_the_status_line_and_counts_drops() -> None:
    shown: list[LoopStatus] = []
    outlet = RecordingOutlet()
    feed = TickFeed(TelemetryRecorder(), outlet, FeedConfig(1.0, 0.01), on_status=shown.append)
    feed.open()
    status = LoopStatus(1.0, 100, 2, 99.0, 1e-4, 0.1, 0.2)
    feed.on_status(status)
    feed.close()
    assert shown == [status]
    (message,) = outlet.on(STATUS_TOPIC)
    assert message["missed_deadlines"] == 2 and message["missed_percent"] == pytest.approx(
        100 * 2 / 102
    )
    assert message["link"] == {} and message["state"] == "running"
