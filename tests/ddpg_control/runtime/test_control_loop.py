"""The control loop, in virtual time, against a small pendulum plant of our own.

The plant is a real (if simple) pendulum: it integrates Pendulum-v1's dynamics up to the
clock's time on every read, holding the last torque (zero-order hold), and records every
torque it is given. Faults, NaNs and slow reads are switched on at chosen times.
"""

from __future__ import annotations

import math
import os
import signal
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ddpg_control.runtime.contracts import JointState, Observation, Plant
from ddpg_control.runtime.control_loop import (
    ExitReason,
    LoopConfig,
    LoopStatus,
    StopRequest,
    run_loop,
    stop_on_signals,
)
from ddpg_control.runtime.errors import ConfigError, PlantError, TelemetryError
from ddpg_control.runtime.safety import SafetyLimits
from ddpg_control.runtime.telemetry import COLUMNS, Telemetry, TelemetryRecorder
from ddpg_control.runtime.telemetry_writer import TelemetryWriter
from ddpg_control.runtime.timing import SimulatedClock


class Pendulum(Plant):
    def __init__(
        self,
        clock: SimulatedClock,
        max_torque_nm: float = 2.0,
        angle_rad: float = math.pi,
        fault_at_s: float | None = None,
        status_at_s: float | None = None,
        nan_at_s: float | None = None,
        slow_read_at_s: float | None = None,
    ) -> None:
        self.clock = clock
        self._max_torque_nm = max_torque_nm
        self.angle_rad, self.velocity_rad_s = angle_rad, 0.0
        self.fault_at_s, self.status_at_s = fault_at_s, status_at_s
        self.nan_at_s, self.slow_read_at_s = nan_at_s, slow_read_at_s
        self.torque_nm = 0.0
        self.applied: list[float] = []
        self.closed = False
        self._t = clock.now()

    @property
    def max_torque_nm(self) -> float:
        return self._max_torque_nm

    def read(self) -> JointState:
        now = self.clock.now()
        while self._t < now:
            dt = min(0.001, now - self._t)
            acc = 15.0 * math.sin(self.angle_rad) + 3.0 * self.torque_nm
            self.velocity_rad_s += acc * dt
            self.angle_rad += self.velocity_rad_s * dt
            self._t += dt
        if self.fault_at_s is not None and now >= self.fault_at_s:
            raise PlantError("driver reports over-current")
        if self.slow_read_at_s is not None and now >= self.slow_read_at_s:
            self.slow_read_at_s = None
            self.clock.advance(0.035)
        angle = math.nan if self.nan_at_s is not None and now >= self.nan_at_s else self.angle_rad
        status = 0x4 if self.status_at_s is not None and now >= self.status_at_s else 0
        return JointState(angle, self.velocity_rad_s, now, status)

    def apply(self, torque_nm: float) -> None:
        assert not self.closed, "torque written after close"
        self.torque_nm = torque_nm
        self.applied.append(torque_nm)

    def stop(self) -> None:
        self.apply(0.0)

    def close(self) -> None:
        self.stop()
        self.closed = True


class LinearPolicy:
    """torque = gains . obs (+ side effects at a chosen call, to inject failures)."""

    def __init__(self, gains: list[float], max_torque_nm: float = 2.0, hook=None) -> None:  # type: ignore[no-untyped-def]
        self.gains = np.asarray(gains, dtype=np.float32)
        self._max_torque_nm = max_torque_nm
        self.calls = 0
        self.hook = hook

    @property
    def max_torque_nm(self) -> float:
        return self._max_torque_nm

    def __call__(self, observation: Observation) -> float:
        self.calls += 1
        if self.hook is not None:
            override = self.hook(self.calls)
            if override is not None:
                return float(override)
        return float(self.gains @ observation)


SWING = [0.0, -5.0, -1.0]  # pushes hard; the safety layer clips it


def run(plant: Pendulum, policy: LinearPolicy, **kwargs):  # type: ignore[no-untyped-def]
    config = LoopConfig(
        period_s=kwargs.pop("period_s", 0.02),
        duration_s=kwargs.pop("duration_s", 2.0),
        limits=kwargs.pop("limits", SafetyLimits()),
        warm_up_calls=kwargs.pop("warm_up_calls", 0),
    )
    return run_loop(plant, policy, plant.clock, config, **kwargs)


