"""The DDPG algorithm: exploration (warm-up, noise, clipping) and the reference update
(targets, the terminal mask, Polyak averaging, the paper's options)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ddpg_control.learning.agent import (
    DDPGAgent,
    Exploration,
    actor_policy,
    explore,
    polyak_update,
)
from ddpg_control.learning.config import AgentConfig
from ddpg_control.learning.networks import Architecture
from ddpg_control.learning.noise import GaussianNoise
from ddpg_control.learning.replay_buffer import Batch


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)  # tiny networks: more threads only add contention


ARCH = Architecture(obs_dim=3, act_dim=1, hidden_sizes=(32, 32), max_torque_nm=2.0)


def _exploration(
    warmup_steps: int = 0, sigma: float = 0.1, seeds: tuple[int, ...] = (0,)
) -> Exploration:
    rngs = [np.random.default_rng(s) for s in seeds]
    noises = [GaussianNoise(ARCH.act_dim, sigma, rng) for rng in rngs]
    return Exploration(warmup_steps, ARCH.max_torque_nm, ARCH.act_dim, noises, rngs)


def _agent(gamma: float = 0.98, **kwargs: object) -> DDPGAgent:
    config = AgentConfig(hidden_sizes=ARCH.hidden_sizes, **kwargs)  # type: ignore[arg-type]
    return DDPGAgent(ARCH, config, seed=0, gamma=gamma)


def _batch(terminated: float, n: int = 64, reward: float = 1.0) -> Batch:
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(n, 3)).astype(np.float32)
    return Batch(
        obs=obs,
        action_nm=rng.uniform(-2, 2, size=(n, 1)).astype(np.float32),
        reward=np.full(n, reward, np.float32),
        next_obs=obs,
        terminated=np.full(n, terminated, np.float32),
    )


def test_targets_start_equal_to_online_networks() -> None:
    agent = _agent()
    for online, target in ((agent.actor, agent.actor_target), (agent.critic, agent.critic_target)):
        for a, b in zip(online.state_dict().values(), target.state_dict().values(), strict=True):
            assert torch.equal(a, b)
        assert not any(p.requires_grad for p in target.parameters())


def test_polyak_update_moves_targets_by_tau_in_place() -> None:
    target = [torch.zeros(3), torch.ones(2)]
    source = [torch.ones(3), torch.full((2,), 3.0)]
    ids = [id(t) for t in target]
    polyak_update(source, target, tau=0.25)
    assert [id(t) for t in target] == ids
    torch.testing.assert_close(target[0], torch.full((3,), 0.25))
    torch.testing.assert_close(target[1], torch.full((2,), 1.5))


def test_polyak_update_refuses_mismatched_parameter_lists() -> None:
    with pytest.raises(ValueError):
        polyak_update([torch.zeros(1)], [torch.zeros(1), torch.zeros(1)], tau=0.1)


def test_terminal_transitions_do_not_bootstrap() -> None:
    """With terminated = 1 the critic fits r; with 0 it also adds gamma * Q'(s', mu'(s'))."""
    results = {}
    for terminated in (1.0, 0.0):
        agent = _agent(critic_lr=1e-2, gamma=0.9, tau=0.2)
        batch = _batch(terminated)
        for _ in range(250):
            metrics = agent.update(batch)
        results[terminated] = metrics.q_mean
    assert results[1.0] == pytest.approx(1.0, abs=0.1)
    assert results[0.0] > 2.0  # on its way to 1 / (1 - 0.9) = 10


def test_update_returns_finite_metrics_and_changes_all_networks() -> None:
    agent = _agent()
    before = {k: {n: t.clone() for n, t in sd.items()} for k, sd in agent.networks_state().items()}
    metrics = agent.update(_batch(0.0))
    assert all(np.isfinite(v) for v in metrics)
    after = agent.networks_state()
    for name in before:
        assert any(not torch.equal(before[name][n], after[name][n]) for n in before[name]), name


def test_final_layer_uniform_init_and_critic_weight_decay_are_options() -> None:
    agent = _agent(final_layer_init_bound=3e-3, critic_weight_decay=1e-2)
    for net in (agent.actor.net, agent.critic.net):
        assert net[-1].weight.detach().abs().max().item() <= 3e-3
    decays = sorted(g["weight_decay"] for g in agent.critic_optimizer.param_groups)
    assert decays == [0.0, 1e-2]  # biases are not decayed


def test_actions_are_torques_within_the_limit() -> None:
    agent = _agent()
    obs = np.random.default_rng(0).normal(size=(100, 3)).astype(np.float32) * 50
    torques = actor_policy(agent.actor)(obs)
    assert torques.shape == (100, 1)
    assert np.all(np.abs(torques) <= 2.0)


def test_the_same_seed_gives_the_same_initial_networks() -> None:
    a, b = _agent(), _agent()
    for name, state in a.networks_state().items():
        for key, tensor in state.items():
            assert torch.equal(tensor, b.networks_state()[name][key])


def test_explore_draws_each_learners_uniform_torques_during_the_warm_up() -> None:
    exploration = _exploration(warmup_steps=1000, seeds=(3, 5))

    def policy() -> np.ndarray:
        raise AssertionError("the actor plays no part in the warm-up")

    torques = np.array([explore(exploration, step, policy) for step in range(1000)])
    assert torques.dtype == np.float32 and torques.shape == (1000, 2, 1)
    for k, seed in enumerate((3, 5)):
        expected = np.random.default_rng(seed).uniform(-2.0, 2.0, size=(1000, 1))
        np.testing.assert_array_equal(torques[:, k], expected.astype(np.float32))
    assert torques.min() < -1.9 and torques.max() > 1.9


def test_explore_after_the_warm_up_adds_scaled_noise_to_mu_and_clips() -> None:
    exploration = _exploration(warmup_steps=10, sigma=0.1, seeds=(4,))
    mu = np.array([[0.3]])
    noise = np.random.default_rng(4).normal(0.0, 0.1, size=(50, 1, 1))
    torques = np.array([explore(exploration, 10 + i, lambda: mu) for i in range(50)])
    expected = np.clip(mu + 2.0 * noise, -2.0, 2.0).astype(np.float32)
    np.testing.assert_array_equal(torques, expected)

    loud = _exploration(warmup_steps=0, sigma=10.0)
    torques = np.array([explore(loud, i, lambda: mu) for i in range(200)])
    assert np.all(np.abs(torques) <= 2.0)
    assert np.sum(np.abs(torques) == 2.0) > 100  # most samples were clipped to the limit
