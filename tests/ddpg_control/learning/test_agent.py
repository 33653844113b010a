"""The DDPG agent: exploration (warm-up, noise, clipping), the update (targets, the terminal
mask, Polyak averaging, the paper's options)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ddpg_control.learning.agent import DDPGAgent, Exploration, actor_policy, polyak_update
from ddpg_control.learning.config import AgentConfig
from ddpg_control.learning.networks import Architecture
from ddpg_control.learning.noise import GaussianNoise, OrnsteinUhlenbeckNoise
from ddpg_control.learning.replay_buffer import Batch


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)  # tiny networks: more threads only add contention


ARCH = Architecture(obs_dim=3, act_dim=1, hidden_sizes=(32, 32), max_torque_nm=2.0)


def _exploration(warmup_steps: int = 0, sigma: float = 0.1, seed: int = 0) -> Exploration:
    rng = np.random.default_rng(seed)
    return Exploration(warmup_steps, GaussianNoise(ARCH.act_dim, sigma, rng), rng)


def _agent(exploration: Exploration | None = None, **kwargs: object) -> DDPGAgent:
    torch.manual_seed(0)
    config = AgentConfig(hidden_sizes=ARCH.hidden_sizes, **kwargs)  # type: ignore[arg-type]
    return DDPGAgent(ARCH, config, exploration or _exploration())


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
    assert agent.act(obs[0]).shape == (1,)


def test_explore_draws_uniform_torques_during_the_warm_up() -> None:
    agent = _agent(_exploration(warmup_steps=1000, seed=3))
    obs = np.zeros(3, np.float32)
    torques = np.array([agent.explore(obs, step) for step in range(1000)])
    assert torques.dtype == np.float32 and torques.shape == (1000, 1)
    expected = np.random.default_rng(3).uniform(-2.0, 2.0, size=(1000, 1)).astype(np.float32)
    np.testing.assert_array_equal(torques, expected)  # the actor plays no part
    assert torques.min() < -1.9 and torques.max() > 1.9


def test_explore_after_the_warm_up_adds_scaled_noise_to_mu_and_clips() -> None:
    agent = _agent(_exploration(warmup_steps=10, sigma=0.1, seed=4))
    obs = np.random.default_rng(0).normal(size=3).astype(np.float32)
    noise = np.random.default_rng(4).normal(0.0, 0.1, size=(50, 1))
    torques = np.array([agent.explore(obs, 10 + i) for i in range(50)])
    expected = np.clip(agent.act(obs) + 2.0 * noise, -2.0, 2.0).astype(np.float32)
    np.testing.assert_array_equal(torques, expected)

    loud = _agent(_exploration(warmup_steps=0, sigma=10.0))
    torques = np.array([loud.explore(obs, i) for i in range(200)])
    assert np.all(np.abs(torques) <= 2.0)
    assert np.sum(np.abs(torques) == 2.0) > 100  # most samples were clipped to the limit


def test_reset_noise_restarts_the_noise_process() -> None:
    rng = np.random.default_rng(0)
    noise = OrnsteinUhlenbeckNoise(1, sigma=0.2, theta=0.15, rng=rng)
    agent = _agent(Exploration(0, noise, rng))
    for step in range(20):
        agent.explore(np.zeros(3, np.float32), step)
    assert noise.state[0] != 0.0
    agent.reset_noise()
    assert noise.state[0] == 0.0