def assert_ended_at_zero(plant: Pendulum) -> None:
    assert plant.applied[-1] == 0.0
    assert plant.torque_nm == 0.0
    assert plant.closed


def test_completed_run_has_every_tick_and_ends_at_zero_torque() -> None:
    plant = Pendulum(SimulatedClock(), angle_rad=2.5)
    result = run(plant, LinearPolicy(SWING))
    assert result.reason is ExitReason.COMPLETED and result.exit_code == 0
    assert result.ticks == 100 and result.missed_deadlines == 0
    assert len(result.telemetry) == 100
    assert_ended_at_zero(plant)
    assert max(abs(t) for t in plant.applied[:-2]) > 1.0  # it really drove the plant
    np.testing.assert_allclose(result.telemetry["time_s"], np.arange(100) * 0.02, atol=1e-9)
    np.testing.assert_array_equal(result.telemetry["torque_sent_nm"], plant.applied[:100])


def test_warm_up_asks_the_policy_before_the_first_tick_without_touching_the_plant() -> None:
    plant = Pendulum(SimulatedClock(), angle_rad=2.5)
    policy = LinearPolicy(SWING)
    result = run(plant, policy, warm_up_calls=3, duration_s=0.2)
    assert policy.calls == 3 + result.ticks
    assert len(plant.applied) == result.ticks + 2  # the ticks, then stop() and close()


def test_ctrl_c_inside_a_tick_ends_at_zero_torque() -> None:
    def hook(call: int) -> None:
        if call == 30:
            raise KeyboardInterrupt

    plant = Pendulum(SimulatedClock())
    result = run(plant, LinearPolicy(SWING, hook=hook))
    assert result.reason is ExitReason.INTERRUPTED and result.exit_code == 130
    assert result.ticks == 29  # the interrupted tick did not complete
    assert_ended_at_zero(plant)


def test_stop_request_from_the_status_callback_ends_after_the_tick() -> None:
    stop = StopRequest()
    seen: list[LoopStatus] = []

    def on_status(status: LoopStatus) -> None:
        seen.append(status)
        if status.elapsed_s > 1.0:
            stop.request()

    plant = Pendulum(SimulatedClock())
    result = run(plant, LinearPolicy(SWING), stop=stop, on_status=on_status, duration_s=None)
    assert result.reason is ExitReason.INTERRUPTED
    assert 1.0 < result.ticks * 0.02 < 1.3
    assert seen[0].rate_hz == pytest.approx(50.0)
    assert all(s.lateness_p99_s == 0.0 for s in seen)
    assert_ended_at_zero(plant)


def test_sigterm_ends_the_run_at_zero_torque() -> None:
    def hook(call: int) -> None:
        if call == 20:
            os.kill(os.getpid(), signal.SIGTERM)

    plant = Pendulum(SimulatedClock())
    stop = StopRequest()
    with stop_on_signals(stop):
        result = run(plant, LinearPolicy(SWING, hook=hook), stop=stop, duration_s=None)
    assert result.reason is ExitReason.TERMINATED and result.exit_code == 143
    assert result.ticks == 20
    assert "SIGTERM" in result.message
    assert_ended_at_zero(plant)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_an_exception_in_the_policy_ends_at_zero_torque() -> None:
    def hook(call: int) -> None:
        if call == 7:
            raise RuntimeError("onnxruntime exploded")

    plant = Pendulum(SimulatedClock())
    result = run(plant, LinearPolicy(SWING, hook=hook))
    assert result.reason is ExitReason.ERROR and result.exit_code == 1
    assert "onnxruntime exploded" in result.message
    assert isinstance(result.error, RuntimeError)
    assert_ended_at_zero(plant)


def test_a_plant_fault_ends_at_zero_torque() -> None:
    plant = Pendulum(SimulatedClock(), fault_at_s=0.5)
    result = run(plant, LinearPolicy(SWING))
    assert result.reason is ExitReason.PLANT_FAULT and result.exit_code == 3
    assert "over-current" in result.message
    assert result.ticks == 25
    assert_ended_at_zero(plant)


def test_a_fault_status_bit_ends_at_zero_torque() -> None:
    plant = Pendulum(SimulatedClock(), status_at_s=0.3)
    result = run(plant, LinearPolicy(SWING))
    assert result.reason is ExitReason.PLANT_FAULT
    assert "0x4" in result.message
    assert_ended_at_zero(plant)


