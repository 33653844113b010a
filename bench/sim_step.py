"""Env step cost of PyBulletPendulum-v0 (default and realistic) against Gymnasium's Pendulum-v1.

All three are measured in the same run, interleaved round by round, so the ratios hold on a
busy machine. Each timing is the median over rounds of the mean step time of a fixed action
sequence, including the TimeLimit wrapper and the resets every 200 steps.

    .venv/bin/python bench/sim_step.py [--steps 2000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import statistics
import time

import gymnasium as gym
import numpy as np

from sim import PYBULLET_ENV_ID  # importing sim registers it with Gymnasium

CANDIDATES = {
    "Pendulum-v1": ("Pendulum-v1", {}),
    f"{PYBULLET_ENV_ID} default": (PYBULLET_ENV_ID, {}),
    f"{PYBULLET_ENV_ID} realistic": (PYBULLET_ENV_ID, {"preset": "realistic"}),
    f"{PYBULLET_ENV_ID} realistic+randomize": (
        PYBULLET_ENV_ID,
        {"preset": "realistic", "randomize": True},
    ),
}


def time_steps(env: gym.Env, actions: np.ndarray) -> float:
    """Mean seconds per step over ``actions`` (resetting when an episode ends)."""
    env.reset(seed=0)
    start = time.perf_counter()
    for action in actions:
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
    return (time.perf_counter() - start) / len(actions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    actions = rng.uniform(-2.0, 2.0, size=(args.steps, 1)).astype(np.float32)
    envs = {name: gym.make(env_id, **kw) for name, (env_id, kw) in CANDIDATES.items()}
    for env in envs.values():
        time_steps(env, actions[:200])  # warm up
    samples: dict[str, list[float]] = {name: [] for name in envs}
    for _ in range(args.rounds):
        for name, env in envs.items():
            samples[name].append(time_steps(env, actions))
    baseline = statistics.median(samples["Pendulum-v1"])
    print(f"{'environment':42s} {'us/step':>9s} {'x Pendulum-v1':>14s}")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"{name:42s} {median * 1e6:9.1f} {median / baseline:14.2f}")
    for env in envs.values():
        env.close()


if __name__ == "__main__":
    main()
