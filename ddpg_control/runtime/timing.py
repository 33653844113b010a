"""Clocks and the fixed-rate scheduler of the control loop.

Two clocks implement :class:`ddpg_control.runtime.contracts.Clock`:

* :class:`MonotonicClock`: wall time from ``time.perf_counter``; ``sleep_until`` sleeps for most
  of the wait and spins (busy-waits) the last ``spin_s``, because ``time.sleep`` alone wakes up
  tens to hundreds of microseconds late.
* :class:`SimulatedClock`: virtual time; ``sleep_until`` jumps to the deadline at once, so a
  15 s run of the real loop on the simulated plant takes a fraction of a second in tests.

:class:`Ticker` keeps absolute deadlines (``deadline += period``), never ``sleep(period)``
after the work, so the loop does not drift. A tick that would start more than half a period
late is counted as missed and skipped: the loop never bursts to catch up.

:func:`setup_realtime` asks the OS for what helps a soft real-time loop (SCHED_FIFO, a pinned
CPU, a frozen garbage collector) and reports what it got; none of it is required.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import logging
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from ddpg_control.runtime.contracts import Clock
from ddpg_control.runtime.errors import ConfigError

log = logging.getLogger(__name__)

#: Default busy-wait tail of MonotonicClock.sleep_until: covers the usual oversleep of
#: time.sleep() on Linux (timer slack 50 us plus scheduler wake-up latency).
DEFAULT_SPIN_S = 0.0003


class MonotonicClock:
    """Real monotonic time in seconds; absolute-deadline sleep with a short spin at the end."""

    def __init__(self, spin_s: float = DEFAULT_SPIN_S) -> None:
        if not (math.isfinite(spin_s) and spin_s >= 0.0):
            raise ConfigError(f"spin_s must be a finite number >= 0, got {spin_s!r}")
        self.spin_s = spin_s

    def now(self) -> float:
        return time.perf_counter()

    def sleep_until(self, deadline_s: float) -> None:
        remaining_s = deadline_s - time.perf_counter()
        if remaining_s > self.spin_s:
            time.sleep(remaining_s - self.spin_s)
        while time.perf_counter() < deadline_s:
            pass


class SimulatedClock:
    """Virtual time: ``sleep_until`` jumps ahead at once; ``advance`` models work taking time."""

    def __init__(self, start_s: float = 0.0) -> None:
        if not math.isfinite(start_s):
            raise ConfigError(f"start_s must be finite, got {start_s!r}")
        self._now_s = start_s

    def now(self) -> float:
        return self._now_s

    def sleep_until(self, deadline_s: float) -> None:
        if deadline_s > self._now_s:
            self._now_s = deadline_s

    def advance(self, duration_s: float) -> None:
        """Let ``duration_s`` of virtual time pass (e.g. a slow read in a test)."""
        if not (math.isfinite(duration_s) and duration_s >= 0.0):
            raise ConfigError(f"can only advance by a finite duration >= 0, got {duration_s!r}")
        self._now_s += duration_s


@dataclass(frozen=True, slots=True)
class Tick:
    """One scheduled tick: its index on the deadline grid, its deadline and when it started."""

    index: int
    deadline_s: float
    started_s: float

    @property
    def lateness_s(self) -> float:
        return self.started_s - self.deadline_s


class Ticker:
    """Fixed-rate scheduler on an absolute deadline grid ``start_s + index * period_s``.

    ``wait()`` returns the next tick. A tick may start late by up to ``tolerance_s`` (default:
    half a period); if the caller arrives later than that (the previous tick overran, or the OS
    woke us late), that deadline is counted in ``missed`` and skipped, as is every other one too
    far in the past, and the ticker goes on with the next deadline it can still keep. So a slow
    tick costs ticks, never a burst of back-to-back ticks.
    """

    def __init__(
        self,
        clock: Clock,
        period_s: float,
        start_s: float | None = None,
        tolerance_s: float | None = None,
    ) -> None:
        if not (math.isfinite(period_s) and period_s > 0.0):
            raise ConfigError(f"period_s must be a finite number > 0, got {period_s!r}")
        if tolerance_s is None:
            tolerance_s = period_s / 2.0
        if not (math.isfinite(tolerance_s) and 0.0 <= tolerance_s < period_s):
            raise ConfigError(
                f"tolerance_s must be >= 0 and below the period ({period_s}), got {tolerance_s!r}"
            )
        self._clock = clock
        self.period_s = period_s
        self.tolerance_s = tolerance_s
        self._start_s = clock.now() if start_s is None else start_s
        self._next_index = 0
        self.missed = 0
        self.ticks = 0

    @property
    def start_s(self) -> float:
        return self._start_s

    @property
    def next_deadline_s(self) -> float:
        """The deadline the next ``wait()`` aims for (later if that one is missed)."""
        return self.deadline(self._next_index)

    def deadline(self, index: int) -> float:
        # Computed from the index, not accumulated, so float rounding cannot drift.
        return self._start_s + index * self.period_s

    def wait(self) -> Tick:
        clock = self._clock
        now_s = clock.now()
        deadline_s = self.deadline(self._next_index)
        if now_s - deadline_s > self.tolerance_s:
            # First index whose deadline is at most tolerance_s in the past.
            keep = math.ceil((now_s - self.tolerance_s - self._start_s) / self.period_s)
            keep = max(keep, self._next_index + 1)
            self.missed += keep - self._next_index
            self._next_index = keep
            deadline_s = self.deadline(keep)
        clock.sleep_until(deadline_s)
        started_s = clock.now()
        tick = Tick(index=self._next_index, deadline_s=deadline_s, started_s=started_s)
        self._next_index += 1
        self.ticks += 1
        return tick


@dataclass(frozen=True)
class RealtimeReport:
    """What :func:`setup_realtime` asked for and what the OS granted, one line per item."""

    fifo_priority: int | None = None
    pinned_cpu: int | None = None
    gc_frozen: bool = False
    timer_slack_ns: int | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def describe(self) -> str:
        got = [
            f"SCHED_FIFO priority {self.fifo_priority}" if self.fifo_priority else None,
            f"pinned to CPU {self.pinned_cpu}" if self.pinned_cpu is not None else None,
            "garbage collector frozen" if self.gc_frozen else None,
            f"timer slack {self.timer_slack_ns} ns" if self.timer_slack_ns is not None else None,
        ]
        text = "realtime: " + (", ".join(g for g in got if g) or "nothing granted")
        if self.notes:
            text += " (" + "; ".join(self.notes) + ")"
        return text


def _set_timer_slack(slack_ns: int) -> bool:
    """prctl(PR_SET_TIMERSLACK): a smaller slack lets time.sleep wake closer to its deadline."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        pr_set_timerslack = 29
        return int(libc.prctl(pr_set_timerslack, ctypes.c_ulong(slack_ns), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


@contextlib.contextmanager
def setup_realtime(
    fifo_priority: int = 50, cpu: int | None = None, freeze_gc: bool = True
) -> Iterator[RealtimeReport]:
    """Ask for soft real-time conditions for the duration of the ``with`` block.

    Each request may be refused (SCHED_FIFO needs CAP_SYS_NICE or an rtprio limit); the
    yielded report says what was granted, and everything is restored on exit.
    """
    notes: list[str] = []
    granted_priority: int | None = None
    old_policy: tuple[int, os.sched_param] | None = None
    if hasattr(os, "sched_setscheduler"):
        try:
            old_policy = (os.sched_getscheduler(0), os.sched_getparam(0))
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(fifo_priority))
            granted_priority = fifo_priority
        except OSError as exc:
            old_policy = None
            notes.append(f"SCHED_FIFO refused ({exc.strerror}; needs CAP_SYS_NICE or rtprio)")
    else:
        notes.append("SCHED_FIFO not available on this OS")

    pinned: int | None = None
    old_affinity: set[int] | None = None
    if hasattr(os, "sched_setaffinity"):
        old_affinity = os.sched_getaffinity(0)
        target = cpu if cpu is not None else max(old_affinity)
        try:
            os.sched_setaffinity(0, {target})
            pinned = target
        except OSError as exc:
            old_affinity = None
            notes.append(f"CPU pinning to {target} refused ({exc.strerror})")
    else:
        notes.append("CPU pinning not available on this OS")

    slack_ns = 1 if _set_timer_slack(1) else None

    gc_was_enabled = gc.isenabled()
    if freeze_gc:
        gc.collect()
        gc.freeze()
        gc.disable()

    report = RealtimeReport(
        fifo_priority=granted_priority,
        pinned_cpu=pinned,
        gc_frozen=freeze_gc,
        timer_slack_ns=slack_ns,
        notes=tuple(notes),
    )
    log.info("%s", report.describe())
    try:
        yield report
    finally:
        if freeze_gc:
            gc.unfreeze()
            if gc_was_enabled:
                gc.enable()
        if slack_ns is not None:
            _set_timer_slack(50_000)
        if old_affinity is not None:
            os.sched_setaffinity(0, old_affinity)
        if old_policy is not None:
            with contextlib.suppress(OSError):
                os.sched_setscheduler(0, old_policy[0], old_policy[1])
