"""Population training: wall-clock of K = 1, 2, 4, 8, 16 stacked learners for the same step budget.

Every K trains on Pendulum-v1 for ``--steps`` env steps per member (no early stop), one after
the other in this process, with the same seed and torch thread count; the rounds repeat the
whole sweep so load from other work on the machine hits every K alike. "train s" is the
trainer's own clock (rollout, updates, the periodic evaluations of all members and the
checkpoints; not the final 100-episode choice of best.pt, reported apart as "choose s").

The ratio is to the first size *in the same round*. By default that is "one learner" (size 0):
the single-learner trainer that ``train`` runs for ``population = 1``, i.e. the price of one
learner today. K = 1 is a population of one through :class:`PopulationTrainer` (the stacked
code path; ``train`` never runs that), for the cost of the population code itself; pass
``--sizes 1 2 4 8 16`` to take the ratio to it. Populations step the numpy Pendulum-v1 batch,
as ``train`` does. Per member: its last periodic evaluation (``--eval-episodes`` deterministic
episodes from EVAL_SEED + i).

    .venv/bin/python bench/population_scaling.py --steps 5000 --rounds 2
    .venv/bin/python bench/population_scaling.py --update-only --rounds 5

``--update-only`` times the update alone: one :meth:`StackedAgent.update`
of K 64-64 learners at batch 128 on fixed random batches, against one
:meth:`DDPGAgent.update` (the single-learner path) measured in the same round, interleaved.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import gymnasium
import numpy as np
import torch

from ddpg_control.learning.agent import DDPGAgent, Exploration
from ddpg_control.learning.config import AgentConfig, TrainConfig, with_overrides
from ddpg_control.learning.networks import Architecture
from ddpg_control.learning.noise import GaussianNoise
from ddpg_control.learning.population import PopulationTrainer
from ddpg_control.learning.population_log import PopulationLog
from ddpg_control.learning.replay_buffer import Batch
from ddpg_control.learning.stacked import StackedAgent
from ddpg_control.learning.trainer import train
from sim.pendulum_v1_batch import PendulumV1Batch

#: The sizes' label for the single-learner trainer (``population = 1``).
ONE = 0
ARCH = Architecture(obs_dim=3, act_dim=1, hidden_sizes=(64, 64), max_torque_nm=2.0)


def agent(seed: int) -> DDPGAgent:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    return DDPGAgent(ARCH, AgentConfig(), Exploration(0, GaussianNoise(1, 0.1, rng), rng))


def batch(size: int, rng: np.random.Generator) -> Batch:
    return Batch(
        rng.normal(size=(size, 128, 3)).astype(np.float32),
        rng.uniform(-2, 2, size=(size, 128, 1)).astype(np.float32),
        rng.normal(size=(size, 128)).astype(np.float32),
        rng.normal(size=(size, 128, 3)).astype(np.float32),
        np.zeros((size, 128), dtype=np.float32),
    )


def time_updates(update: Callable[[Batch], object], data: Batch, repeats: int) -> float:
    """Mean ms per call of ``update(data)``, after a warm-up."""
    for _ in range(20):
        update(data)
    start = time.perf_counter()
    for _ in range(repeats):
        update(data)
    return (time.perf_counter() - start) / repeats * 1e3


def update_only(args: argparse.Namespace) -> None:
    sizes = [k for k in args.sizes if k != ONE]  # the single learner is every round's baseline
    rng = np.random.default_rng(0)
    single = agent(0)
    one = Batch(*(part[0] for part in batch(1, rng)))
    stacked = {k: StackedAgent(ARCH, AgentConfig(), [agent(s) for s in range(k)]) for k in sizes}
    data = {k: batch(k, rng) for k in sizes}
    ratios: dict[int, list[float]] = {k: [] for k in sizes}
    print("| round | single-learner ms | " + " | ".join(f"K={k} ms (x)" for k in sizes) + " |")
    print("|---" * (len(sizes) + 2) + "|")
    for rnd in range(1, args.rounds + 1):
        base = time_updates(single.update, one, args.repeats)
        cells = []
        for k in sizes:
            ms = time_updates(stacked[k].update, data[k], args.repeats)
            ratios[k].append(ms / base)
            cells.append(f"{ms:.2f} ({ms / base:.2f})")
        print(f"| {rnd} | {base:.2f} | " + " | ".join(cells) + " |", flush=True)
    print()
    for k, values in ratios.items():
        print(
            f"K = {k}: median {statistics.median(values):.2f}x one single-learner update "
            f"(rounds {min(values):.2f}-{max(values):.2f})"
        )


def label(size: int) -> str:
    return "one learner" if size == ONE else str(size)


def run_once(size: int, args: argparse.Namespace) -> tuple[float, float, list[float], float]:
    """(train s, choose s, last evaluation per member, delivered return over 100 episodes)."""
    config = with_overrides(
        TrainConfig(),
        [
            ("seed", args.seed),
            ("total_steps", args.steps),
            ("eval_every_steps", args.eval_every),
            ("eval_episodes", args.eval_episodes),
            ("torch_threads", args.threads),
            ("stop.metric", "none"),
        ],
    )
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp)
        start = time.perf_counter()
        if size == ONE:
            result = train(config, pendulum, run_dir, tensorboard=False)
        else:
            # PopulationTrainer takes population from the config; K = 1 is allowed here.
            config = TrainConfig.from_dict({**config.to_dict(), "population": size})
            trainer = PopulationTrainer(config, pendulum, run_dir, PendulumV1Batch)
            runlog = PopulationLog(run_dir, trainer.seeds, tensorboard=False)
            try:
                result = trainer.run(runlog, None)
            finally:
                trainer.close()
        total = time.perf_counter() - start
        with (run_dir / "metrics.csv").open() as fh:
            rows = list(csv.DictReader(fh))
        last = [float(r["eval_return_mean"]) for r in rows[-max(size, 1) :]]
    return result.wall_time_s, total - result.wall_time_s, last, result.final_eval.mean_return


def pendulum() -> gymnasium.Env:
    return gymnasium.make("Pendulum-v1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[ONE, 1, 2, 4, 8, 16],
        help=f"population sizes; {ONE} = the single-learner trainer (population = 1)",
    )
    parser.add_argument("--steps", type=int, default=5000, help="env steps per member")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-every", type=int, default=1000)
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--update-only", action="store_true", help="time the update alone")
    parser.add_argument("--repeats", type=int, default=300, help="updates per timing")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.update_only:
        update_only(args)
        return

    base_size = args.sizes[0]
    ratios: dict[int, list[float]] = {k: [] for k in args.sizes}
    print(
        f"| round | K | train s | x {label(base_size)} | per learner s | choose s "
        "| member returns | best.pt |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for rnd in range(1, args.rounds + 1):
        base: float | None = None
        for size in args.sizes:
            train_s, choose_s, members, delivered = run_once(size, args)
            base = train_s if base is None else base
            ratios[size].append(train_s / base)
            print(
                f"| {rnd} | {label(size)} | {train_s:.1f} | {train_s / base:.2f} "
                f"| {train_s / max(size, 1):.2f} | {choose_s:.1f} "
                f"| {' '.join(f'{r:.0f}' for r in members)} | {delivered:.1f} |",
                flush=True,
            )
    print()
    for size, values in ratios.items():
        spread = f"{min(values):.2f}-{max(values):.2f}"
        print(
            f"K = {label(size)}: median {statistics.median(values):.2f}x {label(base_size)} "
            f"(rounds: {spread})"
        )


if __name__ == "__main__":
    main()
