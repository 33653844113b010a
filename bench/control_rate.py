"""Training and balancing at a rig's own control rate, end to end through the CLI.

For each rate: the rig file with its ``control_period_s`` set to 1 / rate, then ``train --env
PyBulletPendulum-v0 --params RIG --randomize`` (the step counts that mean experience scaled
with the rate unless ``--no-scale``: ``--total-steps`` is ``--experience-s`` seconds, 500 by
default as the default 10000 steps at 20 Hz, and ``learning_starts`` and ``eval_every_steps``
are the defaults at 20 Hz times rate / 20, so every rate gets the same seconds), ``export
--onnx`` (``best.pt``, and ``last.pt``: the member of the last evaluation), and for each
``--starts`` runs of ``run --sim --params RIG --virtual-time`` from hanging down
(angle pi + U(-0.1, 0.1) rad, a seed each for the sensor noise). A run balances when it enters
the tight band (|angle| <= 0.02 rad and |velocity| <= 0.2 rad/s) and stays there to the end,
for at least the last ``HOLD_S`` seconds.

    .venv/bin/python bench/control_rate.py --rates 20,100,200 --out bench-out/rate
    .venv/bin/python bench/control_rate.py --rig bench/heavy_friction_rig.toml --rates 20,100 \
        --experience-s 1000 --out bench-out/rate-heavy

A JSON summary is printed and written under --out.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import numpy as np

from ddpg_control.runtime.contracts import wrap_angle
from ddpg_control.runtime.telemetry import Telemetry, holding_upright
from ddpg_control.runtime.toml_config import toml_text

CLI = [sys.executable, "-m", "ddpg_control.cli.main"]
RIG = Path(__file__).with_name("weak_motor_rig.toml")
BAND_RAD, BAND_RAD_S = 0.02, 0.2
HOLD_S = 5.0
DURATION_S = 15.0
#: The default config's step counts, meant at 20 Hz.
STEPS_AT_20HZ = {"learning_starts": 1_000, "eval_every_steps": 1_000}


def cli(*args: str) -> str:
    result = subprocess.run([*CLI, *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def rig_at(rig: Path, rate_hz: float, out: Path) -> Path:
    """``rig`` with ``control_period_s = 1 / rate_hz``, written to ``out``."""
    data = tomllib.loads(rig.read_text(encoding="utf-8"))
    data["pendulum"]["control_period_s"] = 1.0 / rate_hz
    out.write_text(f"# {rig.name} at {rate_hz:g} Hz\n" + toml_text(data), encoding="utf-8")
    return out


def balanced(telemetry: Telemetry) -> tuple[bool, float]:
    """(in the tight band from some moment to the end, for at least HOLD_S; that moment)."""
    t = telemetry["time_s"]
    angle = np.array([abs(wrap_angle(float(a))) for a in telemetry["angle_rad"]])
    inside = (angle <= BAND_RAD) & (np.abs(telemetry["velocity_rad_s"]) <= BAND_RAD_S)
    outside = np.flatnonzero(~inside)
    if len(outside) == 0:
        return True, float(t[0])
    if outside[-1] == len(t) - 1:
        return False, math.nan
    entered_s = float(t[outside[-1] + 1])
    return bool(t[-1] - entered_s >= HOLD_S), entered_s


def swing_ups(policy: Path, rig: Path, starts: int, seed: int, out: Path) -> dict[str, object]:
    """``starts`` runs of ``policy`` (a run directory or an ONNX file) from hanging down."""
    rng = np.random.default_rng(seed)
    angles = math.pi + rng.uniform(-0.1, 0.1, size=starts)
    results, finals, loose = [], [], 0
    for i, angle in enumerate(angles):
        csv = out / f"start-{i}.csv"
        cli(
            "run", "--sim", "--policy", str(policy), "--params", str(rig), "--virtual-time",
            "--duration-s", str(DURATION_S), "--start-angle-rad", repr(float(angle)),
            "--seed", str(seed + i), "--quiet", "-o", str(csv),
        )  # fmt: skip
        telemetry = Telemetry.read_csv(csv)
        results.append(balanced(telemetry))
        finals.append(wrap_angle(float(telemetry["angle_rad"][-1])))
        loose += holding_upright(telemetry)
    entered = [s for ok, s in results if ok]
    return {
        "balanced": sum(ok for ok, _ in results),
        "held_0.1_rad": loose,
        "starts": starts,
        "entered_s_median": float(np.median(entered)) if entered else None,
        "final_angle_rad_mean": float(np.mean(finals)),
        "final_angle_rad_max_abs": float(np.max(np.abs(finals))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rig", type=Path, default=RIG)
    parser.add_argument("--rates", default="20,100,200", help="comma-separated, Hz")
    parser.add_argument("--out", type=Path, default=Path("bench-out/rate"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--starts", type=int, default=20)
    parser.add_argument(
        "--no-scale",
        action="store_true",
        help="no step counts: train's default budget (500 s at the rig's rate, up to 500 s more "
        "until a policy balances)",
    )
    parser.add_argument("--no-last", action="store_true", help="swing-ups of best.pt only")
    parser.add_argument(
        "--experience-s", type=float, default=500.0, help="seconds of experience per learner"
    )
    parser.add_argument("--train-arg", action="append", default=[], help="passed to train")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    summary = {}
    for rate_hz in (float(r) for r in args.rates.split(",")):
        name = f"{rate_hz:g}hz-seed{args.seed}"
        rig = rig_at(args.rig, rate_hz, args.out / f"rig-{rate_hz:g}hz.toml")
        scaled = [] if args.no_scale else [
            "--total-steps", str(round(args.experience_s * rate_hz)),
            "--set", f"learning_starts={round(STEPS_AT_20HZ['learning_starts'] * rate_hz / 20)}",
            "--set", f"eval_every_steps={round(STEPS_AT_20HZ['eval_every_steps'] * rate_hz / 20)}",
        ]  # fmt: skip
        start = time.perf_counter()
        cli(
            "train", "--env", "PyBulletPendulum-v0", "--params", str(rig), "--randomize",
            "--seed", str(args.seed), "--runs-dir", str(args.out / "runs"), "--name", name,
            "--quiet", *scaled, *args.train_arg,
        )  # fmt: skip
        train_s = time.perf_counter() - start
        run_dir = args.out / "runs" / name
        cli("export", "--onnx", "--policy", str(run_dir))
        steps = int(tomllib.loads((run_dir / "config.toml").read_text())["total_steps"])
        rows = (run_dir / "metrics.csv").read_text().splitlines()
        trained = int(rows[-1].split(",")[0])  # env_steps of the last evaluation
        summary[f"{rate_hz:g} Hz"] = {
            "train_s": round(train_s, 1),
            "load_average": os.getloadavg(),
            "total_steps": steps,
            "steps_trained": trained,
            "best.pt": swing_ups(run_dir, rig, args.starts, args.seed, run_dir / "telemetry"),
        }
        if not args.no_last:
            last = run_dir / "last.onnx"  # the member the last evaluation found best
            last_pt = str(run_dir / "checkpoints" / "last.pt")
            cli("export", "--policy", last_pt, "-o", str(last))
            telemetry = run_dir / "telemetry-last"
            summary[f"{rate_hz:g} Hz"]["last.pt"] = swing_ups(
                last, rig, args.starts, args.seed, telemetry
            )
        print(json.dumps({f"{rate_hz:g} Hz": summary[f"{rate_hz:g} Hz"]}), flush=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