def test_a_nan_reading_stops_the_run_before_the_policy_sees_it() -> None:
    plant = Pendulum(SimulatedClock(), nan_at_s=0.4)
    policy = LinearPolicy(SWING)
    result = run(plant, policy)
    assert result.reason is ExitReason.SAFETY_STOP and result.exit_code == 4
    assert policy.calls == 20
    assert all(math.isfinite(t) for t in plant.applied)
    assert_ended_at_zero(plant)


def test_a_nan_torque_stops_the_run_and_never_reaches_the_plant() -> None:
    plant = Pendulum(SimulatedClock())
    result = run(plant, LinearPolicy(SWING, hook=lambda call: math.nan if call == 12 else None))
    assert result.reason is ExitReason.SAFETY_STOP
    assert "non-finite torque" in result.message
    assert len(plant.applied) == 11 + 2  # 11 good ticks, then stop() and close()
    assert all(math.isfinite(t) for t in plant.applied)
    assert_ended_at_zero(plant)


def test_leaving_the_velocity_envelope_stops_the_run() -> None:
    plant = Pendulum(SimulatedClock(), max_torque_nm=50.0)
    policy = LinearPolicy([0.0, 0.0, 0.0], max_torque_nm=50.0, hook=lambda call: 50.0)
    result = run(plant, policy, limits=SafetyLimits(max_velocity_rad_s=10.0))
    assert result.reason is ExitReason.SAFETY_STOP
    assert "envelope" in result.message
    assert_ended_at_zero(plant)


def test_a_slow_read_skips_deadlines_and_is_recorded_as_late() -> None:
    plant = Pendulum(SimulatedClock(), slow_read_at_s=0.5)
    result = run(plant, LinearPolicy(SWING))
    assert result.reason is ExitReason.COMPLETED
    assert result.missed_deadlines == 1  # the 35 ms read overran the next deadline by 15 ms
    assert result.ticks == 99
    read_s = result.telemetry["read_s"]
    assert read_s.max() == pytest.approx(0.035)
    times = result.telemetry["time_s"]
    assert np.diff(times).min() >= 0.02 - 1e-9  # skipped, not burst
    summary = result.summary()
    assert summary.missed_deadlines == 1 and summary.ticks == 99
    assert summary.read.max == pytest.approx(0.035)


def test_loop_config_refuses_bad_values() -> None:
    for kwargs in ({"period_s": 0.0}, {"period_s": 0.01, "duration_s": -1.0}):
        with pytest.raises(ConfigError):
            LoopConfig(**kwargs)  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    gains=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=3, max_size=3),
    bias=st.floats(-1e9, 1e9, allow_nan=False),
    policy_limit=st.floats(0.01, 10.0),
    plant_limit=st.floats(0.01, 10.0),
    user_limit=st.none() | st.floats(0.01, 10.0),
    slew=st.none() | st.floats(0.1, 1000.0),
    start_angle=st.floats(-math.pi, math.pi),
)
def test_no_torque_beyond_the_limit_ever_reaches_the_plant(
    gains: list[float],
    bias: float,
    policy_limit: float,
    plant_limit: float,
    user_limit: float | None,
    slew: float | None,
    start_angle: float,
) -> None:
    period_s = 0.02
    plant = Pendulum(SimulatedClock(), max_torque_nm=plant_limit, angle_rad=start_angle)
    policy = LinearPolicy(
        gains, max_torque_nm=policy_limit, hook=lambda call: bias if call % 7 == 0 else None
    )
    limits = SafetyLimits(
        max_torque_nm=user_limit, slew_limit_nm_per_s=slew, max_velocity_rad_s=1e9
    )
    result = run(plant, policy, limits=limits, duration_s=0.6, period_s=period_s)
    limit = min(policy_limit, plant_limit, user_limit or math.inf)
    assert result.torque_limit_nm == limit
    assert max(abs(t) for t in plant.applied) <= limit
    if slew is not None:
        driven = [0.0, *plant.applied[:-2]]
        steps = np.abs(np.diff(driven))
        assert steps.max() <= slew * period_s * (1 + 1e-9)
    assert_ended_at_zero(plant)


