"""Training K learners: wall-clock of this tree against another checkout (main) in the same run.

Every round trains K = 1, 4, 8 (``--sizes``) learners on Pendulum-v1 for ``--steps`` env steps
per member (no early stop, the numpy Pendulum-v1 batch as ``train`` steps it), once with this
tree's code and once with the baseline's (``--baseline``, a checkout such as a worktree of
main), each K in a fresh subprocess with ``PYTHONPATH`` set to that tree, the two trees' runs
of one K back to back and which goes first alternating, so drift in the machine's speed hits
both alike; the rounds repeat the whole sweep.
"train s" is the trainer's own clock (rollout, updates, periodic evaluations, checkpoints);
"call s" the whole ``train`` call (the baseline also re-evaluates best.pt and the last weights
there). "x train" is this tree's trainer clock over the baseline's, per round, "x CPU" the same
for the CPU time of the whole ``train`` call (``time.process_time``: less moved than the wall
clock by other jobs on a shared machine); then the medians over rounds.
K = 1 is ``--population 1`` in each tree (the baseline may run another code path for it).
"best.pt" is the delivered figure as each tree reports it (the number of episodes with it).

    .venv/bin/python bench/population_scaling.py --baseline /work/main --rounds 3
    .venv/bin/python bench/population_scaling.py --baseline /work/main --update-only --rounds 5

``--update-only`` times the stacked update alone: one update of K 64-64 learners at batch 128
on fixed random batches (ms per call after a warm-up), in each tree.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent


def stacked_agent(k: int) -> Any:
    """K learners seeded 0..K-1 in whichever tree is on the path."""
    from ddpg_control.learning import stacked
    from ddpg_control.learning.config import AgentConfig
    from ddpg_control.learning.networks import Architecture

    arch = Architecture(obs_dim=3, act_dim=1, hidden_sizes=(64, 64), max_torque_nm=2.0)
    if hasattr(stacked, "private_kernels"):  # built from seeds
        import inspect

        if "gamma" in inspect.signature(stacked.StackedAgent).parameters:  # discount per second
            return stacked.StackedAgent(arch, AgentConfig(), list(range(k)), gamma=0.98)
        return stacked.StackedAgent(arch, AgentConfig(), list(range(k)))
    import numpy as np
    import torch

    from ddpg_control.learning.agent import DDPGAgent, Exploration  # built from K agents
    from ddpg_control.learning.noise import GaussianNoise

    agents = []
    for seed in range(k):
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        exploration = Exploration(0, GaussianNoise(1, 0.1, rng), rng)  # type: ignore[call-arg]
        agents.append(DDPGAgent(arch, AgentConfig(), exploration))  # type: ignore[arg-type]
    return stacked.StackedAgent(arch, AgentConfig(), agents)  # type: ignore[arg-type]


def time_updates(k: int, repeats: int) -> float:
    """Mean ms per stacked update of K learners, after a warm-up."""
    import numpy as np

    from ddpg_control.learning.replay_buffer import Batch

    rng = np.random.default_rng(0)
    data = Batch(
        rng.normal(size=(k, 128, 3)).astype(np.float32),
        rng.uniform(-2, 2, size=(k, 128, 1)).astype(np.float32),
        rng.normal(size=(k, 128)).astype(np.float32),
        rng.normal(size=(k, 128, 3)).astype(np.float32),
        np.zeros((k, 128), dtype=np.float32),
    )
    agent = stacked_agent(k)
    for _ in range(20):
        agent.update(data)
    start = time.perf_counter()
    for _ in range(repeats):
        agent.update(data)
    return (time.perf_counter() - start) / repeats * 1e3


def train_once(size: int, args: argparse.Namespace) -> dict[str, Any]:
    import gymnasium

    from ddpg_control.learning.config import TrainConfig, with_overrides
    from ddpg_control.learning.trainer import train

    try:
        from sim.pendulum_v1 import PendulumV1Batch
    except ImportError:  # a tree from before the batch joined sim.pendulum_v1
        from sim.pendulum_v1_batch import PendulumV1Batch  # type: ignore[no-redef]

    overrides = [
        ("seed", args.seed),
        ("population", size),
        ("total_steps", args.steps),
        ("stop.metric", "none"),
    ]
    config = with_overrides(TrainConfig(), overrides)
    with tempfile.TemporaryDirectory() as tmp:
        start, cpu_start = time.perf_counter(), time.process_time()
        result = train(
            config,
            lambda: gymnasium.make("Pendulum-v1"),
            Path(tmp) / "run",
            tensorboard=False,
            vector_env_factory=PendulumV1Batch,
        )
        call_s, cpu_s = time.perf_counter() - start, time.process_time() - cpu_start
    final = result.final_eval
    return {
        "train_s": result.wall_time_s,
        "call_s": call_s,
        "cpu_s": cpu_s,
        "best": final.mean_return,
        "episodes": len(final.returns),
    }


def worker(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(args.threads)
    if args.update_only:
        out: dict[str, Any] = {str(k): time_updates(k, args.repeats) for k in args.sizes}
    else:
        out = {str(k): train_once(k, args) for k in args.sizes}
    print(json.dumps(out))


def run_tree(tree: Path, args: argparse.Namespace, sizes: list[int]) -> dict[str, Any]:
    flags = ["--worker", "--sizes", *map(str, sizes), "--steps", str(args.steps)]
    flags += ["--seed", str(args.seed), "--threads", str(args.threads)]
    flags += ["--repeats", str(args.repeats)] + (["--update-only"] if args.update_only else [])
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *flags],
        env=env,
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, default=Path("/work/main"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--steps", type=int, default=10_000, help="env steps per member")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--update-only", action="store_true", help="time the update alone")
    parser.add_argument("--repeats", type=int, default=300, help="updates per timing")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    trees = {"this": HERE, "baseline": args.baseline.resolve()}
    ratios: dict[int, list[float]] = {k: [] for k in args.sizes}
    cpu_ratios: dict[int, list[float]] = {k: [] for k in args.sizes}
    if args.update_only:
        print("| round | K | baseline ms | this ms | x |")
        print("|---|---|---|---|---|")
    else:
        print(
            "| round | K | baseline train s (call s) | this train s (call s) | x train "
            "| x CPU | baseline best.pt | this best.pt |"
        )
        print("|---|---|---|---|---|---|---|---|")
    for rnd in range(1, args.rounds + 1):
        for i, k in enumerate(args.sizes):
            # each size in its own pair of processes, back to back, the first tree alternating
            order = ["baseline", "this"] if (rnd + i) % 2 else ["this", "baseline"]
            got = {name: run_tree(trees[name], args, [k])[str(k)] for name in order}
            base, mine = got["baseline"], got["this"]
            if args.update_only:
                ratios[k].append(mine / base)
                print(f"| {rnd} | {k} | {base:.3f} | {mine:.3f} | {mine / base:.2f} |", flush=True)
                continue
            ratios[k].append(mine["train_s"] / base["train_s"])
            cpu_ratios[k].append(mine["cpu_s"] / base["cpu_s"])
            print(
                f"| {rnd} | {k} | {base['train_s']:.1f} ({base['call_s']:.1f}) "
                f"| {mine['train_s']:.1f} ({mine['call_s']:.1f}) "
                f"| {mine['train_s'] / base['train_s']:.2f} | {cpu_ratios[k][-1]:.2f} "
                f"| {base['best']:.1f} ({base['episodes']}) | {mine['best']:.1f} "
                f"({mine['episodes']}) |",
                flush=True,
            )
    print()
    what = "update" if args.update_only else "training (trainer clock)"
    for k, values in ratios.items():
        print(
            f"K = {k}: {what} median {statistics.median(values):.2f}x the baseline "
            f"(rounds {min(values):.2f}-{max(values):.2f}); load {os.getloadavg()[0]:.2f}"
        )
        if not args.update_only:
            cpu = cpu_ratios[k]
            print(
                f"K = {k}: CPU time of the whole train call median "
                f"{statistics.median(cpu):.2f}x the baseline's "
                f"(rounds {min(cpu):.2f}-{max(cpu):.2f})"
            )


if __name__ == "__main__":
    main()
