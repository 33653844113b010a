"""Velocity estimators compared: finite difference (with and without a low-pass) and alpha-beta.

The classical controller (energy shaping + LQR) swings the realistic preset's pendulum up from
hanging down, seeing the velocity of the estimator under test (12-bit encoder, 2 ms late, no
velocity from the device, angle noise). For each estimator: the RMS error against the true
velocity at each 50 ms tick, over the swing-up (first 5 s) and over the hold (last 5 s), and
how many of N runs held within 0.1 rad of upright for the last 5 s. Same starts and plant seeds
for every estimator, so the ratios between rows are the comparison.

    .venv/bin/python bench/velocity_estimators.py --runs 20
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from ddpg_control.pipeline.controllers import classical_controller
from ddpg_control.runtime.contracts import make_observation
from ddpg_control.runtime.timing import SimulatedClock
from ddpg_control.runtime.velocity_estimation import EstimatingObserver, EstimatorSpec
from sim.params import preset
from sim.plant import SimPlant

PERIOD_S = 0.05
CANDIDATES = {
    "finite difference": EstimatorSpec("finite_difference", PERIOD_S),
    "finite difference + 5 Hz low-pass": EstimatorSpec(
        "finite_difference", PERIOD_S, cutoff_hz=5.0
    ),
    "finite difference + 2 Hz low-pass": EstimatorSpec(
        "finite_difference", PERIOD_S, cutoff_hz=2.0
    ),
    "alpha-beta (0.85, 0.6)": EstimatorSpec("alpha_beta", PERIOD_S, alpha=0.85, beta=0.6),
    "alpha-beta (0.5, 0.2)": EstimatorSpec("alpha_beta", PERIOD_S, alpha=0.5, beta=0.2),
}


def episode(
    spec: EstimatorSpec, start: tuple[float, float], seed: int
) -> tuple[float, float, bool]:
    params = preset("realistic")
    controller = classical_controller(params)
    observer = EstimatingObserver(spec)
    clock = SimulatedClock()
    ticks = round(15.0 / PERIOD_S)
    errors, angles = np.empty(ticks), np.empty(ticks)
    with SimPlant(
        params, clock=clock, start_angle_rad=start[0], start_velocity_rad_s=start[1], seed=seed
    ) as plant:
        for k in range(ticks):
            clock.sleep_until(k * PERIOD_S)
            angles[k], true_velocity = plant.true_state()
            state = observer(plant.read())
            errors[k] = state.velocity_rad_s - true_velocity
            plant.apply(controller(make_observation(state.angle_rad, state.velocity_rad_s)))
    hold = round(5.0 / PERIOD_S)
    swing_rms = float(np.sqrt(np.mean(errors[1:hold] ** 2)))
    hold_rms = float(np.sqrt(np.mean(errors[-hold:] ** 2)))
    return swing_rms, hold_rms, bool(np.all(np.abs(angles[-hold:]) < 0.1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    starts = [(math.pi + rng.uniform(-0.5, 0.5), rng.uniform(-1.0, 1.0)) for _ in range(args.runs)]
    rows = []
    for name, spec in CANDIDATES.items():
        results = [episode(spec, start, 1000 + i) for i, start in enumerate(starts)]
        swing, hold, held = (np.array(column) for column in zip(*results, strict=True))
        rows.append((name, float(np.mean(swing)), float(np.mean(hold)), int(held.sum())))
    base_swing, base_hold = rows[0][1], rows[0][2]
    print(
        "| estimator | RMS error swing-up [rad/s] | RMS error hold [rad/s] | "
        f"held (of {args.runs}) |"
    )
    print("|---|---|---|---|")
    for name, swing, hold, held in rows:
        print(
            f"| {name} | {swing:.3f} ({swing / base_swing:.2f}x) | {hold:.4f} "
            f"({hold / base_hold:.2f}x) | {held} |"
        )


if __name__ == "__main__":
    main()
