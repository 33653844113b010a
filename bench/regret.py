"""Paired regret on Pendulum-v1 against the optimal controller, with balance figures.

Every policy runs from the same N start states (``reset(seed=SEED + i)``, the env's own start
distribution) in lockstep, in Pendulum-v1's exact dynamics; each episode's return is subtracted
from the optimal return from the same start (dynamic programming on a grid, then the realised
return of its greedy controller: ddpg_control.pipeline.optimum). Prints, per policy: mean regret
+- standard error, the per-episode std of regret and the N it would need for a standard error of
--target-se, the share that ends upright (within 0.1 rad for the last 2 s), the resting angle and
torque over those episodes' last 2 s, the share that enters the tight band (0.02 rad and 0.2
rad/s) and stays to the end, and the mean time to do so. ``--breakdown`` adds, per policy,
where it loses: regret by |start angle| and the part of it from episodes that lost more than 20
(a failed swing that pumps again).

N defaults to 4000, chosen from the measured spread: the per-episode std of regret is about 18
for a default-trained policy and 25 for the classical controller (4000 starts), so 300 starts
give a standard error of 1.0-1.4 and 4000 starts 0.3-0.4; the 'N for se' column says what
--target-se needs at each policy's own spread. To tell two policies apart, compare them start by
start (ddpg_control.pipeline.regret.paired_difference).

    .venv/bin/python bench/regret.py classical runs/<name>/policy.onnx runs/<name>
    .venv/bin/python bench/regret.py optimal zero           # the two ends of the scale
    .venv/bin/python bench/regret.py --convergence          # the grid's convergence table

POLICY is an ONNX file, a checkpoint (.pt), a run directory (its policy.onnx, else
checkpoints/best.pt), ``classical`` (energy shaping + LQR for Pendulum-v1), ``optimal`` (the
DP's greedy controller, whose regret is 0 by construction) or ``zero`` (no torque). The DP
tables (508 MB at the default grid) and the optimal returns of each start set are cached (see
--cache-dir): the first call takes about a minute, later ones seconds.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ddpg_control.pipeline.controllers import classical_controller
from ddpg_control.pipeline.optimum import Grid, cache_folder, greedy_rollout, load_tables, solve
from ddpg_control.pipeline.regret import (
    DEFAULT_EPISODES,
    DEFAULT_SEED,
    PairedOptimum,
    RegretResult,
    by_start_angle,
    costly_part,
    measure_regret,
    paired_optimum,
    result_of,
)
from ddpg_control.runtime.run_layout import BEST_CHECKPOINT, POLICY_FILE
from sim import pendulum_v1 as env
from sim.params import preset


def load_controller(name: str) -> env.BatchController:
    """A batched controller for ``name`` (see the module's docstring)."""
    if name == "classical":
        return env.per_observation(classical_controller(preset("default")))
    if name == "zero":
        return lambda obs: np.zeros(len(obs))
    path = Path(name)
    if path.is_dir():
        path = path / POLICY_FILE if (path / POLICY_FILE).is_file() else path / BEST_CHECKPOINT
    if path.suffix == ".onnx":
        from export.runtime import OnnxPolicy

        return OnnxPolicy.load(path).act_batch
    from ddpg_control.learning.agent import actor_policy
    from ddpg_control.learning.checkpoint import load_actor

    actor, _ = load_actor(path)
    policy: Callable[[np.ndarray], np.ndarray] = actor_policy(actor)
    return policy


def measure(name: str, optimum: PairedOptimum, grid: Grid, cache_dir: Path) -> RegretResult:
    if name == "optimal":
        tables = load_tables(grid, cache_dir)
        return result_of(
            greedy_rollout(tables, optimum.angles_rad, optimum.velocities_rad_s), optimum
        )
    return measure_regret(load_controller(name), optimum)


HEADER = (
    "| policy | regret (+- se) | std | N for se {se:g} | ends upright | rest angle [rad] "
    "(mean abs) | rest torque [N*m] | tight band | time to tight [s] |\n"
    "|---|---|---|---|---|---|---|---|---|"
)


def row(name: str, result: RegretResult, target_se: float) -> str:
    return (
        f"| {name} | {result.mean_regret:.2f} +- {result.regret_se:.2f} | "
        f"{result.regret_std:.1f} | {result.episodes_for_se(target_se)} | "
        f"{result.upright_share:.3f} | {result.rest_angle_rad:+.4f} "
        f"({result.rest_abs_angle_rad:.4f}) | {result.rest_torque_nm:+.3f} | "
        f"{result.tight_share:.3f} | {result.mean_tight_entry_s:.2f} |"
    )


def breakdown(name: str, result: RegretResult, optimum: PairedOptimum) -> str:
    share, part = costly_part(result)
    lines = [
        f"\n{name}: {share:.1%} of the episodes lost more than 20 each, {part:.0%} of the "
        "regret\n\n| abs(start angle) [rad] | starts | regret | lost > 20 |\n|---|---|---|---|"
    ]
    for b in by_start_angle(result, optimum):
        lines.append(
            f"| {b.low_rad:.2f}-{b.high_rad:.2f} | {b.episodes} | {b.mean_regret:.1f} | "
            f"{b.costly_share:.2f} |"
        )
    return "\n".join(lines) + "\n"


def convergence(base: Grid, episodes: int, seed: int) -> None:
    """The mean optimum over the starts for the grid and its refinements, one axis at a time."""
    angles, velocities = env.start_states(episodes, seed)
    refinements = [
        ("chosen grid", base),
        (
            "half the angles and velocities",
            Grid(
                base.angles // 2,
                base.velocities // 2 + 1,
                base.torques,
                base.lookahead_torques,
                base.backups,
            ),
        ),
        (
            "2x angles",
            Grid(
                2 * base.angles, base.velocities, base.torques, base.lookahead_torques, base.backups
            ),
        ),
        (
            "2x velocities",
            Grid(
                base.angles,
                2 * base.velocities - 1,
                base.torques,
                base.lookahead_torques,
                base.backups,
            ),
        ),
        (
            "2x torques",
            Grid(
                base.angles,
                base.velocities,
                2 * base.torques - 1,
                base.lookahead_torques,
                base.backups,
            ),
        ),
        (
            "2x lookahead torques",
            Grid(
                base.angles,
                base.velocities,
                base.torques,
                2 * base.lookahead_torques - 1,
                base.backups,
            ),
        ),
        (
            "all 200 backups",
            Grid(
                base.angles,
                base.velocities,
                base.torques,
                base.lookahead_torques,
                env.EPISODE_STEPS,
            ),
        ),
    ]
    print(
        f"| grid (angles x velocities x torques, lookahead, backups) | mean optimum over "
        f"{episodes} starts | change | grid's own value | solve [s] |"
    )
    print("|---|---|---|---|---|")
    reference = None
    for label, grid in refinements:
        started = time.perf_counter()
        tables = solve(grid)
        solved = time.perf_counter() - started
        rollout = greedy_rollout(tables, angles, velocities)
        mean = float(np.mean(rollout.returns))
        grid_value = float(np.mean(tables.value(angles, velocities, env.EPISODE_STEPS)))
        reference = mean if reference is None else reference
        print(
            f"| {label}: {grid.angles} x {grid.velocities} x {grid.torques}, "
            f"{grid.lookahead_torques}, {grid.backups} | {mean:.3f} | {mean - reference:+.3f} | "
            f"{grid_value:.3f} | {solved:.1f} |",
            flush=True,
        )
        del tables


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("policies", nargs="*", metavar="POLICY", default=["classical"])
    parser.add_argument(
        "--episodes",
        type=int,
        default=DEFAULT_EPISODES,
        help=f"start states N (default {DEFAULT_EPISODES})",
    )
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help="start i is reset(seed=SEED + i)"
    )
    parser.add_argument("--target-se", type=float, default=0.3, help="for the 'N for se' column")
    default = Grid()
    parser.add_argument("--angles", type=int, default=default.angles, help="grid angles")
    parser.add_argument("--velocities", type=int, default=default.velocities)
    parser.add_argument("--torques", type=int, default=default.torques)
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help=f"where the DP tables are cached (default {cache_folder()})",
    )
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="also print each policy's regret by |start angle| and its costly episodes",
    )
    parser.add_argument(
        "--convergence",
        action="store_true",
        help="print the mean optimum for the grid and its refinements instead",
    )
    args = parser.parse_args()
    grid = Grid(args.angles, args.velocities, args.torques)
    if args.convergence:
        convergence(grid, args.episodes, args.seed)
        return
    cache_dir = args.cache_dir or cache_folder()
    started = time.perf_counter()
    optimum = paired_optimum(args.episodes, args.seed, grid, cache_dir)
    print(
        f"optimum: {optimum.episodes} starts reset(seed={args.seed}..), grid {grid.angles} x "
        f"{grid.velocities} x {grid.torques}: mean {np.mean(optimum.returns):.2f} (grid's value "
        f"{np.mean(optimum.grid_values):.2f}), {time.perf_counter() - started:.1f} s; "
        f"load {os.getloadavg()[0]:.2f}",
        file=sys.stderr,
    )
    print(HEADER.format(se=args.target_se))
    breakdowns: list[str] = []
    for name in args.policies:
        started = time.perf_counter()
        result = measure(name, optimum, grid, cache_dir)
        print(row(name, result, args.target_se), flush=True)
        print(f"  ({time.perf_counter() - started:.1f} s)", file=sys.stderr)
        if args.breakdown:
            breakdowns.append(breakdown(name, result, optimum))
    print("".join(breakdowns), end="")


if __name__ == "__main__":
    main()
