"""Evaluation during training: the best-so-far flag, the time it takes, the actor's mode."""

from __future__ import annotations

import gymnasium
import torch

from ddpg_control.learning.evaluator import Evaluator
from ddpg_control.learning.networks import Actor, Architecture


def test_periodic_evaluation_flags_only_a_strictly_better_return_as_the_best() -> None:
    torch.manual_seed(0)
    actor = Actor(Architecture(obs_dim=3, act_dim=1, hidden_sizes=(8,), max_torque_nm=2.0))
    evaluator = Evaluator(gymnasium.make("Pendulum-v1"))
    first = evaluator.periodic(actor, episodes=1)
    assert first.improved and evaluator.best_return == first.result.mean_return
    assert actor.training  # back in training mode for the next update
    spent = evaluator.time_s
    assert spent > 0
    again = evaluator.periodic(actor, episodes=1)  # same weights, same start state
    assert again.result == first.result and not again.improved
    assert evaluator.time_s > spent
    untimed = evaluator.time_s
    evaluator.evaluate(actor, episodes=1)
    assert evaluator.time_s == untimed
    evaluator.env.close()
