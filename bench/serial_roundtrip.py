"""Serial round trip over a pseudo-terminal, and the highest loop rate the emulator path sustains.

1. Round trip: SerialPlant.read() (QUERY -> STATE through the codec, the pty, the emulator's
   device and physics) against the peer: the same bytes echoed back by a bare pty echo process
   (no protocol, no device, no physics). Both peers run in their own process, like a device.
2. Loop rate: the real control loop (ddpg_control.runtime.control_loop.run_loop: ticker,
   safety layer, telemetry) with a PD balancing policy on the emulator, at rising rates; for
   each, the share of missed deadlines and of missing replies. The highest rate with < 0.1 %
   missed is reported.

    .venv/bin/python bench/serial_roundtrip.py [--samples 5000] [--seconds 3]
    .venv/bin/python bench/serial_roundtrip.py --c-device   # + the C firmware's host build

``--c-device`` also measures the round trip through ``ddpg-fw-host`` (hardware/firmware: the C
core behind the same pty, ``make firmware`` first) in the same run, as a ratio to the emulator.

Timings on a shared machine are noisy; compare the two peers of one run, not runs.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time

import numpy as np

from ddpg_control.runtime.control_loop import LoopConfig, run_loop
from ddpg_control.runtime.timing import MonotonicClock, setup_realtime
from hardware.client import SerialConfig, SerialPlant
from hardware.protocol import MessageType as T
from hardware.protocol import Query, encode, frame_size
from hardware.serial_config import reply_timeout_s

ECHO = """
import os, select, sys, tty
master, slave = os.openpty()
tty.setraw(slave)
print(os.ttyname(slave), flush=True)
while True:
    select.select([master], [], [])
    os.write(master, os.read(master, 4096))
