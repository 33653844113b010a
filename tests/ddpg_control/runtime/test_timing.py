import gc
import math
import os

import pytest

from ddpg_control.runtime.contracts import Clock
from ddpg_control.runtime.errors import ConfigError
from ddpg_control.runtime.timing import MonotonicClock, SimulatedClock, Ticker, setup_realtime


def test_both_clocks_implement_the_clock_protocol() -> None:
    assert isinstance(MonotonicClock(), Clock)
    assert isinstance(SimulatedClock(), Clock)


def test_simulated_clock_sleep_jumps_to_the_deadline_and_never_goes_back() -> None:
    clock = SimulatedClock(start_s=1.0)
    clock.sleep_until(3.5)
    assert clock.now() == 3.5
    clock.sleep_until(2.0)
    assert clock.now() == 3.5
    clock.advance(0.25)
    assert clock.now() == 3.75


@pytest.mark.parametrize("bad", [-0.1, math.nan, math.inf])
def test_simulated_clock_refuses_bad_advance(bad: float) -> None:
    with pytest.raises(ConfigError, match="advance"):
        SimulatedClock().advance(bad)


def test_monotonic_clock_never_returns_before_the_deadline() -> None:
    clock = MonotonicClock()
    for wait_s in (0.0, 0.0001, 0.002, 0.004):
        deadline = clock.now() + wait_s
        clock.sleep_until(deadline)
        assert clock.now() >= deadline


def test_monotonic_clock_returns_at_once_for_a_past_deadline() -> None:
    clock = MonotonicClock(spin_s=0.0)
    before = clock.now()
    clock.sleep_until(before - 10.0)
    assert clock.now() - before < 1.0


def test_ticker_keeps_an_absolute_grid_without_drift() -> None:
    clock = SimulatedClock()
    ticker = Ticker(clock, period_s=0.001)
    for _ in range(100_000):
        tick = ticker.wait()
        clock.advance(0.0004)  # work that takes 40% of the period
    assert tick.index == 99_999
    assert tick.deadline_s == pytest.approx(99.999, abs=1e-9)
    assert ticker.missed == 0


def test_ticker_skips_missed_deadlines_instead_of_bursting() -> None:
    clock = SimulatedClock()
    ticker = Ticker(clock, period_s=0.01)
    starts = []
    for i in range(10):
        tick = ticker.wait()
        starts.append(tick.started_s)
        if i == 3:
            clock.advance(0.037)  # tick 3 at 0.03 ends at 0.067: 0.04, 0.05, 0.06 are lost
    assert ticker.missed == 3
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert min(gaps) >= 0.01 - 1e-12  # never two ticks closer than a period: no burst
    assert starts[4] == pytest.approx(0.07)
    assert ticker.ticks == 10


def test_ticker_runs_a_slightly_late_tick_late_instead_of_skipping_it() -> None:
    clock = SimulatedClock()
    ticker = Ticker(clock, period_s=0.01)
    ticker.wait()
    clock.advance(0.0104)  # 0.4 ms past the next deadline: within half a period
    tick = ticker.wait()
    assert ticker.missed == 0
    assert tick.index == 1
    assert tick.lateness_s == pytest.approx(0.0004)
    clock.advance(0.0151)  # 5.1 ms past the next deadline: beyond half a period
    tick = ticker.wait()
    assert ticker.missed == 1
    assert tick.index == 3
    assert tick.lateness_s == 0.0


def test_ticker_with_zero_tolerance_skips_any_late_deadline() -> None:
    clock = SimulatedClock()
    ticker = Ticker(clock, period_s=0.01, tolerance_s=0.0)
    ticker.wait()
    clock.advance(0.0100001)
    tick = ticker.wait()
    assert ticker.missed == 1
    assert tick.index == 2


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf])
def test_ticker_refuses_a_bad_period(bad: float) -> None:
    with pytest.raises(ConfigError, match="period_s"):
        Ticker(SimulatedClock(), period_s=bad)


@pytest.mark.parametrize("bad", [-0.001, 0.01, math.nan])
def test_ticker_refuses_a_bad_tolerance(bad: float) -> None:
    with pytest.raises(ConfigError, match="tolerance_s"):
        Ticker(SimulatedClock(), period_s=0.01, tolerance_s=bad)


def test_setup_realtime_reports_what_it_got_and_restores_everything() -> None:
    affinity = os.sched_getaffinity(0)
    gc_enabled = gc.isenabled()
    with setup_realtime(cpu=min(affinity)) as report:
        assert report.gc_frozen
        assert not gc.isenabled()
        if report.pinned_cpu is not None:
            assert os.sched_getaffinity(0) == {report.pinned_cpu}
        text = report.describe()
        assert text.startswith("realtime: ")
        if report.fifo_priority is None:
            assert any("SCHED_FIFO" in note for note in report.notes)
    assert os.sched_getaffinity(0) == affinity
    assert gc.isenabled() == gc_enabled
    assert os.sched_getscheduler(0) == os.SCHED_OTHER
