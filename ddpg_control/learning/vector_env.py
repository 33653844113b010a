"""N environments stepped as one, for training K learners and batched evaluation.

:class:`VectorEnv` is what :class:`~ddpg_control.learning.trainer.Trainer` steps: ``n`` copies
of one environment, each reset with its own seed, all stepped with one call. The caller
provides it (learning builds no environment of its own): a vectorised implementation
where one exists (``sim.pendulum_v1_batch`` for Gymnasium's ``Pendulum-v1``, numpy over all
``n`` at once), else :class:`EnvList`, which steps ``n`` ordinary Gymnasium environments in a
loop. Episodes never reset automatically: the caller resets a finished copy with its next seed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Protocol

import numpy as np

from ddpg_control.runtime.contracts import TIGHT_BAND_ANGLE_RAD, TIGHT_BAND_VELOCITY_RAD_S


class VectorStep(NamedTuple):
    """One step of ``n`` copies; row i is copy i (zeros for copies not stepped)."""

    obs: np.ndarray  # (n, obs_dim) float32
    reward: np.ndarray  # (n,) float64
    terminated: np.ndarray  # (n,) bool
    truncated: np.ndarray  # (n,) bool


#: A Gymnasium ``reset(options=...)`` mapping; the trainer passes Pendulum-v1's ``x_init``
#: and ``y_init`` (the start draw's half-widths), which the PyBullet pendulum takes too.
ResetOptions = dict[str, float]
#: Each reset copy's options (None: the environment's own start distribution).
EachOptions = Sequence[ResetOptions | None] | None


class Start(NamedTuple):
    """Where an evaluation episode starts: ``reset(seed=seed, options=options)``."""

    seed: int
    options: ResetOptions | None = None


class VectorEnv(Protocol):
    """``num_envs`` copies of one environment (Gymnasium's single-env spaces)."""

    num_envs: int
    observation_space: Any
    action_space: Any

    def reset(
        self, seeds: Sequence[int], indices: Sequence[int], options: EachOptions = None
    ) -> np.ndarray:
        """Start a new episode in copy ``indices[j]`` from ``reset(seed=seeds[j],
        options=options[j])``; returns their first observations, ``(len(indices), obs_dim)``
        float32."""
        ...

    def step(self, actions: np.ndarray, active: np.ndarray | None = None) -> VectorStep:
        """Apply ``actions`` ``(num_envs, act_dim)`` float32 (N*m) to every copy, or only to
        those where ``active`` is true (the others' rows are then undefined)."""
        ...

    def close(self) -> None: ...


#: ``n`` -> a :class:`VectorEnv` of ``n`` copies.
VectorEnvFactory = Callable[[int], VectorEnv]


class EnvList:
    """:class:`VectorEnv` over ordinary Gymnasium environments, stepped one after the other."""

    def __init__(self, envs: Sequence[Any]) -> None:
        if not envs:
            raise ValueError("EnvList needs at least one environment")
        self.envs = list(envs)
        self.num_envs = len(self.envs)
        self.observation_space = self.envs[0].observation_space
        self.action_space = self.envs[0].action_space
        self._obs_dim = int(np.prod(self.observation_space.shape))

    @classmethod
    def of(cls, env_factory: Callable[[], Any], n: int) -> EnvList:
        return cls([env_factory() for _ in range(n)])

    def reset(
        self, seeds: Sequence[int], indices: Sequence[int], options: EachOptions = None
    ) -> np.ndarray:
        each = [None] * len(indices) if options is None else list(options)
        chosen = zip(seeds, indices, each, strict=True)
        obs = [self.envs[i].reset(seed=int(s), options=o)[0] for s, i, o in chosen]
        return np.stack([np.asarray(o, dtype=np.float32).reshape(-1) for o in obs])

    def step(self, actions: np.ndarray, active: np.ndarray | None = None) -> VectorStep:
        n = self.num_envs
        out = VectorStep(
            np.zeros((n, self._obs_dim), dtype=np.float32),
            np.zeros(n),
            np.zeros(n, dtype=bool),
            np.zeros(n, dtype=bool),
        )
        shape = self.action_space.shape
        for i, env in enumerate(self.envs):
            if active is not None and not active[i]:
                continue
            obs, reward, terminated, truncated, _ = env.step(actions[i].reshape(shape))
            out.obs[i] = np.asarray(obs, dtype=np.float32).reshape(-1)
            out.reward[i] = float(reward)
            out.terminated[i] = bool(terminated)
            out.truncated[i] = bool(truncated)
        return out

    def close(self) -> None:
        for env in self.envs:
            env.close()


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
    return [Start(seed + i, options) for i in range(episodes)]


def evaluate_grid(
    policy: GridPolicy,
    envs: VectorEnv,
    rows: int,
    columns: Sequence[Start],
    band: tuple[float, float] = (TIGHT_BAND_ANGLE_RAD, TIGHT_BAND_VELOCITY_RAD_S),
) -> GridOutcome:
    """Deterministic episodes ``(rows, len(columns))``: row r's episode i starts from
    ``columns[i]``, so every row sees the same start states (and with :func:`starts`, the same
    as :func:`~ddpg_control.learning.evaluation.evaluate`). As many episodes run side by side as
    ``envs`` has copies. ``band`` (angle rad, velocity rad/s) is what
    :attr:`GridOutcome.steps_in_band_at_end` counts, the tight band unless given."""
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
        slots = np.arange(used)
        chosen = list(columns[block]) * rows  # slot r * cols + c: row r, column first + c
        obs = envs.reset([c.seed for c in chosen], slots.tolist(), [c.options for c in chosen])
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
            tail[live] = np.where(in_band(obs[live], *band), tail[live] + 1, 0)
            running[:used] &= ~(step.terminated[:used] | step.truncated[:used])
        returns[:, block] = total.reshape(rows, cols)
        steps[:, block] = count.reshape(rows, cols)
        at_end[:, block] = tail.reshape(rows, cols)
    return GridOutcome(returns, steps, at_end)
