"""Where a fast loop's reply time goes: a histogram of request -> reply over a pty at one rate.

The host asks on an absolute-deadline grid (``Ticker``), as the control loop does, and waits
for every reply as long as it takes (50 ms), so the tail is measured instead of cut at a reply
timeout. Rows, in alternation so every row sees the same machine: the C device
(``ddpg-fw-host``: ``plant.read()`` then ``plant.apply(0)``, the I/O of one control tick) and the
peer, a bare pty echo of the same bytes (no protocol, no device, no physics). A tail the echo
shares is the pty's and the scheduler's, not the device's.

    PYTHONPATH=. .venv/bin/python bench/link_tail.py [--rate-hz 500] [--seconds 20]
        [--repeats 1] [--realtime]

``--realtime`` gives the peers SCHED_FIFO on CPU 0 and the host CPU 1 (root), as
``bench/driver_loop.py --realtime`` does. Columns: the share of replies in each bin, and how
often the reply took longer than the reply timeout ``run --device`` uses at this rate (half a
period) two and five times in a row.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from collections.abc import Callable

import _harness as harness  # bench/, beside this script
import numpy as np
import serial

from ddpg_control.runtime.timing import MonotonicClock, Ticker, setup_realtime
from hardware.link import reply_timeout_s

#: Histogram bin edges, milliseconds.
EDGES_MS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 10.0, float("inf"))
#: Bytes of one QUERY and of one STATE reply (hardware/PROTOCOL.md), for the echo.
QUERY_BYTES, STATE_BYTES = 9, 33


def runs_over(late: np.ndarray, length: int) -> int:
    """How many times ``length`` consecutive entries of ``late`` are all true (overlapping)."""
    if len(late) < length:
        return 0
    window = np.lib.stride_tricks.sliding_window_view(late, length)
    return int(np.sum(window.all(axis=1)))


def measure(exchange: Callable[[], None], rate_hz: float, seconds: float) -> np.ndarray:
    """Durations of ``exchange()`` in seconds, one per tick of a ``rate_hz`` deadline grid."""
    ticker = Ticker(MonotonicClock(), 1.0 / rate_hz)
    times = []
    for _ in range(round(rate_hz * seconds)):
        ticker.wait()
        start = time.perf_counter()
        exchange()
        times.append(time.perf_counter() - start)
    return np.array(times)


def c_device_row(rate_hz: float, seconds: float, realtime: bool) -> np.ndarray:
    with harness.c_device(realtime=realtime) as peer:
        plant = harness.open_plant("ddpg", peer.port, 0.1)  # a 50 ms reply timeout
        with plant:

            def exchange() -> None:
                plant.read()
                plant.apply(0.0)

            return measure(exchange, rate_hz, seconds)


def echo_row(rate_hz: float, seconds: float, realtime: bool) -> np.ndarray:
    with harness.echo(realtime=realtime) as peer, serial.Serial(peer.port, timeout=0.05) as port:

        def exchange() -> None:
            port.write(bytes(QUERY_BYTES))
            port.read(QUERY_BYTES)
            port.write(bytes(STATE_BYTES))
            port.read(STATE_BYTES)

        return measure(exchange, rate_hz, seconds)


def describe(label: str, times_s: np.ndarray, timeout_s: float) -> str:
    ms = times_s * 1e3
    counts, _ = np.histogram(ms, bins=EDGES_MS)
    shares = " ".join(f"{100 * c / len(ms):6.2f}" for c in counts)
    p50, p99, p999 = np.percentile(ms, [50, 99, 99.9])
    late = times_s > timeout_s
    return (
        f"  {label:10s} {shares}   p50 {p50:5.2f} p99 {p99:5.2f} p99.9 {p999:5.2f} "
        f"max {ms.max():6.2f} ms   late x2 {runs_over(late, 2):4d}  x5 {runs_over(late, 5):3d}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rate-hz", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--realtime", action="store_true", help="SCHED_FIFO + pinned CPUs (root)")
    args = parser.parse_args()
    timeout_s = reply_timeout_s(1.0 / args.rate_hz)
    context = setup_realtime(cpu=1) if args.realtime else contextlib.nullcontext()
    with context as report:
        print(report.describe() if report is not None else "no real-time settings (default)")
        print(
            f"load average {os.getloadavg()[0]:.1f}; {args.rate_hz:g} Hz, {args.seconds:g} s per "
            f"row; late: a reply after {timeout_s * 1e3:g} ms (run --device's reply timeout)"
        )
        bins = " ".join(f"{f'<{hi:g}':>6s}" for hi in EDGES_MS[1:-1]) + f" {'>10':>6s}"
        print(f"  {'row':10s} {bins}   (% of replies per bin, ms)")
        for _ in range(args.repeats):
            for label, row in (("C device", c_device_row), ("pty echo", echo_row)):
                times = row(args.rate_hz, args.seconds, args.realtime)
                print(describe(label, times, timeout_s), flush=True)
        print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