class Still:
    """The cheapest plant: never moves; records when it was closed."""

    max_torque_nm = 2.0

    def __init__(self, clock: SimulatedClock) -> None:
        self.clock = clock
        self.closed = False

    def read(self) -> JointState:
        return JointState(0.0, 0.0, self.clock.now(), 0)

    def apply(self, torque_nm: float) -> None:
        pass

    def stop(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


class WatchingSink(TelemetryRecorder):
    """An in-memory sink that notes whether the plant was closed when the sink was closed."""

    def __init__(self, plant: Pendulum, fail_on_close: bool = False) -> None:
        super().__init__()
        self.plant = plant
        self.fail_on_close = fail_on_close
        self.plant_closed_at_close: bool | None = None

    def close(self) -> None:
        self.plant_closed_at_close = self.plant.closed
        if self.fail_on_close:
            raise TelemetryError("telemetry run.csv is incomplete: disk full")


def test_a_file_sink_gets_every_row_and_is_closed_by_the_loop(tmp_path: Path) -> None:
    kept = run(Pendulum(SimulatedClock(), angle_rad=2.5), LinearPolicy(SWING), duration_s=3.0)
    writer = TelemetryWriter(tmp_path / "run.csv", chunk_s=0.5, wait_when_behind=True).open()
    streamed = run(
        Pendulum(SimulatedClock(), angle_rad=2.5),
        LinearPolicy(SWING),
        duration_s=3.0,
        telemetry=writer,
    )
    assert streamed.telemetry is None  # the rows went to the file, not to memory
    assert kept.telemetry is not None and streamed.ticks == kept.ticks == 150
    from_file = Telemetry.read_csv(tmp_path / "run.csv")  # complete: run_loop closed it
    for name in COLUMNS:
        np.testing.assert_allclose(from_file[name], kept.telemetry[name], rtol=1e-8, atol=0)
    assert streamed.summary().lines() == kept.summary().lines()


@pytest.mark.parametrize(
    ("plant_options", "hook", "reason"),
    [
        ({}, None, ExitReason.COMPLETED),
        ({"fault_at_s": 0.5}, None, ExitReason.PLANT_FAULT),
        ({"nan_at_s": 0.5}, None, ExitReason.SAFETY_STOP),
        ({}, lambda call: 1 / 0 if call == 25 else None, ExitReason.ERROR),
        (
            {},
            lambda call: _raise(KeyboardInterrupt()) if call == 25 else None,
            ExitReason.INTERRUPTED,
        ),
    ],
)
def test_the_sink_is_closed_after_the_plant_on_every_exit_path(
    plant_options: dict[str, float],
    hook,
    reason: ExitReason,  # type: ignore[no-untyped-def]
) -> None:
    plant = Pendulum(SimulatedClock(), **plant_options)
    sink = WatchingSink(plant)
    result = run(plant, LinearPolicy(SWING, hook=hook), telemetry=sink)
    assert result.reason is reason
    assert sink.plant_closed_at_close is True
    assert len(sink) == result.ticks > 0  # every row recorded before the end is in the sink
    assert_ended_at_zero(plant)


def _raise(exc: BaseException) -> None:
    raise exc


def test_a_sink_that_fails_to_close_still_gives_the_run_s_result() -> None:
    plant = Pendulum(SimulatedClock())
    result = run(plant, LinearPolicy(SWING), telemetry=WatchingSink(plant, fail_on_close=True))
    assert result.reason is ExitReason.COMPLETED and result.ticks == 100
    assert "WARNING: telemetry run.csv is incomplete: disk full" in result.message
    assert_ended_at_zero(plant)


def test_memory_stays_flat_over_a_long_run_streamed_to_a_file(tmp_path: Path) -> None:
    def peak_bytes(ticks: int) -> int:
        clock = SimulatedClock()
        path = tmp_path / f"{ticks}.csv"
        writer = TelemetryWriter(path, wait_when_behind=True).open()
        config = LoopConfig(period_s=0.001, duration_s=ticks * 0.001, warm_up_calls=0)
        tracemalloc.start()
        result = run_loop(
            Still(clock), LinearPolicy([0.0, 0.0, 0.0]), clock, config, telemetry=writer
        )
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert result.ticks == ticks
        assert len(path.read_text().splitlines()) == ticks + 1
        return peak

    short, long = peak_bytes(20_000), peak_bytes(200_000)
    # Keeping the rows would cost 72 bytes a tick: 13 MB more for the long run.
    assert long < short + 1_000_000, (short, long)
