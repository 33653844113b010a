"""Deterministic evaluation: of any policy callable on a Gymnasium environment, one episode at
a time (:func:`evaluate`), and of K policies side by side on a
:class:`~ddpg_control.runtime.vector_env.VectorEnv` (:func:`evaluate_grid`, the trainer's).
Torch-free, so torch actors, ONNX policies and hand-written controllers are all measured the
same way."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from ddpg_control.runtime.vector_env import EnvList, ResetOptions, VectorEnv

#: Evaluation episode i starts from ``reset(seed=EVAL_SEED + i)``: the same start states for
#: every run and every checkpoint (so evaluations compare), disjoint from training episodes.
EVAL_SEED = 1_000_000
#: A stop rule's confirming evaluation starts from ``reset(seed=CONFIRM_SEED + i)``: start
#: states that no periodic evaluation used, so the member it confirms was not chosen on them.
CONFIRM_SEED = 2_000_000

#: obs (float32, shape (obs_dim,)) -> action in N*m (a float or an array of shape (act_dim,)).
PolicyFn = Callable[[np.ndarray], Any]


@dataclass(frozen=True)
class EvalResult:
    mean_return: float
    std_return: float
    returns: tuple[float, ...]
    #: Share of a balance test's episodes (started near upright) that ended held in its band;
    #: None where none was run.
    balance: float | None = None

    def __post_init__(self) -> None:
        if not self.returns:
            raise ValueError("an evaluation needs at least one episode")

    @classmethod
    def of(
        cls, returns: np.ndarray | list[float] | tuple[float, ...], balance: float | None = None
    ) -> EvalResult:
        arr = np.asarray(returns, dtype=np.float64)
        return cls(float(arr.mean()), float(arr.std()), tuple(arr.tolist()), balance)


def evaluate(policy: PolicyFn, env: Any, episodes: int, seed: int) -> EvalResult:
    """Run ``episodes`` episodes without exploration noise and return their returns.

    Episode ``i`` starts from ``env.reset(seed=seed + i)``, so the same ``seed`` gives the same
    start states for every policy: results are directly comparable. An episode ends on
    termination or truncation (Pendulum-v1: 200 steps).
    """
    if episodes <= 0:
        raise ValueError(f"episodes must be positive, got {episodes}")

    def one(obs: np.ndarray) -> np.ndarray:  # (1, 1, obs_dim) -> (1, 1, act_dim)
        return np.asarray(policy(obs[0, 0]), dtype=np.float32).reshape(1, 1, -1)

    return EvalResult.of(evaluate_grid(one, EnvList([env]), 1, starts(seed, episodes)).returns[0])


#: Where an evaluation episode starts: ``reset(seed=seed, options=options)``.
Start = tuple[int, ResetOptions | None]


#: ``obs (rows, cols, obs_dim)`` -> torques ``(rows, cols, act_dim)`` in N*m: row r is the
#: policy of row r (a population member), cols its episodes side by side.
GridPolicy = Callable[[np.ndarray], np.ndarray]


class GridOutcome(NamedTuple):
    """Deterministic episodes ``(rows, episodes)``: their returns, their lengths in steps, and
    for how many steps at their end they stayed in the band (0: they ended outside)."""

    returns: np.ndarray
    steps: np.ndarray
    steps_in_band_at_end: np.ndarray

    def held(self, share: float) -> np.ndarray:
        """``(rows, episodes)`` bool: in the band for at least the last ``share`` of the
        episode."""
        return self.steps_in_band_at_end >= np.ceil(share * self.steps)


def in_band(obs: np.ndarray, angle_rad: float, velocity_rad_s: float) -> np.ndarray:
    """Whether observations ``(..., 3)`` (cos, sin, velocity) lie within ``angle_rad`` and
    ``velocity_rad_s`` of upright at rest."""
    angle = np.arctan2(obs[..., 1], obs[..., 0])
    return (np.abs(angle) <= angle_rad) & (np.abs(obs[..., 2]) <= velocity_rad_s)


def starts(seed: int, episodes: int, options: ResetOptions | None = None) -> list[Start]:
    """Episode i from ``reset(seed=seed + i, options=options)``."""
    return [(seed + i, options) for i in range(episodes)]


def evaluate_grid(
    policy: GridPolicy,
    envs: VectorEnv,
    rows: int,
    columns: Sequence[Start],
    band: tuple[float, float] | None = None,
) -> GridOutcome:
    """Deterministic episodes ``(rows, len(columns))``: row r's episode i starts from
    ``columns[i]``, so every row sees the same start states (and with :func:`starts`, the same
    as :func:`~ddpg_control.learning.evaluation.evaluate`). As many episodes run side by side as
    ``envs`` has copies. ``band`` (angle rad, velocity rad/s) is what
    :attr:`GridOutcome.steps_in_band_at_end` counts on a pendulum's observations (no band:
    zeros)."""
    width = envs.num_envs // rows
    if width < 1:
        raise ValueError(f"{rows} rows need at least {rows} environments, got {envs.num_envs}")
    episodes = len(columns)
    returns = np.zeros((rows, episodes))
    steps = np.zeros((rows, episodes), dtype=np.int64)
    at_end = np.zeros((rows, episodes), dtype=np.int64)
    for first in range(0, episodes, width):
        block = slice(first, min(first + width, episodes))
        cols = block.stop - first
        used = rows * cols
        chosen = list(columns[block]) * rows  # slot r * cols + c: row r, column first + c
        seeds, options = [s for s, _ in chosen], [o for _, o in chosen]
        obs = envs.reset(seeds, list(range(used)), options)
        running = np.zeros(envs.num_envs, dtype=bool)
        running[:used] = True
        total = np.zeros(used)
        count = np.zeros(used, dtype=np.int64)
        tail = np.zeros(used, dtype=np.int64)
        while running.any():
            actions = np.zeros((envs.num_envs, *envs.action_space.shape), dtype=np.float32)
            torque = policy(obs.reshape(rows, cols, -1)).reshape(used, -1)
            actions[:used] = torque.reshape(used, *envs.action_space.shape)
            step = envs.step(actions, running)
            live = running[:used]
            total[live] += step.reward[:used][live]
            obs = np.where(live[:, None], step.obs[:used], obs)
            count[live] += 1
            if band is not None:
                tail[live] = np.where(in_band(obs[live], *band), tail[live] + 1, 0)
            running[:used] &= ~(step.terminated[:used] | step.truncated[:used])
        returns[:, block] = total.reshape(rows, cols)
        steps[:, block] = count.reshape(rows, cols)
        at_end[:, block] = tail.reshape(rows, cols)
    return GridOutcome(returns, steps, at_end)
