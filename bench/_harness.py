"""What the serial benches share: their peers (a driver's emulator, the C host device, a bare pty
echo) each in its own process like a device, the plant opened through the driver registry as
``run --device`` opens it, the PD balancing policy and the real control loop at one rate."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ddpg_control.runtime.contracts import Plant
from ddpg_control.runtime.control_loop import LoopConfig, LoopResult, run_loop
from ddpg_control.runtime.timing import MonotonicClock
from hardware.drivers import DeviceSettings, get_driver, load

#: A bare pty echo: no protocol, no device, no physics. Prints its pty path, then echoes.
ECHO = """
import os, select, sys, tty
master, slave = os.openpty()
tty.setraw(slave)
print(os.ttyname(slave), flush=True)
while True:
    select.select([master], [], [])
    os.write(master, os.read(master, 4096))
"""

C_DEVICE = Path(__file__).resolve().parents[1] / "hardware" / "firmware" / "build" / "ddpg-fw-host"
#: Unanswered reads the benches' plants allow: they count missing replies rather than stop.
MAX_MISSED_READS = 1000


@dataclass
class Peer:
    """A device process and the port (path or URL) a host opens to reach it."""

    proc: subprocess.Popen[str]
    port: str

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()

    def __enter__(self) -> Peer:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def start(cmd: list[str], *, realtime: bool = False) -> Peer:
    """Run ``cmd``, which prints its port alone on its first line. ``realtime``: SCHED_FIFO
    on CPU 0 (the host goes on CPU 1; needs root)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    if realtime:
        os.sched_setaffinity(proc.pid, {0})
        os.sched_setscheduler(proc.pid, os.SCHED_FIFO, os.sched_param(49))
    return Peer(proc, proc.stdout.readline().strip())


def emulator(driver: str = "ddpg", *options: str, realtime: bool = False) -> Peer:
    """``ddpg-control emulate --driver DRIVER``, the pendulum starting upright."""
    cmd = [sys.executable, "-m", "ddpg_control.cli.main", "emulate", "--driver", driver]
    return start([*cmd, "--start-angle-rad", "0", *options], realtime=realtime)


def c_device(*, realtime: bool = False) -> Peer:
    """The C firmware core's host build behind a pty (``make firmware`` builds it)."""
    if not C_DEVICE.exists():
        sys.exit(f"{C_DEVICE} is missing: run 'make firmware' first")
    return start([str(C_DEVICE), "--start-angle-rad", "0"], realtime=realtime)


def echo(*, realtime: bool = False) -> Peer:
    return start([sys.executable, "-c", ECHO], realtime=realtime)


def open_plant(
    driver: str,
    port: str,
    period_s: float,
    *,
    baud: int | None = None,
    options: Mapping[str, float | str] | None = None,
    max_missed_reads: int = MAX_MISSED_READS,
) -> Plant:
    """The driver's plant through the registry, as ``run --device PORT --driver X`` opens it,
    without the stuck-sensor check and (by default) counting missed replies instead of stopping
    on them."""
    spec = get_driver(driver)
    settings = DeviceSettings(
        driver=driver,
        port=port,
        baud=baud or spec.default_baud,
        device_id=spec.default_id,
        period_s=period_s,
        stuck_sensor_s=0.0,
        options=spec.parse_options(options or {}),
        max_missed_reads=max_missed_reads,
    )
    plant: Plant = load(spec.plant)(settings)
    return plant


def percentiles_us(samples: list[float]) -> tuple[float, float]:
    """(p50, p99) of durations in seconds, in microseconds; nan for none."""
    if not samples:
        return math.nan, math.nan
    p50, p99 = np.percentile(np.array(samples) * 1e6, [50, 99])
    return float(p50), float(p99)


class BalancePolicy:
    """PD control about upright: enough to keep the pendulum up at any rate."""

    max_torque_nm = 2.0

    def __call__(self, observation: np.ndarray) -> float:
        cos_t, sin_t, velocity = (float(v) for v in observation)
        angle = float(np.arctan2(sin_t, cos_t))
        return float(np.clip(-10.0 * angle - 2.0 * velocity, -1.9, 1.9))


@dataclass(frozen=True)
class RateResult:
    rate_hz: float
    achieved_hz: float
    missed_share: float  # of deadlines
    lost_share: float  # of requests without a reply (nan where the plant does not count)
    read_us: tuple[float, float]  # p50, p99
    fault: str  # '' when the loop completed

    @property
    def sustained(self) -> bool:
        """Fewer than 0.1 % missed deadlines and no fault."""
        return self.missed_share < 0.001 and not self.fault

    def row(self) -> str:
        return (
            f"{self.rate_hz:7.0f}  {self.achieved_hz:11.1f}  {self.missed_share:15.3%}  "
            f"{self.lost_share:15.3%}  {self.read_us[0]:7.1f} / {self.read_us[1]:7.1f}"
            + (f"  ({self.fault})" if self.fault else "")
        )


RATE_HEADER = "rate Hz  achieved Hz  missed deadlines  missing replies  read p50/p99 us"


def loop_at(plant: Plant, rate_hz: float, seconds: float) -> RateResult:
    """The real control loop (ticker, safety layer, telemetry) with :class:`BalancePolicy`."""
    result: LoopResult = run_loop(
        plant,
        BalancePolicy(),
        MonotonicClock(),
        LoopConfig(period_s=1.0 / rate_hz, duration_s=seconds),
    )
    missed = result.missed_deadlines / max(1, result.ticks + result.missed_deadlines)
    counters = getattr(plant, "stats", plant)  # LinkStats, or the plant's own counters
    missing = getattr(counters, "missing_replies", None)
    requests = max(1, getattr(counters, "requests", 0))
    lost = math.nan if missing is None else missing / requests
    return RateResult(
        rate_hz=rate_hz,
        achieved_hz=result.ticks / seconds,
        missed_share=missed,
        lost_share=lost,
        read_us=percentiles_us(list(result.telemetry["read_s"])),
        fault="" if result.exit_code == 0 else result.message,
    )
