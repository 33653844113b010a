"""The early-stop rules, each on its own: what it reads, when it stops, when it confirms."""

from __future__ import annotations

import pytest

from ddpg_control.learning.config import StopConfig
from ddpg_control.learning.early_stop import (
    ConfirmedEvalGoal,
    EvalOutcome,
    GoalReached,
    NoEarlyStop,
    TrainingReturnGoal,
    make_stop_rule,
)
from ddpg_control.learning.evaluation import EvalResult


def result(mean_return: float) -> EvalResult:
    return EvalResult(mean_return, 0.0, (mean_return,))


class Confirmations:
    """A confirming evaluation that returns ``mean_return`` and counts its calls."""

    def __init__(self, mean_return: float) -> None:
        self.result = result(mean_return)
        self.calls = 0

    def __call__(self) -> EvalResult:
        self.calls += 1
        return self.result


@pytest.mark.parametrize(
    ("mean_return", "improved"),
    [(-100.0, False), (-200.0, True)],
    ids=["not-a-new-best", "below-the-goal"],
)
def test_eval_goal_does_not_confirm_without_a_new_best_at_the_goal(
    mean_return: float, improved: bool
) -> None:
    confirm = Confirmations(-100.0)
    rule = ConfirmedEvalGoal(goal_return=-150.0)
    assert rule.check(EvalOutcome(result(mean_return), improved), [], confirm) is None
    assert confirm.calls == 0


def test_eval_goal_stops_only_when_the_confirming_evaluation_agrees() -> None:
    rule = ConfirmedEvalGoal(goal_return=-150.0)
    outcome = EvalOutcome(result(-150.0), improved=True)  # the goal itself counts as reached
    disagrees = Confirmations(-151.0)
    assert rule.check(outcome, [], disagrees) is None
    assert disagrees.calls == 1
    agrees = Confirmations(-140.0)
    assert rule.check(outcome, [], agrees) == GoalReached(agrees.result)
    assert agrees.calls == 1


def test_training_return_goal_waits_for_a_full_window_of_recent_episodes() -> None:
    confirm = Confirmations(0.0)
    rule = TrainingReturnGoal(goal_return=-300.0, window_episodes=3)
    outcome = EvalOutcome(result(-2000.0), improved=False)  # the evaluation plays no part
    assert rule.check(outcome, [-100.0, -100.0], confirm) is None  # window not full
    assert rule.check(outcome, [-100.0, -100.0, -800.0], confirm) is None  # mean -333
    assert rule.check(outcome, [-900.0, -300.0, -300.0, -300.0], confirm) == GoalReached()
    assert confirm.calls == 0


def test_no_early_stop_never_stops() -> None:
    confirm = Confirmations(0.0)
    outcome = EvalOutcome(result(0.0), improved=True)
    assert NoEarlyStop().check(outcome, [0.0] * 200, confirm) is None
    assert confirm.calls == 0


def test_stop_metric_selects_the_rule() -> None:
    assert make_stop_rule(StopConfig(metric="eval", goal_return=-1.0)) == ConfirmedEvalGoal(-1.0)
    assert make_stop_rule(StopConfig(metric="train", window_episodes=5)) == TrainingReturnGoal(
        -150.0, 5
    )
    assert make_stop_rule(StopConfig(metric="none")) == NoEarlyStop()
