"""Early stopping: after each periodic evaluation, a stop rule decides whether training has
reached its goal. One rule per ``stop.metric``; :func:`make_stop_rule` picks it.

A rule is called with what the evaluation found (:class:`EvalOutcome`), the returns of the
training episodes so far, and a way to run a confirming evaluation; it keeps no state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ddpg_control.learning.config import StopConfig
from ddpg_control.learning.evaluation import EvalResult

#: Runs the confirming evaluation (over ``final_eval_episodes``) and returns its result.
ConfirmFn = Callable[[], EvalResult]


@dataclass(frozen=True)
class EvalOutcome:
    """What one periodic evaluation found: its result, and whether it beat every earlier one."""

    result: EvalResult
    improved: bool


@dataclass(frozen=True)
class GoalReached:
    """A rule's verdict that training may stop. ``confirmation`` is the confirming evaluation
    the rule ran, if it ran one; it then stands as the run's final evaluation."""

    confirmation: EvalResult | None = None


class StopRule(Protocol):
    """Decides, after a periodic evaluation, whether the goal is reached (None: keep going)."""

    def check(
        self, outcome: EvalOutcome, training_returns: Sequence[float], confirm: ConfirmFn
    ) -> GoalReached | None: ...


@dataclass(frozen=True)
class ConfirmedEvalGoal:
    """``stop.metric = "eval"``: a new best periodic evaluation reached ``goal_return`` *and* a
    confirming evaluation agrees (:class:`~ddpg_control.learning.config.StopConfig` says why)."""

    goal_return: float

    def check(
        self, outcome: EvalOutcome, training_returns: Sequence[float], confirm: ConfirmFn
    ) -> GoalReached | None:
        if not outcome.improved or outcome.result.mean_return < self.goal_return:
            return None
        confirmation = confirm()
        if confirmation.mean_return < self.goal_return:
            return None
        return GoalReached(confirmation)


@dataclass(frozen=True)
class TrainingReturnGoal:
    """``stop.metric = "train"``: the mean return of the last ``window_episodes`` training
    episodes (with exploration noise) reached ``goal_return``; checked at each evaluation."""

    goal_return: float
    window_episodes: int

    def check(
        self, outcome: EvalOutcome, training_returns: Sequence[float], confirm: ConfirmFn
    ) -> GoalReached | None:
        window = training_returns[-self.window_episodes :]
        if len(window) == self.window_episodes and float(np.mean(window)) >= self.goal_return:
            return GoalReached()
        return None


@dataclass(frozen=True)
class NoEarlyStop:
    """``stop.metric = "none"``: always run the whole step budget."""

    def check(
        self, outcome: EvalOutcome, training_returns: Sequence[float], confirm: ConfirmFn
    ) -> GoalReached | None:
        return None


def make_stop_rule(config: StopConfig) -> StopRule:
    if config.metric == "eval":
        return ConfirmedEvalGoal(config.goal_return)
    if config.metric == "train":
        return TrainingReturnGoal(config.goal_return, config.window_episodes)
    return NoEarlyStop()
