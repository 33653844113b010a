"""Population training: the stacked update is K single-learner updates, and a population run
delivers one member as an ordinary best.pt, resumes exactly and is deterministic."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
import pytest
import torch

from ddpg_control.learning.agent import DDPGAgent, Exploration, actor_policy
from ddpg_control.learning.checkpoint import load_actor, load_checkpoint
from ddpg_control.learning.config import AgentConfig, TrainConfig, with_overrides
from ddpg_control.learning.evaluation import evaluate
from ddpg_control.learning.networks import Actor, Architecture
from ddpg_control.learning.noise import GaussianNoise
from ddpg_control.learning.population import member_seed
from ddpg_control.learning.replay_buffer import Batch
from ddpg_control.learning.stacked import StackedAgent
from ddpg_control.learning.trainer import train
from ddpg_control.learning.vector_env import EnvList, evaluate_grid
from ddpg_control.runtime.errors import CheckpointError
from ddpg_control.runtime.run_layout import BEST_CHECKPOINT, LAST_CHECKPOINT
from sim.pendulum_v1_batch import PendulumV1Batch

ARCH = Architecture(obs_dim=3, act_dim=1, hidden_sizes=(32, 24), max_torque_nm=2.0)


def single_agent(seed: int, config: AgentConfig, arch: Architecture = ARCH) -> DDPGAgent:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    return DDPGAgent(arch, config, Exploration(0, GaussianNoise(arch.act_dim, 0.1, rng), rng))


def random_batch(rng: np.random.Generator, members: int, size: int, act_dim: int = 1) -> Batch:
    return Batch(
        rng.normal(size=(members, size, 3)).astype(np.float32),
        rng.uniform(-2, 2, size=(members, size, act_dim)).astype(np.float32),
        rng.normal(size=(members, size)).astype(np.float32),
        rng.normal(size=(members, size, 3)).astype(np.float32),
        (rng.random((members, size)) < 0.2).astype(np.float32),
    )


@pytest.mark.parametrize("weight_decay", [0.0, 1e-2])
def test_stacked_update_equals_separate_single_learner_updates(weight_decay: float) -> None:
    assert_stacked_update_is_single_updates(ARCH, weight_decay)


def test_stacked_update_equals_single_updates_with_two_torques_and_one_hidden_layer() -> None:
    """The hand-written backward's other shapes: a two-wide actor output (a plain batched
    product, not the one-output form) and a single hidden layer."""
    arch = Architecture(obs_dim=3, act_dim=2, hidden_sizes=(16,), max_torque_nm=1.5)
    assert_stacked_update_is_single_updates(arch, 1e-2)


def assert_stacked_update_is_single_updates(arch: Architecture, weight_decay: float) -> None:
    config = AgentConfig(hidden_sizes=arch.hidden_sizes, critic_weight_decay=weight_decay)
    singles = [single_agent(s, config, arch) for s in (0, 1, 2)]
    stacked = StackedAgent(arch, config, [single_agent(s, config, arch) for s in (0, 1, 2)])
    rng = np.random.default_rng(5)
    for _ in range(4):  # several steps: Adam's moments and the targets carry over
        batch = random_batch(rng, 3, 64, arch.act_dim)
        metrics = stacked.update(batch)
        for k, agent in enumerate(singles):
            expected = agent.update(Batch(*(part[k] for part in batch)))
            np.testing.assert_allclose(metrics[k], expected, rtol=1e-4, atol=1e-5)
    for k, agent in enumerate(singles):
        mine = stacked.member_networks(k)
        for name, state in agent.networks_state().items():
            for key, tensor in state.items():
                torch.testing.assert_close(mine[name][key], tensor, rtol=1e-4, atol=1e-5)
    first, second = (stacked.member_networks(k)["actor"]["net.0.weight"] for k in (0, 1))
    assert not torch.equal(first, second)  # each member its own seed


def test_members_act_as_their_own_single_learners() -> None:
    config = AgentConfig(hidden_sizes=ARCH.hidden_sizes)
    singles = [single_agent(s, config) for s in (3, 4)]
    stacked = StackedAgent(ARCH, config, singles)
    obs = np.random.default_rng(0).normal(size=(2, 3)).astype(np.float32)
    expected = np.stack([agent.act(obs[k]) for k, agent in enumerate(singles)])
    np.testing.assert_allclose(stacked.act(obs), expected, rtol=1e-5, atol=1e-6)


def test_member_seeds_are_distinct_and_member_zero_is_the_run_seed() -> None:
    seeds = [member_seed(7, k) for k in range(8)]
    assert seeds[0] == 7
    assert len(set(seeds)) == 8
    assert member_seed(1, 0) not in {member_seed(0, k) for k in range(1, 8)}


SHORT = [
    ("population", 3),
    ("total_steps", 400),
    ("learning_starts", 100),
    ("eval_every_steps", 200),
    ("eval_episodes", 1),
    ("final_eval_episodes", 2),
    ("stop.metric", "none"),
    ("agent.hidden_sizes", [16, 16]),
]


def short_config(*extra: tuple[str, Any]) -> TrainConfig:
    return with_overrides(TrainConfig(), [*SHORT, *extra])


def pendulum() -> Any:
    return gymnasium.make("Pendulum-v1")


def assert_same_population(a: Path, b: Path) -> None:
    na, nb = load_checkpoint(a)["networks"], load_checkpoint(b)["networks"]
    for name, state in na.items():
        for key, tensor in state.items():
            assert torch.equal(tensor, nb[name][key]), f"{name}.{key} differs"


def test_population_run_delivers_one_member_as_an_ordinary_best_checkpoint(
    tmp_path: Path,
) -> None:
    result = train(short_config(), pendulum, tmp_path / "pop", tensorboard=False)
    actor, payload = load_actor(tmp_path / "pop" / BEST_CHECKPOINT)  # what export and run load
    assert actor(torch.zeros(3)).shape == (1,)
    population = payload["population"]
    assert population["size"] == 3 and population["member"] == result.member
    assert population["member_seed"] == member_seed(0, population["member"])
    assert payload["progress"]["eval_return"] == pytest.approx(result.final_eval.mean_return)
    with (tmp_path / "pop" / "metrics.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [(int(r["env_steps"]), int(r["member"])) for r in rows] == [
        (steps, k) for steps in (200, 400) for k in range(3)
    ]
    assert (tmp_path / "pop" / "learning_curve.png").stat().st_size > 0


def test_population_is_deterministic_and_resumes_exactly(tmp_path: Path) -> None:
    train(short_config(), pendulum, tmp_path / "a", tensorboard=False)
    train(short_config(), pendulum, tmp_path / "b", tensorboard=False)
    assert_same_population(tmp_path / "a" / LAST_CHECKPOINT, tmp_path / "b" / LAST_CHECKPOINT)
    train(short_config(("total_steps", 200)), pendulum, tmp_path / "split", tensorboard=False)
    result = train(
        short_config(),
        pendulum,
        tmp_path / "split",
        resume_from=tmp_path / "split" / LAST_CHECKPOINT,
        tensorboard=False,
    )
    assert result.env_steps == 400
    assert_same_population(tmp_path / "a" / LAST_CHECKPOINT, tmp_path / "split" / LAST_CHECKPOINT)
    with (tmp_path / "split" / "metrics.csv").open() as fh:
        rows = [(int(r["env_steps"]), int(r["member"])) for r in csv.DictReader(fh)]
    assert rows == [(steps, k) for steps in (200, 400) for k in range(3)]
    with pytest.raises(CheckpointError, match="population of 3"):
        train(
            short_config(("population", 2), ("total_steps", 600)),
            pendulum,
            tmp_path / "split",
            resume_from=tmp_path / "split" / LAST_CHECKPOINT,
            tensorboard=False,
        )


def test_early_stop_fires_when_the_best_member_is_confirmed(tmp_path: Path) -> None:
    config = short_config(
        ("total_steps", 1000), ("stop.metric", "eval"), ("stop.goal_return", -5000.0)
    )
    result = train(config, pendulum, tmp_path / "stop", tensorboard=False)
    assert result.stopped_early and result.env_steps == 200
    payload = load_checkpoint(tmp_path / "stop" / BEST_CHECKPOINT)
    assert payload["progress"]["eval_episodes"] == 2
    assert payload["population"]["member"] == result.member


def test_a_population_last_checkpoint_is_refused_where_one_learner_is_expected(
    tmp_path: Path,
) -> None:
    train(short_config(("total_steps", 200)), pendulum, tmp_path / "pop", tensorboard=False)
    last = tmp_path / "pop" / LAST_CHECKPOINT
    with pytest.raises(CheckpointError, match="population of 3 learners; use the run"):
        load_actor(last)
    with pytest.raises(CheckpointError, match="population of 3 learners; resume it with"):
        train(
            short_config(("population", 1)),
            pendulum,
            tmp_path / "pop",
            resume_from=last,
            tensorboard=False,
        )


@pytest.mark.parametrize("vectorised", [False, True])
def test_side_by_side_evaluation_matches_the_one_episode_at_a_time_evaluation(
    vectorised: bool,
) -> None:
    torch.manual_seed(0)
    actor = Actor(Architecture(3, 1, (16, 16), 2.0))
    envs = PendulumV1Batch(4) if vectorised else EnvList([pendulum() for _ in range(3)])
    side_by_side = evaluate_grid(actor_policy(actor), envs, rows=1, episodes=5, seed=11)
    one_by_one = evaluate(actor_policy(actor), pendulum(), episodes=5, seed=11)
    np.testing.assert_allclose(side_by_side[0], one_by_one.returns, rtol=1e-4)
    envs.close()


def test_the_vectorised_pendulum_trains_the_same_population_as_gymnasiums(
    tmp_path: Path,
) -> None:
    config = short_config(("total_steps", 200))
    train(config, pendulum, tmp_path / "gym", tensorboard=False)
    train(config, pendulum, tmp_path / "vec", tensorboard=False, vector_env_factory=PendulumV1Batch)
    assert_same_population(tmp_path / "gym" / LAST_CHECKPOINT, tmp_path / "vec" / LAST_CHECKPOINT)
