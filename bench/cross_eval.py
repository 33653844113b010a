"""Cross-evaluation: policies trained on one pendulum, evaluated on all three.

Trains (with ``ddpg-control train``) a policy on Pendulum-v1, on PyBulletPendulum-v0 and on
PyBulletPendulum-v0 with the realistic preset and domain randomisation, then evaluates each
one deterministically over N episodes (``reset(seed=10_000 + i)``: seeds the trainer never used
to pick its best checkpoint) on all three plus a harder "stress" variant that no policy trained
on, and prints a Markdown table for docs/sim.md.

    .venv/bin/python bench/cross_eval.py                     # train all three, then evaluate
    .venv/bin/python bench/cross_eval.py --seeds 0 1 2       # three training seeds per variant
    .venv/bin/python bench/cross_eval.py --skip-training     # evaluate runs already there

Runs go to ``runs/cross_eval/<variant>-seed<S>``; a run that already has its best checkpoint is
not trained again.
"""

from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

from ddpg_control.learning.checkpoint import load_actor
from ddpg_control.runtime.run_layout import BEST_CHECKPOINT
from sim import PYBULLET_ENV_ID  # importing sim registers it with Gymnasium
from sim.params import RandomizationRanges


@dataclass(frozen=True)
class Variant:
    label: str
    run_name: str
    env_id: str
    train_args: tuple[str, ...]
    make_kwargs: dict[str, object]


VARIANTS = (
    Variant("Pendulum-v1", "pendulum-v1", "Pendulum-v1", (), {}),
    Variant(PYBULLET_ENV_ID, "pybullet", PYBULLET_ENV_ID, (), {}),
    Variant(
        f"{PYBULLET_ENV_ID} realistic + randomize",
        "pybullet-randomized",
        PYBULLET_ENV_ID,
        ("--preset", "realistic", "--randomize"),
        {"preset": "realistic", "randomize": True},
    ),
)

#: Evaluation only (no policy is trained on it): the realistic preset with wider ranges than
#: training saw (heavier, longer, twice the friction, up to 20 ms latency).
STRESS = Variant(
    "stress (evaluation only)",
    "",
    PYBULLET_ENV_ID,
    (),
    {
        "preset": "realistic",
        "randomize": True,
        "ranges": RandomizationRanges(
            mass_kg=(0.6, 1.4),
            length_m=(0.8, 1.2),
            joint_damping_nm_s_rad=(0.0, 0.1),
            joint_friction_nm=(0.0, 0.2),
            action_latency_s=(0.0, 0.02),
        ),
    },
)


def run_name(variant: Variant, seed: int) -> str:
    return f"{variant.run_name}-seed{seed}"


def train(variant: Variant, runs_dir: Path, seed: int, total_steps: int) -> float:
    command = [
        sys.executable,
        "-m",
        "ddpg_control.cli.main",
        "train",
        "--env",
        variant.env_id,
        *variant.train_args,
        "--seed",
        str(seed),
        "--total-steps",
        str(total_steps),
        "--runs-dir",
        str(runs_dir),
        "--name",
        run_name(variant, seed),
        "--quiet",
    ]
    print("$", " ".join(command[3:]), flush=True)
    start = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - start


#: An episode "holds" if the true angle stays within this of upright over its last 50 steps.
HOLD_TOLERANCE_RAD = 0.1
HOLD_STEPS = 50


@dataclass(frozen=True)
class Outcome:
    returns: list[float]
    held: list[bool]


def evaluate(actor: torch.nn.Module, variant: Variant, episodes: int) -> Outcome:
    env = gym.make(variant.env_id, **variant.make_kwargs)
    returns, held = [], []
    with torch.inference_mode():
        for i in range(episodes):
            obs, _ = env.reset(seed=10_000 + i)
            total, done, angles = 0.0, False, []
            while not done:
                action = actor(torch.as_tensor(obs, dtype=torch.float32)).numpy()
                obs, reward, terminated, truncated, _ = env.step(action.astype(np.float32))
                total += float(reward)
                done = terminated or truncated
                # Both envs keep the true angle in .state (the observation may be noisy).
                angles.append(float(env.unwrapped.state[0]))
            returns.append(total)
            tail = np.abs(np.arctan2(np.sin(angles[-HOLD_STEPS:]), np.cos(angles[-HOLD_STEPS:])))
            held.append(bool(np.all(tail < HOLD_TOLERANCE_RAD)))
    env.close()
    return Outcome(returns, held)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-dir", type=Path, default=Path("runs/cross_eval"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], metavar="SEED")
    parser.add_argument("--total-steps", type=int, default=30000)
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--skip-training", action="store_true", help="never train; runs must exist")
    args = parser.parse_args()

    for seed in args.seeds:
        for variant in VARIANTS:
            done = (args.runs_dir / run_name(variant, seed) / BEST_CHECKPOINT).is_file()
            if not (done or args.skip_training):
                seconds = train(variant, args.runs_dir, seed, args.total_steps)
                print(f"trained {variant.label}, seed {seed}, in {seconds:.0f} s", flush=True)

    torch.set_num_threads(1)
    targets = (*VARIANTS, STRESS)
    # table[trained][target] holds one Outcome per training seed.
    table: dict[str, dict[str, list[Outcome]]] = {v.label: {} for v in VARIANTS}
    for trained in VARIANTS:
        for seed in args.seeds:
            actor, _ = load_actor(args.runs_dir / run_name(trained, seed) / BEST_CHECKPOINT)
            actor.eval()
            for target in targets:
                outcome = evaluate(actor, target, args.episodes)
                table[trained.label].setdefault(target.label, []).append(outcome)
            print(f"evaluated the policy trained on {trained.label}, seed {seed}", flush=True)
    print_tables(table, [t.label for t in targets], args.episodes, len(args.seeds))


def print_tables(
    table: dict[str, dict[str, list[Outcome]]], labels: list[str], n: int, seeds: int
) -> None:
    own_labels = [v.label for v in VARIANTS]
    header = "| trained on \\ evaluated on | " + " | ".join(labels)
    rule = "|---" * (len(labels) + 1)
    spread = "across training seeds" if seeds > 1 else "across episodes"
    print()
    print(
        f"Mean return over {seeds} training seed(s) x {n} episodes, +- standard error "
        f"{spread} (higher is better; 0 is perfect)."
    )
    print("Drop = return on the training env minus return on another env (lower is better).")
    print()
    print(header + " | largest drop | drop to stress |")
    print(rule + "|---|---|")
    for trained, row in table.items():
        means, errors = {}, {}
        for t in labels:
            per_seed = [statistics.fmean(o.returns) for o in row[t]]
            pooled = [r for o in row[t] for r in o.returns]
            means[t] = statistics.fmean(pooled)
            sample = per_seed if seeds > 1 else pooled
            errors[t] = statistics.stdev(sample) / math.sqrt(len(sample))
        cells = [f"{means[t]:.1f} +- {errors[t]:.1f}" for t in labels]
        drop = max(means[trained] - means[t] for t in own_labels if t != trained)
        stress = means[trained] - means[STRESS.label]
        print(f"| {trained} | " + " | ".join(cells) + f" | {drop:.1f} | {stress:.1f} |")
    print()
    print(
        f"Episodes holding upright (|theta| < {HOLD_TOLERANCE_RAD} rad over the last "
        f"{HOLD_STEPS} steps), out of {n * seeds}."
    )
    print()
    print(header + " |")
    print(rule + "|")
    for trained, row in table.items():
        cells = [str(sum(sum(o.held) for o in row[t])) for t in labels]
        print(f"| {trained} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
