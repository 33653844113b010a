"""Deterministic evaluation of any policy callable on a Gymnasium environment. Torch-free, so
torch actors, ONNX policies and hand-written controllers are all measured the same way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

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
    #: Share of a balance test's episodes (started near upright) that ended held in the
    #: tight band; None where none was run.
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
    shape = env.action_space.shape
    returns: list[float] = []
    for i in range(episodes):
        obs, _ = env.reset(seed=seed + i)
        total = 0.0
        while True:
            action = np.asarray(policy(np.asarray(obs, dtype=np.float32)), dtype=np.float32)
            obs, reward, terminated, truncated, _ = env.step(action.reshape(shape))
            total += float(reward)
            if terminated or truncated:
                break
        returns.append(total)
    return EvalResult.of(returns)
