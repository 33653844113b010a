"""Training speed: ddpg-control's default config against Stable-Baselines3 DDPG (RL Zoo tuned).

Both train on Pendulum-v1 with the same seeds, one after the other in this process, with the
same torch thread count. Both are evaluated the same way while they train: every
``--eval-every`` env steps, ``--eval-episodes`` deterministic episodes from the same start
states (ddpg_control.learning.evaluation.evaluate, seeds EVAL_SEED + i). The clock is stopped during
those evaluations, so "seconds" is training time only. Reported per seed: env steps and
seconds until the first evaluation with mean return >= --threshold, and the final policy's
mean return over ``--final-episodes`` episodes from a separate set of start states (seed 0..).
"Ours" is what ``ddpg-control train`` delivers: best.pt, after its early stop.

SB3 settings: RL Zoo hyperparams/ddpg.yml for Pendulum: net_arch [400, 300], lr 1e-3,
gamma 0.98, buffer 200k, learning_starts 10k, Gaussian noise sigma 0.1, train_freq
(1, "episode") with gradient_steps -1 (one gradient step per env step, done at episode end),
n_timesteps 20k. Everything else is SB3's DDPG default (batch 256, tau 0.005).

    .venv/bin/pip install -e ".[dev,bench]"
    .venv/bin/python bench/train_vs_sb3.py --seeds 0 1 2 --sb3-steps 20000
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
import torch

from ddpg_control.learning.agent import actor_policy
from ddpg_control.learning.checkpoint import load_actor
from ddpg_control.learning.config import TrainConfig, parse_override, with_overrides
from ddpg_control.learning.evaluation import EVAL_SEED, evaluate
from ddpg_control.learning.trainer import train
from ddpg_control.pipeline.envs import vector_env_factory
from ddpg_control.runtime.run_layout import BEST_CHECKPOINT

ENV_ID = "Pendulum-v1"


@dataclass
class Outcome:
    name: str
    seed: int
    steps_to_threshold: int | None
    seconds_to_threshold: float | None
    total_steps: int
    total_seconds: float
    final_return: float


def final_return(policy: Any, episodes: int) -> float:
    env = gymnasium.make(ENV_ID)
    try:
        return evaluate(policy, env, episodes, seed=0).mean_return
    finally:
        env.close()


def run_ours(seed: int, args: argparse.Namespace) -> Outcome:
    config = with_overrides(
        TrainConfig(),
        [
            ("seed", seed),
            ("eval_every_steps", args.eval_every),
            ("eval_episodes", args.eval_episodes),
            ("torch_threads", args.threads),
            *(parse_override(text) for text in args.ours_set),
        ],
    )
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        start = time.perf_counter()
        result = train(
            config,
            lambda: gymnasium.make(ENV_ID),
            run_dir,
            vector_env_factory=vector_env_factory(ENV_ID),  # as `ddpg-control train` does
        )
        total = time.perf_counter() - start
        steps_at = seconds_at = None
        with (run_dir / "metrics.csv").open() as fh:
            for row in csv.DictReader(fh):
                if float(row["eval_return_mean"]) >= args.threshold:
                    steps_at = int(row["env_steps"])
                    seconds_at = float(row["wall_time_s"]) - float(row["eval_time_s"])
                    break
        actor, _ = load_actor(run_dir / BEST_CHECKPOINT)
        final = final_return(actor_policy(actor), args.final_episodes)
    return Outcome("ours", seed, steps_at, seconds_at, result.env_steps, total, final)


def run_sb3(seed: int, args: argparse.Namespace) -> Outcome:
    from stable_baselines3 import DDPG
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.noise import NormalActionNoise

    env = gymnasium.make(ENV_ID)
    eval_env = gymnasium.make(ENV_ID)
    model = DDPG(
        "MlpPolicy",
        env,
        learning_rate=1e-3,
        buffer_size=200_000,
        learning_starts=10_000,
        gamma=0.98,
        train_freq=(1, "episode"),
        gradient_steps=-1,
        action_noise=NormalActionNoise(mean=np.zeros(1), sigma=0.1 * np.ones(1)),
        policy_kwargs={"net_arch": [400, 300]},
        seed=seed,
        device="cpu",
        verbose=0,
    )

    def policy(obs: np.ndarray) -> np.ndarray:
        return model.predict(obs, deterministic=True)[0]

    class Probe(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.paused_s = 0.0
            self.steps_at: int | None = None
            self.seconds_at: float | None = None
            self.start = time.perf_counter()

        def _on_step(self) -> bool:
            if self.steps_at is None and self.num_timesteps % args.eval_every == 0:
                t0 = time.perf_counter()
                mean = evaluate(policy, eval_env, args.eval_episodes, EVAL_SEED).mean_return
                if mean >= args.threshold:
                    self.steps_at = self.num_timesteps
                    self.seconds_at = t0 - self.start - self.paused_s
                self.paused_s += time.perf_counter() - t0
            return True

    probe = Probe()
    start = time.perf_counter()
    model.learn(total_timesteps=args.sb3_steps, callback=probe)
    total = time.perf_counter() - start
    final = final_return(policy, args.final_episodes)
    env.close()
    eval_env.close()
    return Outcome("sb3", seed, probe.steps_at, probe.seconds_at, args.sb3_steps, total, final)


def fmt(value: float | None, spec: str) -> str:
    return "never" if value is None else format(value, spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--sb3-steps", type=int, default=20_000)
    parser.add_argument("--threshold", type=float, default=-200.0)
    parser.add_argument("--eval-every", type=int, default=1_000)
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--final-episodes", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1, help="torch threads for both")
    parser.add_argument("--skip-sb3", action="store_true")
    parser.add_argument(
        "--ours-set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override our config, e.g. --ours-set population=4 (repeatable)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    outcomes: list[Outcome] = []
    for seed in args.seeds:
        runners = [run_ours] if args.skip_sb3 else [run_ours, run_sb3]
        for runner in runners:
            outcome = runner(seed, args)
            outcomes.append(outcome)
            print(
                f"{outcome.name:4s} seed {seed}: {fmt(outcome.steps_to_threshold, 'd')} steps / "
                f"{fmt(outcome.seconds_to_threshold, '.1f')} s to >= {args.threshold:.0f}, "
                f"final {outcome.final_return:.1f} ({outcome.total_steps} steps, "
                f"{outcome.total_seconds:.1f} s total)",
                flush=True,
            )

    print()
    print(
        f"| seed | ours: steps to {args.threshold:.0f} | ours: s | SB3: steps | SB3: s | "
        "speed-up (s) | ours final | SB3 final | ours total s | SB3 total s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    ratios, time_shares = [], []
    for seed in args.seeds:
        ours = next(o for o in outcomes if o.name == "ours" and o.seed == seed)
        sb3 = next((o for o in outcomes if o.name == "sb3" and o.seed == seed), None)
        ratio = None
        if sb3 and sb3.seconds_to_threshold and ours.seconds_to_threshold:
            ratio = sb3.seconds_to_threshold / ours.seconds_to_threshold
            ratios.append(ratio)
        if sb3:
            time_shares.append(ours.total_seconds / sb3.total_seconds)
        print(
            f"| {seed} | {fmt(ours.steps_to_threshold, 'd')} | "
            f"{fmt(ours.seconds_to_threshold, '.1f')} | "
            f"{fmt(sb3.steps_to_threshold if sb3 else None, 'd')} | "
            f"{fmt(sb3.seconds_to_threshold if sb3 else None, '.1f')} | "
            f"{fmt(ratio, '.1f')}x | {ours.final_return:.1f} | "
            f"{fmt(sb3.final_return if sb3 else None, '.1f')} | {ours.total_seconds:.1f} | "
            f"{fmt(sb3.total_seconds if sb3 else None, '.1f')} |"
        )
    if ratios:
        print(f"\nmedian speed-up to {args.threshold:.0f}: {statistics.median(ratios):.1f}x")
    if time_shares:
        print(
            "whole training, ours / SB3 (total seconds, evaluations included): median "
            f"{statistics.median(time_shares):.2f} "
            f"({', '.join(f'{r:.2f}' for r in time_shares)}); load {os.getloadavg()[0]:.2f}"
        )


if __name__ == "__main__":
    main()
