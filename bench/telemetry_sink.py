"""Telemetry cost per tick: streaming to a CSV file against keeping every row in memory.

Two measurements, every variant in the same process, one after the other:

1. Record cost: ns per row in a tight loop (no clock, no plant), as the loop calls it.
   *before*: the in-memory :class:`~ddpg_control.runtime.telemetry.TelemetryRecorder` alone
   (what the loop did when every row was kept and written at exit); *after*: what the loop
   does now for ``run``: :class:`~ddpg_control.runtime.run_statistics.RunStatistics` plus
   :class:`~ddpg_control.runtime.telemetry_writer.TelemetryWriter`. Reported as a ratio.

2. A real fixed-rate loop (``Ticker`` on ``MonotonicClock``, ``--work-us`` of CPU a tick
   standing in for read + inference + write, then the record call), ``--seconds`` per variant
   at ``--rate``: the record call's p50/p99/max (the max is the tick that handed a chunk
   over), and the loop's lateness p99/max and missed deadlines. Variants:

   * in memory, before: the recorder alone, nothing written until the end;
   * in memory, now: the recorder plus the run statistics (run_loop's default);
   * ours: the row formatted in the tick, each 0.5 s chunk joined into bytes in the tick and
     written and flushed by a thread (``TelemetryWriter``);
   * join in thread: as ours, but the thread joins the lines (holding the GIL) before writing;
   * all in tick: the row formatted, the chunk joined, written and flushed in the tick;
   * all in thread: the raw row kept in the tick, the thread formats, joins and writes the
     chunk (the formatting then competes with the loop for the GIL).

    .venv/bin/python bench/telemetry_sink.py                 # 10 s per variant at 1 kHz
    .venv/bin/python bench/telemetry_sink.py --seconds 30 --realtime
"""

from __future__ import annotations

import argparse
import contextlib
import queue
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np
from loop_jitter import make_work  # the same busy-wait "work" per tick as the jitter bench

from ddpg_control.runtime.run_statistics import RunStatistics
from ddpg_control.runtime.telemetry import CSV_HEADER, CSV_ROW_FORMAT, TelemetryRecorder
from ddpg_control.runtime.telemetry_writer import DEFAULT_CHUNK_S, TelemetryWriter
from ddpg_control.runtime.timing import MonotonicClock, Ticker, setup_realtime

ROW = (0.123456789, 3.0123456, -0.54321, 1.2345, 1.2, 5.1e-5, 3.3e-5, 1.1e-5, 2.3e-6)


class Sink(Protocol):
    def record(self, *row: float) -> None: ...

    def close(self) -> None: ...


class JoinInThread:
    """Rows formatted in the tick; a thread joins, writes and flushes each chunk."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("w", encoding="utf-8")
        self._file.write(CSV_HEADER)
        self._lines: list[str] = []
        self._due_s = DEFAULT_CHUNK_S
        self._queue: queue.Queue[list[str] | None] = queue.Queue(maxsize=8)
        self._thread = threading.Thread(target=self._write, daemon=True)
        self._thread.start()

    def record(self, time_s: float, *rest: float) -> None:
        self._lines.append(CSV_ROW_FORMAT % (time_s, *rest))
        if time_s >= self._due_s:
            self._queue.put(self._lines)  # waits only when 8 chunks behind
            self._lines = []
            self._due_s = time_s + DEFAULT_CHUNK_S

    def _write(self) -> None:
        while (lines := self._queue.get()) is not None:
            self._file.write("".join(lines))
            self._file.flush()

    def close(self) -> None:
        self._queue.put(self._lines)
        self._queue.put(None)
        self._thread.join()
        self._file.close()


class WriteInTick:
    """Rows formatted in the tick; each chunk joined, written and flushed in the tick too."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("w", encoding="utf-8")
        self._file.write(CSV_HEADER)
        self._lines: list[str] = []
        self._due_s = DEFAULT_CHUNK_S

    def record(self, time_s: float, *rest: float) -> None:
        self._lines.append(CSV_ROW_FORMAT % (time_s, *rest))
        if time_s >= self._due_s:
            self._file.write("".join(self._lines))
            self._file.flush()
            self._lines = []
            self._due_s = time_s + DEFAULT_CHUNK_S

    def close(self) -> None:
        self._file.write("".join(self._lines))
        self._file.close()


