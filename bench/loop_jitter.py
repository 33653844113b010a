"""Loop timing: ddpg-control's scheduler against a plain ``time.sleep(period)`` loop.

Both loops do the same work every tick (``--work-us`` microseconds of CPU, standing in for
read + inference + write) at 20, 100 and 1000 Hz, one after the other in the same process:

* ours: :class:`ddpg_control.runtime.timing.Ticker` on
  :class:`ddpg_control.runtime.timing.MonotonicClock`
  (absolute deadlines, sleep then spin the last ``--spin-us``, late ticks skipped);
* peer: ``while True: work(); time.sleep(period)``, the loop most scripts write.

Reported per loop and rate: lateness (tick start minus its deadline on the ideal grid
``start + k * period``) p50/p99/max, deadline misses (deadlines that passed without a tick,
or, for ours, were skipped because the tick would have started over half a period late),
period jitter (|start-to-start interval - period|) p99, and the drift accumulated by the end
(last tick's start minus its grid time), plus CPU time used per second.

    .venv/bin/python bench/loop_jitter.py                # 60 s per loop and rate (~6 min)
    .venv/bin/python bench/loop_jitter.py --seconds 10   # quicker
"""

from __future__ import annotations

import argparse
import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ddpg_control.runtime.timing import MonotonicClock, Ticker, setup_realtime


def make_work(work_us: float) -> Callable[[], None]:
    work_s = work_us * 1e-6

    def work() -> None:
        end = time.perf_counter() + work_s
        while time.perf_counter() < end:
            pass

    return work


@dataclass(frozen=True)
class Result:
    loop: str
    rate_hz: float
    ticks: int
    missed: int
    lateness_s: np.ndarray
    period_jitter_s: np.ndarray
    drift_s: float
    cpu_fraction: float

    def row(self) -> str:
        p50, p99 = np.percentile(self.lateness_s, [50, 99])
        scheduled = self.ticks + self.missed
        return (
            f"| {self.loop} | {self.rate_hz:g} | {self.ticks} | {self.missed} "
            f"({100.0 * self.missed / scheduled:.3f}%) | {p50 * 1e6:.1f} | {p99 * 1e6:.1f} | "
            f"{self.lateness_s.max() * 1e6:.1f} | "
            f"{np.percentile(self.period_jitter_s, 99) * 1e6:.1f} | "
            f"{self.drift_s * 1e3:+.3f} | {100 * self.cpu_fraction:.0f}% |"
        )


def run_ours(rate_hz: float, seconds: float, work: Callable[[], None], spin_s: float) -> Result:
    period_s = 1.0 / rate_hz
    clock = MonotonicClock(spin_s=spin_s)
    ticker = Ticker(clock, period_s, start_s=clock.now() + period_s)
    end_s = ticker.start_s + seconds
    starts, lateness = [], []
    cpu0 = time.process_time()
    while ticker.next_deadline_s < end_s:
        tick = ticker.wait()
        starts.append(tick.started_s)
        lateness.append(tick.lateness_s)
        work()
    cpu = time.process_time() - cpu0
    starts_a = np.asarray(starts)
    return Result(
        loop="ours (deadline + spin)",
        rate_hz=rate_hz,
        ticks=len(starts),
        missed=ticker.missed,
        lateness_s=np.asarray(lateness),
        period_jitter_s=np.abs(np.diff(starts_a) - period_s),
        drift_s=float(lateness[-1]),
        cpu_fraction=cpu / seconds,
    )


def run_sleep(rate_hz: float, seconds: float, work: Callable[[], None]) -> Result:
    period_s = 1.0 / rate_hz
    start_s = time.perf_counter()
    end_s = start_s + seconds
    starts = []
    cpu0 = time.process_time()
    while True:
        now = time.perf_counter()
        if now >= end_s:
            break
        starts.append(now)
        work()
        time.sleep(period_s)
    cpu = time.process_time() - cpu0
    starts_a = np.asarray(starts)
    grid = start_s + np.arange(len(starts_a)) * period_s
    deadlines_passed = math.floor((starts_a[-1] - start_s) / period_s) + 1
    return Result(
        loop="plain time.sleep(period)",
        rate_hz=rate_hz,
        ticks=len(starts_a),
        missed=max(0, deadlines_passed - len(starts_a)),
        lateness_s=starts_a - grid,
        period_jitter_s=np.abs(np.diff(starts_a) - period_s),
        drift_s=float(starts_a[-1] - grid[-1]),
        cpu_fraction=cpu / seconds,
    )


HEADER = (
    "| loop | rate Hz | ticks | deadline misses | lateness p50 us | p99 us | max us | "
    "period jitter p99 us | drift at end ms | CPU |\n"
    "|---|---|---|---|---|---|---|---|---|---|"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="per loop and rate")
    parser.add_argument("--rates", default="20,100,1000", help="comma-separated, Hz")
    parser.add_argument("--work-us", type=float, default=100.0, help="work per tick, us")
    parser.add_argument("--spin-us", type=float, default=300.0, help="our spin tail, us")
    parser.add_argument("--realtime", action="store_true", help="SCHED_FIFO/pin/gc if allowed")
    args = parser.parse_args()
    work = make_work(args.work_us)
    rates = [float(r) for r in args.rates.split(",")]
    with setup_realtime() if args.realtime else contextlib.nullcontext() as report:
        if report is not None:
            print(report.describe())
        print(f"{args.seconds:g} s per loop and rate, {args.work_us:g} us of work per tick\n")
        print(HEADER, flush=True)
        for rate in rates:
            print(run_ours(rate, args.seconds, work, args.spin_us * 1e-6).row(), flush=True)
            print(run_sleep(rate, args.seconds, work).row(), flush=True)


if __name__ == "__main__":
    main()
