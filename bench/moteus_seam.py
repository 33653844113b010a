"""The cost of the asyncio seam of the moteus driver, and the loop rate it sustains.

1. Round trip, against the emulated moteus (``emulate --driver moteus``, its own process) on a
   pseudo-terminal: ``MoteusPlant.read()`` (a synchronous call handed to the plant's event-loop
   thread, the vendor's ``Controller.query()`` there, the reply back) against the peer, the same
   ``await controller.query()`` made directly inside an asyncio event loop (no thread hop), on
   the same emulator, in alternating blocks so all see the same machine load; for both seams
   of event_loop.py (its own loop thread, or the loop run inline on the caller's thread).
   Likewise ``MoteusPlant.apply()`` against ``await set_position(...)``.
2. Loop rate: the real control loop (run_loop: ticker, safety, telemetry) with a PD balancing
   policy, through ``--driver moteus`` (both seams) and, as the peer, ``--driver ddpg`` (this
   project's own protocol), at rising rates; the highest rate with < 0.1 % missed deadlines
   for each.

    .venv/bin/python bench/moteus_seam.py [--samples 3000] [--blocks 6] [--seconds 3]

Timings on a shared machine are noisy; compare the peers of one run, not runs.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import time
from typing import Any

import _harness as harness  # bench/, beside this script

from ddpg_control.runtime.errors import DdpgControlError, PlantError
from hardware.drivers.moteus.plant import MoteusPlant
from hardware.link import LinkConfig

#: The pause after each command, in both peers, as in a control loop between ticks.
GAP_S = 0.003


def _torque_kwargs(torque_nm: float) -> dict[str, Any]:
    return dict(
        position=math.nan,
        velocity=0.0,
        feedforward_torque=torque_nm,
        kp_scale=0.0,
        kd_scale=0.0,
        maximum_torque=2.0,
        watchdog_timeout=0.1,
        query=False,
    )


def raw_asyncio_block(port: str, samples: int) -> tuple[list[float], list[float]]:
    import moteus

    async def main() -> tuple[list[float], list[float]]:
        transport = moteus.Fdcanusb(port, command_timeout=0.05, response_timeout=0.05)
        controller = moteus.Controller(id=1, transport=transport)
        queries, commands = [], []
        try:
            await controller.set_stop()  # leaves a timeout a stalled block may have latched
            for _ in range(samples):
                start = time.perf_counter()
                await controller.query()
                queries.append(time.perf_counter() - start)
                start = time.perf_counter()
                await controller.set_position(**_torque_kwargs(0.0))
                commands.append(time.perf_counter() - start)
                await asyncio.sleep(GAP_S)
            await controller.set_stop()
        finally:
            transport.close()
        return queries, commands

    return asyncio.run(main())


def plant_block(port: str, samples: int, event_loop: str) -> tuple[list[float], list[float]]:
    queries: list[float] = []
    commands: list[float] = []
    # clear_faults: a stall of the loaded machine longer than the watchdog latches mode 11;
    # the block then starts again, and the stall is reported.
    config = LinkConfig(reply_timeout_s=0.05, clear_faults=True)
    while len(queries) < samples:
        try:
            with MoteusPlant(port, config, event_loop=event_loop) as plant:
                while len(queries) < samples:
                    start = time.perf_counter()
                    plant.read()
                    queries.append(time.perf_counter() - start)
                    start = time.perf_counter()
                    plant.apply(0.0)
                    commands.append(time.perf_counter() - start)
                    time.sleep(GAP_S)  # as in a control loop: the queued command completes
        except PlantError as exc:
            print(f"  ({event_loop} seam: {exc}; starting the block again)")
    return queries, commands


def round_trip(samples: int, blocks: int) -> None:
    emu = harness.emulator("moteus")
    port = emu.port
    peers = {
        "raw": lambda n: raw_asyncio_block(port, n),
        "thread": lambda n: plant_block(port, n, "thread"),
        "inline": lambda n: plant_block(port, n, "inline"),
    }
    queries: dict[str, list[float]] = {name: [] for name in peers}
    commands: dict[str, list[float]] = {name: [] for name in peers}
    per_block = max(1, samples // blocks)
    try:
        for _ in range(blocks):  # alternating, so every peer sees the same machine load
            for name, block in peers.items():
                q, c = block(per_block)
                queries[name] += q
                commands[name] += c
    finally:
        emu.stop()
    rows = [
        ("await controller.query()", queries["raw"]),
        ("MoteusPlant.read(), thread seam", queries["thread"]),
        ("MoteusPlant.read(), inline seam", queries["inline"]),
        ("await controller.set_position()", commands["raw"]),
        ("MoteusPlant.apply(), thread (queued)", commands["thread"]),
        ("MoteusPlant.apply(), inline", commands["inline"]),
    ]
    n = len(queries["raw"])
    print(f"round trip, {n} samples each (microseconds), emulated moteus at {port}:")
    for name, times in rows:
        p50, p99 = harness.percentiles_us(times)
        print(f"  {name:38s} p50 {p50:8.1f}  p99 {p99:8.1f}")
    r50, r99 = harness.percentiles_us(queries["raw"])
    for seam in ("thread", "inline"):
        p50, p99 = harness.percentiles_us(queries[seam])
        print(
            f"  read() {seam:6s} / query(): p50 {p50 / r50:5.2f}  p99 {p99 / r99:5.2f}"
            f"   seam cost p50 {p50 - r50:8.1f} us"
        )
    r50, _ = harness.percentiles_us(commands["raw"])
    for seam in ("thread", "inline"):
        p50, _ = harness.percentiles_us(commands[seam])
        print(f"  apply() {seam:6s} / set_position(): p50 {p50 / r50:5.2f}")


def loop_rates(drivers: list[str], rates_hz: list[float], seconds: float) -> None:
    print(f"\nreal control loop over each driver's emulator, {seconds:g} s per rate:")
    print(f"  driver         {harness.RATE_HEADER}")
    for entry in drivers:
        driver, _, event_loop = entry.partition(":")  # e.g. moteus:inline
        options = {"event_loop": event_loop} if event_loop else {}
        best = 0.0
        for rate in rates_hz:
            with harness.emulator(driver) as emu:
                try:
                    plant = harness.open_plant(driver, emu.port, 1.0 / rate, options=options)
                except DdpgControlError as exc:
                    print(f"  {entry:13s}  {rate:7.0f}  could not start: {exc}")
                    continue
                result = harness.loop_at(plant, rate, seconds)
            print(f"  {entry:13s}  {result.row()}")
            if result.sustained:
                best = max(best, rate)
        print(f"  {entry}: highest rate with < 0.1% missed deadlines: {best:g} Hz")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=3000)
    parser.add_argument("--blocks", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rates", type=float, nargs="+", default=[100, 200, 300, 500, 1000])
    parser.add_argument("--drivers", nargs="+", default=["moteus:thread", "moteus:inline", "ddpg"])
    args = parser.parse_args()
    round_trip(args.samples, args.blocks)
    loop_rates(args.drivers, args.rates, args.seconds)


if __name__ == "__main__":
    main()