class FormatInThread:
    """Raw rows kept in the tick; a thread formats, writes and flushes each chunk."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("w", encoding="utf-8")
        self._file.write(CSV_HEADER)
        self._rows: list[tuple[float, ...]] = []
        self._due_s = DEFAULT_CHUNK_S
        self._queue: queue.Queue[list[tuple[float, ...]] | None] = queue.Queue(maxsize=8)
        self._thread = threading.Thread(target=self._write, daemon=True)
        self._thread.start()

    def record(self, time_s: float, *rest: float) -> None:
        self._rows.append((time_s, *rest))
        if time_s >= self._due_s:
            self._queue.put(self._rows)  # waits only when 8 chunks behind
            self._rows = []
            self._due_s = time_s + DEFAULT_CHUNK_S

    def _write(self) -> None:
        while (rows := self._queue.get()) is not None:
            self._file.write("".join(CSV_ROW_FORMAT % row for row in rows))
            self._file.flush()

    def close(self) -> None:
        self._queue.put(self._rows)
        self._queue.put(None)
        self._thread.join()
        self._file.close()


def _in_memory(path: Path) -> Sink:
    return TelemetryRecorder()


def _ours(path: Path) -> Sink:
    return TelemetryWriter(path, wait_when_behind=True).open()


#: name -> (the sink, whether the loop also keeps RunStatistics, as it does now)
VARIANTS: dict[str, tuple[Callable[[Path], Sink], bool]] = {
    "in memory, before (recorder only)": (_in_memory, False),
    "in memory, now (recorder + run statistics)": (_in_memory, True),
    "ours: format + join in tick, write in thread": (_ours, True),
    "format in tick, join + write in thread": (JoinInThread, True),
    "all in tick": (WriteInTick, True),
    "all in thread": (FormatInThread, True),
}


def record_cost_ns(make: Callable[[Path], Sink], statistics: bool, folder: Path, n: int) -> float:
    """ns per row of the loop's telemetry calls (the statistics, then the sink)."""
    sink = make(folder / "cost.csv")
    stats = RunStatistics() if statistics else None
    _, angle, velocity, cmd, sent, read, infer, write, late = ROW
    start = time.perf_counter()
    if stats is None:
        for i in range(n):
            sink.record(i * 0.001, angle, velocity, cmd, sent, read, infer, write, late)
    else:
        for i in range(n):
            t = i * 0.001
            stats.record(t, angle, read, infer, write, late)
            sink.record(t, angle, velocity, cmd, sent, read, infer, write, late)
    elapsed = time.perf_counter() - start
    sink.close()
    return elapsed / n * 1e9


def timed_loop(
    make: Callable[[Path], Sink],
    statistics: bool,
    folder: Path,
    args: argparse.Namespace,
) -> str:
    """One variant in a real loop; the sink (and a writer thread) is made before the real-time
    settings, as ``ddpg-control run --realtime`` does, so the thread keeps normal priority."""
    sink = make(folder / "loop.csv")
    stats = RunStatistics() if statistics else None
    work = make_work(args.work_us)
    clock = MonotonicClock()
    period_s = 1.0 / args.rate
    record_s, lateness_s, hand_over = [], [], []
    chunk_due_s = DEFAULT_CHUNK_S  # the ticks that end a chunk, as the streaming sinks count
    _, angle, velocity, cmd, sent, read, infer, write, _ = ROW
    with setup_realtime() if args.realtime else contextlib.nullcontext():
        ticker = Ticker(clock, period_s, start_s=clock.now() + period_s)
        end_s = ticker.start_s + args.seconds
        while ticker.next_deadline_s < end_s:
            tick = ticker.wait()
            work()
            t0 = time.perf_counter()
            time_s = tick.started_s - ticker.start_s
            if stats is not None:
                stats.record(time_s, angle, read, infer, write, tick.lateness_s)
            sink.record(time_s, angle, velocity, cmd, sent, read, infer, write, tick.lateness_s)
            record_s.append(time.perf_counter() - t0)
            lateness_s.append(tick.lateness_s)
            hand_over.append(time_s >= chunk_due_s)
            if hand_over[-1]:
                chunk_due_s = time_s + DEFAULT_CHUNK_S
    sink.close()
    rec = np.asarray(record_s) * 1e6
    ends = np.asarray(hand_over)
    late = np.asarray(lateness_s) * 1e6
    scheduled = len(late) + ticker.missed
    return (
        f"| {np.percentile(rec[~ends], 50):.2f} | {np.percentile(rec[~ends], 99):.2f} | "
        f"{rec[~ends].max():.1f} | {np.percentile(rec[ends], 50):.1f} | {rec[ends].max():.1f} | "
        f"{np.percentile(late, 99):.1f} | {late.max():.1f} | "
        f"{ticker.missed} ({100.0 * ticker.missed / scheduled:.3f}%) |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000, help="rows for the record cost")
    parser.add_argument("--seconds", type=float, default=10.0, help="timed loop, per variant")
    parser.add_argument("--rate", type=float, default=1000.0, help="timed loop rate, Hz")
    parser.add_argument("--work-us", type=float, default=100.0, help="work per tick, us")
    parser.add_argument(
        "--realtime", action="store_true", help="SCHED_FIFO/pin/gc for the timed loops if allowed"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"record cost, {args.rows} rows in a tight loop:\n")
        print("| variant | ns per row | ratio to in memory |\n|---|---|---|")
        base = 0.0
        for name, (make, statistics) in VARIANTS.items():
            cost = record_cost_ns(make, statistics, folder, args.rows)
            base = base or cost
            print(f"| {name} | {cost:.0f} | {cost / base:.2f} |", flush=True)
        print(
            f"\nreal loop at {args.rate:g} Hz, {args.seconds:g} s per variant, "
            f"{args.work_us:g} us of work per tick"
            + (", real-time settings" if args.realtime else "")
            + " (times in us; a hand-over tick ends a 0.5 s chunk):\n"
        )
        print(
            "| variant | record p50 | record p99 | record max | hand-over tick p50 | "
            "hand-over tick max | lateness p99 | lateness max | deadline misses |\n"
            "|---|---|---|---|---|---|---|---|---|"
        )
        for name, (make, statistics) in VARIANTS.items():
            print(f"| {name} {timed_loop(make, statistics, folder, args)}", flush=True)


if __name__ == "__main__":
    main()