"""


REALTIME = False  # set by --realtime: peers get SCHED_FIFO on CPU 0, the host on CPU 1


def _start(cmd: list[str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    if REALTIME:
        os.sched_setaffinity(proc.pid, {0})
        os.sched_setscheduler(proc.pid, os.SCHED_FIFO, os.sched_param(49))
    return proc, proc.stdout.readline().strip()


TCP = False  # set by --tcp: the emulator listens on loopback TCP instead of a pty


def _emulator() -> tuple[subprocess.Popen[str], str]:
    cmd = [sys.executable, "-m", "ddpg_control.cli.main", "emulate", "--start-angle", "0"]
    return _start(cmd + (["--tcp", "0"] if TCP else []))


def _c_device() -> tuple[subprocess.Popen[str], str]:
    binary = "hardware/firmware/build/ddpg-fw-host"
    if not os.path.exists(binary):
        sys.exit(f"{binary} is missing: run 'make firmware' first")
    return _start([binary, "--start-angle", "0"])


def _read_times(start: object, samples: int) -> tuple[str, list[float]]:
    """SerialPlant.read() round trips through the device that ``start()`` starts."""
    device, port = start()  # type: ignore[operator]
    times = []
    with SerialPlant(port, SerialConfig(reply_timeout_s=0.05)) as plant:
        for _ in range(samples):
            begin = time.perf_counter()
            plant.read()
            times.append(time.perf_counter() - begin)
            plant.apply(0.0)  # feeds the device watchdog; its reply is collected next read
    device.terminate()
    device.wait()
    return port, times


def _percentiles_us(samples: list[float]) -> tuple[float, float]:
    p50, p99 = np.percentile(np.array(samples) * 1e6, [50, 99])
    return float(p50), float(p99)


C_DEVICE = False  # set by --c-device: also measure the C firmware's host build


def round_trip(samples: int) -> None:
    import serial

    echo, echo_port = _start([sys.executable, "-c", ECHO])
    # the echo peer answers a QUERY-sized request with the same number of bytes as a STATE
    request = encode(Query(), 1)
    padding = frame_size(T.STATE) - len(request)
    times = []
    with serial.serial_for_url(echo_port, timeout=1.0) as port:
        port.write(request + bytes(padding))
        port.read(frame_size(T.STATE) + len(request))
        for _ in range(samples):
            start = time.perf_counter()
            port.write(request)
            port.read(len(request))
            times.append(time.perf_counter() - start)
    echo.kill()
    echo_p50, echo_p99 = _percentiles_us(times)

    emu_port, times = _read_times(_emulator, samples)
    p50, p99 = _percentiles_us(times)
    print(f"round trip, {samples} samples (microseconds); emulator at {emu_port}:")
    print(f"  bare pty echo ({len(request)} bytes)      p50 {echo_p50:7.1f}  p99 {echo_p99:7.1f}")
    print(f"  SerialPlant.read() via emulator p50 {p50:7.1f}  p99 {p99:7.1f}")
    print(f"  ratio emulator/echo             p50 {p50 / echo_p50:7.2f}  p99 {p99 / echo_p99:7.2f}")
    if C_DEVICE:
        _, times = _read_times(_c_device, samples)
        c50, c99 = _percentiles_us(times)
        print(f"  SerialPlant.read() via C device p50 {c50:7.1f}  p99 {c99:7.1f}")
        print(f"  ratio C device/emulator         p50 {c50 / p50:7.2f}  p99 {c99 / p99:7.2f}")


class BalancePolicy:
    """PD control about upright: enough to keep the pendulum up at any rate."""

    max_torque_nm = 2.0

    def __call__(self, observation: np.ndarray) -> float:
        cos_t, sin_t, velocity = (float(v) for v in observation)
        angle = float(np.arctan2(sin_t, cos_t))
        return float(np.clip(-10.0 * angle - 2.0 * velocity, -2.0, 2.0))


def loop_rates(rates_hz: list[float], seconds: float) -> None:
    print(f"\nreal control loop over the emulator, {seconds:g} s per rate:")
    print("  rate Hz  achieved Hz  missed deadlines  missing replies  read p50/p99 us")
    best = 0.0
    for rate in rates_hz:
        period = 1.0 / rate
        emu, port = _emulator()
        config = SerialConfig(reply_timeout_s=reply_timeout_s(period), max_missed_replies=1000)
        plant = SerialPlant(port, config).open()
        result = run_loop(
            plant,
            BalancePolicy(),
            MonotonicClock(),
            LoopConfig(period_s=period, duration_s=seconds),
        )
        emu.terminate()
        emu.wait()
        ticks = result.ticks
        missed = result.missed_deadlines / max(1, ticks + result.missed_deadlines)
        lost = plant.stats.missing_replies / max(1, plant.stats.requests)
        r50, r99 = _percentiles_us(list(result.telemetry["read_s"]))
        read_txt = f"{r50:7.1f} / {r99:7.1f}"
        print(
            f"  {rate:7.0f}  {ticks / seconds:11.1f}  {missed:15.3%}  {lost:15.3%}  {read_txt}"
            + ("" if result.exit_code == 0 else f"  ({result.message})")
        )
        if missed < 0.001 and result.exit_code == 0:
            best = max(best, rate)
    print(f"highest rate with < 0.1% missed deadlines: {best:g} Hz")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rates", type=float, nargs="+", default=[250, 500, 1000, 2000])
    parser.add_argument(
        "--realtime",
        action="store_true",
        help="SCHED_FIFO + pinned CPUs for the host (CPU 1) and the peers (CPU 0); needs root",
    )
    parser.add_argument("--tcp", action="store_true", help="emulator on socket:// instead")
    parser.add_argument("--c-device", action="store_true", help="also the C host device (pty)")
    args = parser.parse_args()
    global REALTIME, TCP, C_DEVICE
    REALTIME, TCP, C_DEVICE = args.realtime, args.tcp, args.c_device
    context = setup_realtime(cpu=1) if args.realtime else contextlib.nullcontext()
    with context as report:
        print(report.describe() if report is not None else "no real-time settings (default)")
        round_trip(args.samples)
        loop_rates(args.rates, args.seconds)


if __name__ == "__main__":
    main()
