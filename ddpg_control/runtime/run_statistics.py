"""The end-of-run summary of a control run, kept in bounded memory whatever the run's length.

:class:`RunStatistics` takes the loop's figures tick by tick and gives the same
:class:`~ddpg_control.runtime.telemetry.RunSummary` that
:func:`~ddpg_control.runtime.telemetry.summarize` computes from every row, without keeping the
rows:

* tick count, elapsed time and final angle: from the last row;
* "holding upright over the last 5 s": exact, from the time of the last reading outside the
  tolerance (the run holds when that reading is older than the window);
* p50 / p99 of lateness and read/infer/write time: from a :class:`DurationHistograms` per stage,
  within :data:`RELATIVE_RESOLUTION` / 2 of the exact figure (or 1 ns); max exact.

Rows are buffered in blocks of :data:`BLOCK_ROWS` and folded into the histograms with numpy,
which costs the tick a fraction of a microsecond a row.
"""

from __future__ import annotations

import math
from array import array

import numpy as np
import numpy.typing as npt

from ddpg_control.runtime.contracts import wrap_angle
from ddpg_control.runtime.telemetry import (
    HOLD_WINDOW_S,
    UPRIGHT_TOLERANCE_RAD,
    FloatArray,
    RunSummary,
    Stats,
)

#: Width of a histogram bin relative to its lower edge: a bin spans 0.01 %.
RELATIVE_RESOLUTION = 1e-4
#: Durations below this are counted in the first bin, above MAX_DURATION_S in the last one.
MIN_DURATION_S = 1e-9
MAX_DURATION_S = 100.0
#: Rows buffered before they are folded into the statistics.
BLOCK_ROWS = 1024

_LOG_STEP = math.log1p(RELATIVE_RESOLUTION)
_POSITIVE_BINS = math.ceil(math.log(MAX_DURATION_S / MIN_DURATION_S) / _LOG_STEP)
Counts = npt.NDArray[np.int64]
_STAGES = ("read_s", "infer_s", "write_s", "lateness_s")
_FIELDS = ("time_s", "angle_rad", *_STAGES)


class DurationHistograms:
    """Counts of durations in log-spaced bins, one histogram per stage, in fixed memory.

    Bin 0 counts durations <= 0 (read back as 0: a simulated clock's timings are all 0); bin
    ``i >= 1`` spans ``[MIN * (1 + r)**(i - 1), MIN * (1 + r)**i)`` with ``r`` =
    :data:`RELATIVE_RESOLUTION`: about 253,000 bins from 1 ns to 100 s, 2 MB a stage, touched
    once when built so that no tick pays for a first page fault. A percentile is numpy's
    default (linear between the two nearest ranks) with each rank read as its bin's geometric
    centre, then clamped to the exact min and max: within ``r / 2`` of the exact figure, or
    1 ns below 1 ns.
    """

    def __init__(self, stages: int) -> None:
        self._counts = np.zeros((stages, _POSITIVE_BINS + 1), dtype=np.int64)
        self._counts.fill(0)  # fault the pages in now, not during a tick
        self._first_bin = np.arange(stages, dtype=np.intp) * (_POSITIVE_BINS + 1)
        self.count = 0
        self.min = np.full(stages, math.inf)
        self.max = np.full(stages, -math.inf)

    def add(self, durations_s: FloatArray) -> None:
        """Count a block of durations, one row per stage and one column per sample."""
        if durations_s.shape[1] == 0:
            return
        bins = np.zeros(durations_s.shape, dtype=np.intp)
        positive = durations_s > 0.0
        steps = np.log(np.maximum(durations_s[positive], MIN_DURATION_S) / MIN_DURATION_S)
        bins[positive] = 1 + np.minimum(steps / _LOG_STEP, _POSITIVE_BINS - 1).astype(np.intp)
        np.add.at(self._counts.reshape(-1), (bins + self._first_bin[:, None]).reshape(-1), 1)
        self.count += durations_s.shape[1]
        np.minimum(self.min, durations_s.min(axis=1), out=self.min)
        np.maximum(self.max, durations_s.max(axis=1), out=self.max)

    def stats(self, stage: int) -> Stats:
        if self.count == 0:
            return Stats(math.nan, math.nan, math.nan)
        cumulative = np.cumsum(self._counts[stage])
        low, high = float(self.min[stage]), float(self.max[stage])
        p50, p99 = (self._percentile(cumulative, q, low, high) for q in (50.0, 99.0))
        return Stats(p50, p99, high)

    def _percentile(self, cumulative: Counts, q: float, low: float, high: float) -> float:
        rank = (self.count - 1) * q / 100.0
        below = math.floor(rank)
        at_below = _centre_of_bin_holding(cumulative, below)
        at_above = _centre_of_bin_holding(cumulative, min(below + 1, self.count - 1))
        value = at_below + (rank - below) * (at_above - at_below)
        return min(max(value, low), high)


