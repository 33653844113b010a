"""Round trip and highest sustained loop rate per motor driver (``--driver``), over a pty.

For each row: the driver's emulator (``ddpg-control emulate --driver X``) runs in its own
process, like a device; the host opens the driver's plant through the registry
(``hardware.drivers``), exactly as ``run --device PORT --driver X`` does.

1. Round trip: ``plant.read()`` + ``plant.apply(0)`` per sample (one control tick's I/O),
   against the peer in the same run: a bare pty echo process returning the same number of
   bytes (no protocol, no device, no physics).
2. Loop rate: the real control loop (``run_loop``: ticker, safety layer, telemetry) with a PD
   balancing policy, at rising rates; the highest rate with < 0.1 % missed deadlines and no
   plant fault is reported.

    .venv/bin/python bench/driver_loop.py [--drivers ddpg dynamixel] [--samples 2000]
        [--seconds 3] [--rates 100 250 500 1000]

A driver registered in ``hardware.drivers.DRIVERS`` gets a row by default (if its vendor package
is installed); ``ROWS`` adds variants (the Dynamixel at its factory Return Delay Time and at 0).
Timings on a shared machine are noisy: compare rows of one run, not runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ddpg_control.runtime.contracts import Plant
from ddpg_control.runtime.control_loop import LoopConfig, run_loop
from ddpg_control.runtime.timing import MonotonicClock
from hardware.drivers import DRIVERS, DeviceSettings, get_driver, load

ECHO = """
import os, select, sys, tty
master, slave = os.openpty()
tty.setraw(slave)
print(os.ttyname(slave), flush=True)
while True:
    select.select([master], [], [])
    os.write(master, os.read(master, 4096))
