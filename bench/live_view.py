"""What watching a run costs the loop, and what a viewer and the MCAP log receive.

1. Cost: ``ddpg-control run --sim --rate-hz 1000 --duration-s 30`` without ``--live``, then the
   same with ``--live`` and a Foxglove client connected (its own process, reading every
   message), ``--pairs`` times, alternating. Per run: missed deadlines (from the run's summary)
   and lateness p50/p99 (from its telemetry CSV). Goals: missed deadlines within +0.05
   percentage points, p99 lateness within +50 us of the run without.
2. Delivery: one ``--long-s`` (60 s) run at 1 kHz with ``--live``, ``--mcap`` and a client
   keeping up. Goals: every tick of the CSV is in the MCAP file; the client receives at least
   99 % of the ticks from its first one on.

    .venv/bin/python bench/live_view.py [--seconds 30] [--long-s 60] [--pairs 1]
        [--policy classical] [--realtime]

The client is ``tests/ddpg_control/foxglove_client.py`` (Foxglove's WebSocket protocol), run in
a process of its own so that it does not share the run's interpreter. Timings on a shared
machine are noisy: compare rows of one run, not runs, and give the load average.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import _harness as harness  # bench/, beside this script
import numpy as np

from ddpg_control.pipeline.mcap_log import read_mcap_telemetry
from ddpg_control.runtime.telemetry import Telemetry

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "ddpg_control.cli.main"]

#: A client in its own process: reads every message until the server closes, then prints the
#: tick times it received as JSON.
CLIENT = """
import json, sys
sys.path.insert(0, {root!r})
from tests.ddpg_control.foxglove_client import FoxgloveClient
client = FoxgloveClient({url!r}, topics=("/tick",)).connect(timeout_s=120).start_reading()
print("connected", flush=True)
client.wait_closed(timeout_s=600)
print(json.dumps([r.message["time_s"] for r in client.on("/tick")]))
"""


@dataclass(frozen=True)
class Run:
    label: str
    ticks: int
    missed: int
    lateness_us: tuple[float, float]  # p50, p99
    cpu: float  # the run's process CPU time per second of run
    csv: Telemetry
    client_times: list[float] | None

    @property
    def missed_pct(self) -> float:
        return 100.0 * self.missed / max(1, self.ticks + self.missed)

    def row(self) -> str:
        got = "" if self.client_times is None else f"{len(self.client_times)}"
        return (
            f"| {self.label} | {self.ticks} | {self.missed} ({self.missed_pct:.3f}%) | "
            f"{self.lateness_us[0]:.1f} / {self.lateness_us[1]:.1f} | {self.cpu:.0%} | {got} |"
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(label: str, folder: Path, seconds: float, policy: str, realtime: bool, *extra: str) -> Run:
    """One ``run --sim`` at 1 kHz; with ``--live`` in ``extra``, a client process watches it."""
    csv = folder / f"{label.replace(' ', '_')}.csv"
    argv = [*CLI, "run", "--sim", "--policy", policy, "--runs-dir", str(folder), "--quiet"]
    argv += ["--rate-hz", "1000", "--duration-s", f"{seconds:g}", "--output", str(csv)]
    argv += ["--realtime"] if realtime else []
    client = None
    if "--live" in extra:
        url = f"ws://127.0.0.1:{extra[list(extra).index('--live') + 1]}"
        code = CLIENT.format(root=str(ROOT), url=url)
        client = subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=ROOT
        )
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([*argv, *extra], capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the run's process (not the client's)
    cpu_s = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if done.returncode != 0:
        sys.exit(f"{label}: the run failed ({done.returncode}):\n{done.stderr}{done.stdout}")
    times = None
    if client is not None:
        out, _ = client.communicate(timeout=120)
        times = json.loads(out.splitlines()[-1])
    match = re.search(r"missed\s+(\d+) deadlines", done.stdout)
    assert match is not None, done.stdout
    telemetry = Telemetry.read_csv(csv)
    lateness = harness.percentiles_us(list(telemetry["lateness_s"]))
    cpu = cpu_s / seconds
    return Run(label, len(telemetry), int(match.group(1)), lateness, cpu, telemetry, times)


def client_share(watched: Run) -> float:
    """The share of the CSV's ticks, from the client's first one on, that it received."""
    assert watched.client_times is not None
    if not watched.client_times:
        return 0.0
    t = watched.csv["time_s"]
    first = int(np.searchsorted(t, watched.client_times[0] - 1e-6))
    return len(set(watched.client_times)) / max(1, len(t) - first)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="each cost run")
    parser.add_argument("--long-s", type=float, default=60.0, help="the delivery run")
    parser.add_argument("--pairs", type=int, default=1, help="cost runs without/with --live")
    parser.add_argument("--policy", default="classical", help="what acts (default: classical)")
    parser.add_argument("--realtime", action="store_true", help="pass --realtime to the runs")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print("| run | ticks | missed deadlines | lateness p50 / p99 us | CPU | client ticks |")
        print("|---|---|---|---|---|---|")
        pairs = []
        for i in range(args.pairs):
            plain = run(f"plain {i + 1}", folder, args.seconds, args.policy, args.realtime)
            print(plain.row(), flush=True)
            live = run(
                f"live {i + 1}",
                folder,
                args.seconds,
                args.policy,
                args.realtime,
                "--live",
                str(free_port()),
            )
            print(live.row(), flush=True)
            pairs.append((plain, live))
        port = str(free_port())
        mcap = folder / "long.mcap"
        long = run(
            "live + mcap",
            folder,
            args.long_s,
            args.policy,
            args.realtime,
            "--live",
            port,
            "--mcap",
            str(mcap),
        )
        print(long.row(), flush=True)

        print()
        for plain, live in pairs:
            missed_pp = live.missed_pct - plain.missed_pct
            p99_us = live.lateness_us[1] - plain.lateness_us[1]
            print(
                f"{live.label} - {plain.label}: missed {missed_pp:+.3f} pp (goal <= +0.05), "
                f"p99 lateness {p99_us:+.1f} us (goal <= +50), client got "
                f"{client_share(live):.2%} of the ticks from its first"
            )
        logged = read_mcap_telemetry(mcap)
        same = len(logged) == len(long.csv) and all(
            [f"{v:.9g}" for v in logged[c]] == [f"{v:.9g}" for v in long.csv[c]]
            for c in long.csv.columns
        )
        print(
            f"{args.long_s:g} s at 1 kHz: {len(long.csv)} ticks in the CSV, {len(logged)} in the "
            f"MCAP ({'every one, equal' if same else 'NOT the same'}); the client got "
            f"{client_share(long):.2%} from its first (goal >= 99%)"
        )
    print(time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))


if __name__ == "__main__":
    main()
