"""The end-of-run summary from bounded memory gives the figures summarize() gives from every row."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ddpg_control.runtime.run_statistics import (
    MIN_DURATION_S,
    RELATIVE_RESOLUTION,
    RunStatistics,
)
from ddpg_control.runtime.telemetry import (
    RunSummary,
    Stats,
    Telemetry,
    TelemetryRecorder,
    summarize,
)

STAGES = ("read_s", "infer_s", "write_s", "lateness_s")


def both_ways(rows: list[tuple[float, ...]], period_s: float) -> tuple[RunSummary, RunSummary]:
    """(streaming summary, summarize() of every row) for the same rows."""
    statistics, recorder = RunStatistics(), TelemetryRecorder()
    for time_s, angle, read, infer, write, late in rows:
        statistics.record(time_s, angle, read, infer, write, late)
        recorder.record(time_s, angle, 0.0, 0.0, 0.0, read, infer, write, late)
    return statistics.summary(2, period_s), summarize(recorder.freeze(), 2, period_s)


def assert_same_figures(streamed: RunSummary, exact: RunSummary) -> None:
    assert streamed.ticks == exact.ticks
    assert streamed.elapsed_s == exact.elapsed_s
    assert streamed.missed_deadlines == exact.missed_deadlines
    assert streamed.holding_upright == exact.holding_upright
    assert streamed.final_angle_rad == exact.final_angle_rad or (
        math.isnan(streamed.final_angle_rad) and math.isnan(exact.final_angle_rad)
    )
    for stage in ("lateness", "read", "infer", "write"):
        got: Stats = getattr(streamed, stage)
        want: Stats = getattr(exact, stage)
        assert got.max == want.max
        for q in ("p50", "p99"):
            tolerance = RELATIVE_RESOLUTION / 2 * abs(getattr(want, q)) + MIN_DURATION_S
            assert getattr(got, q) == pytest.approx(getattr(want, q), rel=0, abs=tolerance), (
                stage,
                q,
            )


def random_run(seed: int, ticks: int, hold_from_s: float) -> list[tuple[float, ...]]:
    rng = np.random.default_rng(seed)
    period_s = 0.001
    time_s = np.arange(ticks) * period_s
    angle = np.where(time_s < hold_from_s, rng.uniform(-4, 4, ticks), rng.uniform(-0.09, 0.09))
    timings = rng.lognormal(np.log(3e-5), 1.5, size=(ticks, 4))  # ~0.3 us .. 3 ms
    timings[rng.random((ticks, 4)) < 0.01] = 0.0  # some zeros, as a simulated clock gives
    return [(t, a, *d) for t, a, d in zip(time_s, angle, timings, strict=True)]


@pytest.mark.parametrize(
    ("ticks", "hold_from_s", "holding"),
    [
        (3000, 0.0, True),  # held throughout a run shorter than the window
        (9000, 2.0, True),  # held for the last 7 s
        (9000, 4.5, False),  # held for the last 4.5 s only
        (9000, 99.0, False),  # never held
    ],
)
def test_streamed_summary_equals_the_summary_of_every_row(
    ticks: int, hold_from_s: float, holding: bool
) -> None:
    streamed, exact = both_ways(random_run(ticks, ticks, hold_from_s), period_s=0.001)
    assert_same_figures(streamed, exact)
    assert exact.holding_upright == holding


@pytest.mark.parametrize(("tilted_at_s", "holding"), [(4.5, True), (5.0, False), (10.0, False)])
def test_the_hold_window_counts_its_first_reading(tilted_at_s: float, holding: bool) -> None:
    # Readings every 0.5 s up to 10 s; the window is [5 s, 10 s], both ends included.
    rows = [
        (0.5 * i, 0.5 if 0.5 * i == tilted_at_s else 0.0, 0.0, 0.0, 0.0, 0.0) for i in range(21)
    ]
    streamed, exact = both_ways(rows, period_s=0.5)
    assert streamed.holding_upright == exact.holding_upright == holding


@settings(max_examples=80, deadline=None)
@given(
    durations=st.lists(st.one_of(st.just(0.0), st.floats(1e-10, 30.0)), min_size=1, max_size=1200),
    angle=st.floats(-10.0, 10.0),
)
def test_percentiles_are_within_the_resolution_for_any_durations(
    durations: list[float], angle: float
) -> None:
    rows = [(0.01 * i, angle, d, d / 2, d * 3, d) for i, d in enumerate(durations)]
    streamed, exact = both_ways(rows, period_s=0.01)
    assert_same_figures(streamed, exact)


def test_a_simulated_clock_s_zero_timings_read_back_as_exact_zeros() -> None:
    streamed, _ = both_ways([(0.02 * i, 0.0, 0.0, 0.0, 0.0, 0.0) for i in range(5000)], 0.02)
    assert (
        streamed.lines()
        == summarize(
            Telemetry(
                {
                    name: np.zeros(5000) if name != "time_s" else 0.02 * np.arange(5000)
                    for name in ("time_s", "angle_rad", "velocity_rad_s", "torque_cmd_nm")
                    + ("torque_sent_nm", *STAGES)
                }
            ),
            2,
            0.02,
        ).lines()
    )
    assert streamed.lateness == Stats(0.0, 0.0, 0.0)


def test_an_empty_run_has_no_figures() -> None:
    streamed, exact = both_ways([], period_s=0.05)
    assert streamed.ticks == 0 and not streamed.holding_upright
    assert math.isnan(streamed.lateness.p99) and math.isnan(streamed.final_angle_rad)
    assert streamed.lines() == exact.lines()


def test_memory_does_not_grow_with_the_number_of_ticks() -> None:
    def peak_bytes(ticks: int) -> int:
        tracemalloc.start()
        statistics = RunStatistics()
        for i in range(ticks):
            statistics.record(i * 1e-3, 0.0, 1e-5, 2e-5, 3e-5, (i % 97) * 1e-6)
        statistics.summary(0, 1e-3)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak

    assert peak_bytes(100_000) < peak_bytes(10_000) + 100_000