"""

#: Bytes of one tick's request and reply per driver, for the echo peer (request, reply).
WIRE_BYTES = {
    "ddpg": (9, 33),
    "dynamixel": (14 + 16, 11 + 38),
    "moteus": (156, 76),  # the query and the command lines; OK, rcv, OK (with checksums)
    "odrive": (52, 28),
}


def _dynamixel_return_delay(port: str, value: int) -> None:
    """Set Return Delay Time (9) once, as docs/hardware.md asks of a real servo."""
    import dynamixel_sdk as sdk

    handler = sdk.PortHandler(port)
    handler.openPort()
    handler.setBaudRate(1_000_000)
    try:
        result, error = sdk.PacketHandler(2.0).write1ByteTxRx(handler, 1, 9, value)
        assert result == sdk.COMM_SUCCESS and error == 0, (result, error)
    finally:
        handler.closePort()


@dataclass(frozen=True)
class Row:
    label: str
    driver: str
    baud: int
    prepare: Callable[[str], None] | None = None
    options: dict[str, float] = dataclasses.field(default_factory=dict)


def _return_delay_0(port: str) -> None:
    _dynamixel_return_delay(port, 0)


ROWS = [
    Row("ddpg", "ddpg", 1_000_000),
    Row("dynamixel, Return Delay 0", "dynamixel", 1_000_000, _return_delay_0),
    Row(
        "dynamixel, Return Delay 0, SDK busy poll",
        "dynamixel",
        1_000_000,
        _return_delay_0,
        {"read_wait_ms": 0.0},
    ),
    Row("dynamixel, factory Return Delay 250", "dynamixel", 1_000_000),
]


def rows_for(drivers: list[str]) -> list[Row]:
    rows = [r for r in ROWS if r.driver in drivers]
    named = {r.driver for r in rows}
    rows += [Row(d, d, get_driver(d).default_baud) for d in drivers if d not in named]
    return rows


def _start(cmd: list[str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def _emulator(row: Row) -> tuple[subprocess.Popen[str], str]:
    cmd = [sys.executable, "-m", "ddpg_control.cli.main", "emulate", "--start-angle", "0"]
    proc, port = _start([*cmd, "--driver", row.driver])
    if row.prepare is not None:
        row.prepare(port)
    return proc, port


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    proc.wait()


def _open(row: Row, port: str, period_s: float) -> Plant:
    settings = DeviceSettings(
        driver=row.driver,
        port=port,
        baud=row.baud,
        device_id=get_driver(row.driver).default_id,
        period_s=period_s,
        stuck_sensor_s=0.0,
        options=get_driver(row.driver).parse_options(row.options),
    )
    if row.driver == "ddpg":  # the bench counts missed replies itself; don't stop on them
        from hardware.client import SerialPlant
        from hardware.drivers.ddpg import serial_config

        config = dataclasses.replace(serial_config(settings), max_missed_replies=1000)
        return SerialPlant(port, config).open()
    if row.driver == "moteus":  # likewise
        from hardware.drivers.moteus.plant import MoteusPlant, moteus_config

        moteus = dataclasses.replace(moteus_config(settings), max_missed_replies=1000)
        return MoteusPlant(port, moteus).open()
    if row.driver == "odrive":  # likewise
        from hardware.drivers.odrive.plant import OdrivePlant, odrive_config

        odrive = dataclasses.replace(odrive_config(settings), max_missed_replies=1000)
        return OdrivePlant(port, odrive).open()
    plant: Plant = load(get_driver(row.driver).plant)(settings)
    return plant


def _percentiles_us(samples: list[float]) -> tuple[float, float]:
    p50, p99 = np.percentile(np.array(samples) * 1e6, [50, 99])
    return float(p50), float(p99)


def echo_round_trip(request: int, reply: int, samples: int) -> tuple[float, float]:
    import serial

    echo, port_name = _start([sys.executable, "-c", ECHO])
    times = []
    try:
        with serial.Serial(port_name, timeout=1.0) as port:
            for _ in range(samples):
                start = time.perf_counter()
                port.write(bytes(request))
                port.read(request)
                port.write(bytes(reply))
                port.read(reply)
                times.append(time.perf_counter() - start)
    finally:
        echo.kill()
        echo.wait()
    return _percentiles_us(times)


def plant_round_trip(row: Row, samples: int) -> tuple[float, float]:
    emu, port = _emulator(row)
    times = []
    try:
        with _open(row, port, 0.01) as plant:
            for _ in range(samples):
                start = time.perf_counter()
                plant.read()
                plant.apply(0.0)
                times.append(time.perf_counter() - start)
    finally:
        _stop(emu)
    return _percentiles_us(times)


class BalancePolicy:
    """PD control about upright: enough to keep the pendulum up at any rate."""

    max_torque_nm = 2.0

    def __call__(self, observation: np.ndarray) -> float:
        cos_t, sin_t, velocity = (float(v) for v in observation)
        angle = float(np.arctan2(sin_t, cos_t))
        return float(np.clip(-10.0 * angle - 2.0 * velocity, -1.9, 1.9))


def loop_rate(row: Row, rate: float, seconds: float) -> tuple[float, float, str]:
    """(achieved Hz, missed share, fault message or '')."""
    emu, port = _emulator(row)
    try:
        plant = _open(row, port, 1.0 / rate)
        result = run_loop(
            plant,
            BalancePolicy(),
            MonotonicClock(),
            LoopConfig(period_s=1.0 / rate, duration_s=seconds),
        )
    finally:
        _stop(emu)
    missed = result.missed_deadlines / max(1, result.ticks + result.missed_deadlines)
    return result.ticks / seconds, missed, "" if result.exit_code == 0 else result.message


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    installed = [
        name
        for name, spec in DRIVERS.items()
        if spec.requires is None or importlib.util.find_spec(spec.requires) is not None
    ]
    parser.add_argument("--drivers", nargs="+", default=installed, choices=list(DRIVERS))
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rates", type=float, nargs="+", default=[100, 250, 500, 1000])
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}; {args.samples} samples, {args.seconds:g} s/rate")
    print("round trip (read + apply, microseconds), against a bare pty echo of the same bytes:")
    best: dict[str, float] = {}
    for row in rows_for(args.drivers):
        request, reply = WIRE_BYTES.get(row.driver, (16, 32))
        echo50, echo99 = echo_round_trip(request, reply, args.samples)
        p50, p99 = plant_round_trip(row, args.samples)
        print(
            f"  {row.label:38s} p50 {p50:7.1f}  p99 {p99:8.1f}   echo p50 {echo50:6.1f} "
            f"p99 {echo99:7.1f}   ratio p50 {p50 / echo50:5.1f}x"
        )
        for rate in args.rates:
            achieved, missed, fault = loop_rate(row, rate, args.seconds)
            print(
                f"    loop {rate:6.0f} Hz: achieved {achieved:7.1f} Hz, missed {missed:7.3%}"
                + (f"  ({fault})" if fault else "")
            )
            if missed < 0.001 and not fault:
                best[row.label] = max(best.get(row.label, 0.0), rate)
    print("highest rate with < 0.1% missed deadlines and no fault:")
    for label, rate in best.items():
        print(f"  {label:38s} {rate:g} Hz")


if __name__ == "__main__":
    main()
