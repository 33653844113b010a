"""Swing-up check: how many of N randomised runs hold upright, in virtual time.

Runs the real control loop (real onnxruntime policy, real PyBullet plant, simulated clock) from
hanging down with a random offset (up to --angle-spread rad, up to --velocity-spread rad/s) and
counts runs within 0.1 rad of upright for the whole last 5 s of a --seconds run.

    .venv/bin/python bench/swing_up.py --policy runs/<name>/policy.onnx --preset realistic
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

from ddpg_control.pipeline.controllers import estimator_for, observer_for
from ddpg_control.pipeline.runs import DEFAULT_RUNS_ROOT, latest_run
from ddpg_control.runtime.control_loop import LoopConfig, run_loop
from ddpg_control.runtime.run_layout import POLICY_FILE
from ddpg_control.runtime.timing import SimulatedClock
from export.runtime import OnnxPolicy
from sim.params import preset
from sim.plant import SimPlant


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policy", type=Path, default=None, help="default: latest run's")
    parser.add_argument("--preset", default="default", help="simulator preset")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--angle-spread", type=float, default=0.5, help="+- rad around pi")
    parser.add_argument("--velocity-spread", type=float, default=1.0, help="+- rad/s")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    path = args.policy or latest_run(DEFAULT_RUNS_ROOT, containing=POLICY_FILE) / POLICY_FILE
    policy = OnnxPolicy.load(path)
    params = preset(args.preset)
    estimator = estimator_for(policy, params.reports_velocity, policy.control_period_s)
    rng = np.random.default_rng(args.seed)
    held = 0
    started = time.perf_counter()
    for run in range(args.runs):
        angle = math.pi + rng.uniform(-args.angle_spread, args.angle_spread)
        velocity = rng.uniform(-args.velocity_spread, args.velocity_spread)
        clock = SimulatedClock()
        plant = SimPlant(
            params,
            clock=clock,
            start_angle_rad=angle,
            start_velocity_rad_s=velocity,
            seed=args.seed * 1000 + run,
        )
        config = LoopConfig(period_s=policy.control_period_s, duration_s=args.seconds)
        observer = observer_for(estimator)
        summary = run_loop(plant, policy, clock, config, observer=observer).summary()
        held += summary.holding_upright
        print(
            f"run {run:2d}: start {angle:+.3f} rad {velocity:+.3f} rad/s -> final "
            f"{summary.final_angle_rad:+.4f} rad, {'held' if summary.holding_upright else 'FAILED'}"
        )
    print(
        f"{path} on preset {args.preset!r}: held upright in {held} of {args.runs} runs "
        f"({time.perf_counter() - started:.1f} s)"
    )


if __name__ == "__main__":
    main()