def _centre_of_bin_holding(cumulative: Counts, rank: int) -> float:
    """The centre of the bin holding the ``rank``-th smallest duration (0-based)."""
    index = int(np.searchsorted(cumulative, rank, side="right"))
    if index == 0:
        return 0.0
    return MIN_DURATION_S * math.exp((index - 0.5) * _LOG_STEP)


class RunStatistics:
    """What the end-of-run summary needs, fed one tick at a time, in bounded memory."""

    def __init__(
        self,
        hold_window_s: float = HOLD_WINDOW_S,
        upright_tolerance_rad: float = UPRIGHT_TOLERANCE_RAD,
    ) -> None:
        self.hold_window_s = hold_window_s
        self.upright_tolerance_rad = upright_tolerance_rad
        self._block: array[float] = array("d")
        self._folded_rows = 0
        self._last_time_s = math.nan
        self._last_angle_rad = math.nan
        self._last_tilted_s = -math.inf  # time of the latest reading outside the tolerance
        self._durations = DurationHistograms(len(_STAGES))

    @property
    def ticks(self) -> int:
        return self._folded_rows + len(self._block) // len(_FIELDS)

    def record(
        self,
        time_s: float,
        angle_rad: float,
        read_s: float,
        infer_s: float,
        write_s: float,
        lateness_s: float,
    ) -> None:
        block = self._block
        block.extend((time_s, angle_rad, read_s, infer_s, write_s, lateness_s))
        if len(block) >= BLOCK_ROWS * len(_FIELDS):
            self._fold()

    def _fold(self) -> None:
        if not self._block:
            return
        rows = np.frombuffer(self._block, dtype=np.float64).reshape(-1, len(_FIELDS))
        time_s, angle_rad = rows[:, 0], rows[:, 1]
        wrapped = np.mod(angle_rad + math.pi, 2.0 * math.pi) - math.pi
        tilted = ~(np.abs(wrapped) < self.upright_tolerance_rad)
        if tilted.any():
            self._last_tilted_s = max(self._last_tilted_s, float(time_s[tilted].max()))
        self._durations.add(np.ascontiguousarray(rows[:, 2:].T))
        self._last_time_s = float(time_s[-1])
        self._last_angle_rad = wrap_angle(float(angle_rad[-1]))
        self._folded_rows += len(rows)
        self._block = array("d")

    def summary(self, missed_deadlines: int, period_s: float) -> RunSummary:
        """The figures :func:`~ddpg_control.runtime.telemetry.summarize` gives for every row."""
        self._fold()
        ticks = self._folded_rows
        return RunSummary(
            ticks=ticks,
            missed_deadlines=missed_deadlines,
            period_s=period_s,
            elapsed_s=self._last_time_s + period_s if ticks else 0.0,
            lateness=self._durations.stats(_STAGES.index("lateness_s")),
            read=self._durations.stats(_STAGES.index("read_s")),
            infer=self._durations.stats(_STAGES.index("infer_s")),
            write=self._durations.stats(_STAGES.index("write_s")),
            final_angle_rad=self._last_angle_rad if ticks else math.nan,
            holding_upright=ticks > 0
            and self._last_tilted_s < self._last_time_s - self.hold_window_s,
        )
