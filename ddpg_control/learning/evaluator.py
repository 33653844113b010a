"""Evaluation during training: the actor without exploration noise, from fixed start states,
every ``eval_every_steps`` and when a stop rule asks for a confirmation."""

from __future__ import annotations

import time
from typing import Any

from ddpg_control.learning.agent import actor_policy
from ddpg_control.learning.early_stop import EvalOutcome
from ddpg_control.learning.evaluation import EvalResult, evaluate
from ddpg_control.learning.networks import Actor

#: Evaluation episode i starts from ``reset(seed=EVAL_SEED + i)``: the same start states for
#: every run and every checkpoint (so evaluations compare), disjoint from training episodes.
EVAL_SEED = 1_000_000


class Evaluator:
    """Evaluates an actor on its own environment. Keeps the best periodic mean return
    (``best_return``) and the time spent in periodic and confirming evaluations (``time_s``),
    both saved with each checkpoint."""

    def __init__(self, env: Any) -> None:
        self.env = env
        self.best_return: float | None = None
        self.time_s = 0.0

    def evaluate(self, actor: Actor, episodes: int) -> EvalResult:
        """``episodes`` deterministic episodes; the actor is back in training mode afterwards."""
        result = evaluate(actor_policy(actor), self.env, episodes, EVAL_SEED)
        actor.train()
        return result

    def periodic(self, actor: Actor, episodes: int) -> EvalOutcome:
        """A timed evaluation, and whether it beat every earlier one (it becomes the best)."""
        result = self.timed(actor, episodes)
        improved = self.best_return is None or result.mean_return > self.best_return
        if improved:
            self.best_return = result.mean_return
        return EvalOutcome(result, improved)

    def timed(self, actor: Actor, episodes: int) -> EvalResult:
        """:meth:`evaluate`, its duration added to ``time_s``."""
        start = time.perf_counter()
        result = self.evaluate(actor, episodes)
        self.time_s += time.perf_counter() - start
        return result
