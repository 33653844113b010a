"""Round trip and highest sustained loop rate per motor driver (``--driver``), over a pty.

For each row the device runs in its own process: the driver's emulator (``ddpg-control emulate
--driver X``) or, with ``--c-device``, the C firmware core's host build (``ddpg-fw-host``, this
project's protocol, ``make firmware`` first); the host opens the driver's plant through the
registry (``hardware.drivers``), exactly as ``run --device PORT --driver X`` does.

1. Round trip: ``plant.read()`` + ``plant.apply(0)`` per sample (one control tick's I/O),
   against the peer in the same run: a bare pty echo process returning the same number of
   bytes (no protocol, no device, no physics).
2. Loop rate: the real control loop (``run_loop``: ticker, safety layer, telemetry) with a PD
   balancing policy, at rising rates, ``--repeats`` runs each; for each, the share of missed
   deadlines and of missing replies. The plant stops as ``run --device`` stops it (two reads in
   a row without a reply is a fault, or as many as fit in 10 ms above 200 Hz). A row's highest
   sustained rate is the highest rate which, with every lower rate tried, had < 0.1 % missed
   deadlines and no fault in every run.

    .venv/bin/python bench/driver_loop.py [--drivers ddpg dynamixel] [--samples 2000]
        [--seconds 3] [--rates 100 200 500 1000] [--repeats 1] [--c-device] [--tcp]
        [--realtime]

A driver registered in ``hardware.drivers.DRIVERS`` gets a row by default (if its vendor package
is installed); ``ROWS`` adds variants (the Dynamixel at its factory Return Delay Time and at 0).
``--tcp`` serves the emulators on loopback TCP (``socket://``) for the drivers whose plant opens
any pyserial URL; ``--realtime`` gives the peers SCHED_FIFO on CPU 0 and the host CPU 1 (root).
Timings on a shared machine are noisy: compare rows of one run, not runs.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.util
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import _harness as harness  # bench/, beside this script
import serial

from ddpg_control.runtime.errors import DdpgControlError
from ddpg_control.runtime.timing import setup_realtime
from hardware.drivers import DRIVERS, DeviceSettings

#: Bytes of one tick's request and reply per driver, for the echo peer (request, reply).
WIRE_BYTES = {
    "ddpg": (9, 33),
    "dynamixel": (14 + 16, 11 + 38),
    "moteus": (156, 76),  # the query and the command lines; OK, rcv, OK (with checksums)
    "odrive": (52, 28),
}
#: The Dynamixel rows' baud rate: Baud Rate 3, as docs/hardware.md sets a real servo.
DYNAMIXEL_BAUD = 1_000_000
#: The drivers whose plant opens any pyserial URL, so their emulator may serve on TCP.
TCP_DRIVERS = ("ddpg", "odrive")
#: Unanswered reads in a row before ``run --device`` stops: the loop-rate runs stop the same way.
RUN_MISSED_READS: int = next(
    int(f.default)  # type: ignore[arg-type]
    for f in dataclasses.fields(DeviceSettings)
    if f.name == "max_missed_reads"
)


def _dynamixel_return_delay(port: str, value: int) -> None:
    """Set Return Delay Time (9) once, as docs/hardware.md asks of a real servo."""
    import dynamixel_sdk as sdk

    handler = sdk.PortHandler(port)
    handler.openPort()
    handler.setBaudRate(DYNAMIXEL_BAUD)
    try:
        for _ in range(3):  # a loaded machine may miss one reply
            result, error = sdk.PacketHandler(2.0).write1ByteTxRx(handler, 1, 9, value)
            if result == sdk.COMM_SUCCESS and error == 0:
                return
        raise RuntimeError(f"setting Return Delay Time failed: {result}, {error}")
    finally:
        handler.closePort()


def _return_delay_0(port: str) -> None:
    _dynamixel_return_delay(port, 0)


@dataclass(frozen=True)
class Row:
    label: str
    driver: str
    baud: int | None = None  # None: the driver's default
    prepare: Callable[[str], None] | None = None
    options: dict[str, float] = dataclasses.field(default_factory=dict)
    c_device: bool = False  # the C host device instead of the driver's emulator


ROWS = [
    Row("ddpg", "ddpg"),
    Row("dynamixel, Return Delay 0", "dynamixel", DYNAMIXEL_BAUD, _return_delay_0),
    Row(
        "dynamixel, Return Delay 0, SDK busy poll",
        "dynamixel",
        DYNAMIXEL_BAUD,
        _return_delay_0,
        {"read_wait_ms": 0.0},
    ),
    Row("dynamixel, factory Return Delay 250", "dynamixel", DYNAMIXEL_BAUD),
]


def rows_for(drivers: list[str], c_device: bool) -> list[Row]:
    rows = [r for r in ROWS if r.driver in drivers]
    named = {r.driver for r in rows}
    rows += [Row(d, d) for d in drivers if d not in named]
    if c_device:
        rows.append(Row("ddpg, C firmware (ddpg-fw-host)", "ddpg", c_device=True))
    return rows


@dataclass(frozen=True)
class Setup:
    tcp: bool = False
    realtime: bool = False

    def device(self, row: Row) -> harness.Peer:
        if row.c_device:
            return harness.c_device(realtime=self.realtime)
        tcp = ["--tcp", "0"] if self.tcp and row.driver in TCP_DRIVERS else []
        peer = harness.emulator(row.driver, *tcp, realtime=self.realtime)
        if row.prepare is not None:
            try:
                row.prepare(peer.port)
            except BaseException:
                peer.stop()  # never leave a device process behind
                raise
        return peer


def echo_round_trip(request: int, reply: int, samples: int, setup: Setup) -> tuple[float, float]:
    times = []
    with (
        harness.echo(realtime=setup.realtime) as peer,
        serial.Serial(peer.port, timeout=1.0) as port,
    ):
        for _ in range(samples):
            start = time.perf_counter()
            port.write(bytes(request))
            port.read(request)
            port.write(bytes(reply))
            port.read(reply)
            times.append(time.perf_counter() - start)
    return harness.percentiles_us(times)


def plant_round_trip(row: Row, samples: int, setup: Setup) -> tuple[float, float]:
    times = []
    with setup.device(row) as peer:
        plant = harness.open_plant(row.driver, peer.port, 0.01, baud=row.baud, options=row.options)
        with plant:
            for _ in range(samples):
                start = time.perf_counter()
                plant.read()
                plant.apply(0.0)
                times.append(time.perf_counter() - start)
    return harness.percentiles_us(times)


def loop_rate(row: Row, rate: float, seconds: float, setup: Setup) -> harness.RateResult:
    try:
        with setup.device(row) as peer:
            plant = harness.open_plant(
                row.driver,
                peer.port,
                1.0 / rate,
                baud=row.baud,
                options=row.options,
                max_missed_reads=RUN_MISSED_READS,
            )
            return harness.loop_at(plant, rate, seconds)
    except (DdpgControlError, RuntimeError) as exc:  # could not even set up: not sustained
        nan = float("nan")
        return harness.RateResult(rate, 0.0, 1.0, nan, (nan, nan), f"set-up failed: {exc}")


def highest_sustained(results: dict[float, list[harness.RateResult]]) -> float | None:
    """The highest rate that, with every lower rate tried, sustained in every run."""
    best = None
    for rate in sorted(results):
        if not all(result.sustained for result in results[rate]):
            break
        best = rate
    return best


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
    parser.add_argument("--rates", type=float, nargs="+", default=[100, 200, 500, 1000])
    parser.add_argument("--repeats", type=int, default=1, help="runs per rate (all must hold)")
    parser.add_argument("--c-device", action="store_true", help="also the C host device (pty)")
    parser.add_argument("--tcp", action="store_true", help="emulators on socket:// where possible")
    parser.add_argument(
        "--realtime",
        action="store_true",
        help="SCHED_FIFO + pinned CPUs for the host (CPU 1) and the peers (CPU 0); needs root",
    )
    args = parser.parse_args()
    setup = Setup(tcp=args.tcp, realtime=args.realtime)
    context = setup_realtime(cpu=1) if args.realtime else contextlib.nullcontext()
    with context as report:
        print(report.describe() if report is not None else "no real-time settings (default)")
        load = os.getloadavg()[0]
        print(
            f"load average {load:.1f}; {args.samples} samples, {args.seconds:g} s/rate, "
            f"{args.repeats} run(s) per rate"
        )
        print("round trip (read + apply, microseconds), against a bare pty echo of the same bytes:")
        best: dict[str, float | None] = {}
        for row in rows_for(args.drivers, args.c_device):
            request, reply = WIRE_BYTES.get(row.driver, (16, 32))
            echo50, echo99 = echo_round_trip(request, reply, args.samples, setup)
            try:
                p50, p99 = plant_round_trip(row, args.samples, setup)
            except DdpgControlError as exc:  # e.g. no first reply on a loaded machine
                print(f"  {row.label:38s} round trip failed: {exc}")
                p50 = p99 = float("nan")
            print(
                f"  {row.label:38s} p50 {p50:7.1f}  p99 {p99:8.1f}   echo p50 {echo50:6.1f} "
                f"p99 {echo99:7.1f}   ratio p50 {p50 / echo50:5.1f}x"
            )
            print(f"    {harness.RATE_HEADER}")
            results: dict[float, list[harness.RateResult]] = {}
            for rate in args.rates:
                for _ in range(args.repeats):
                    result = loop_rate(row, rate, args.seconds, setup)
                    results.setdefault(rate, []).append(result)
                    print(f"    {result.row()}")
            best[row.label] = highest_sustained(results)
        print(
            "highest sustained rate (< 0.1% missed deadlines and no fault in every run, at it "
            "and every lower rate tried):"
        )
        for label, rate in best.items():
            print(
                f"  {label:38s} " + ("none of the rates tried" if rate is None else f"{rate:g} Hz")
            )
        print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
