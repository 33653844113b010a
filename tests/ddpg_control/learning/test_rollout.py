"""The rollout: explore, step, store; episode boundaries and their seeded starts."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
import torch

from ddpg_control.learning.agent import DDPGAgent, Exploration
from ddpg_control.learning.config import AgentConfig
from ddpg_control.learning.networks import Architecture
from ddpg_control.learning.noise import GaussianNoise
from ddpg_control.learning.replay_buffer import ReplayBuffer
from ddpg_control.learning.rollout import Rollout, episode_seed


def test_rollout_stores_each_transition_and_restarts_episodes_from_their_seeds() -> None:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    arch = Architecture(obs_dim=3, act_dim=1, hidden_sizes=(8,), max_torque_nm=2.0)
    exploration = Exploration(50, GaussianNoise(1, 0.1, rng), rng)
    agent = DDPGAgent(arch, AgentConfig(hidden_sizes=(8,)), exploration)
    buffer = ReplayBuffer(1000, 3, 1)
    env = gymnasium.make("Pendulum-v1")  # 200-step episodes
    rollout = Rollout(env, agent, buffer, seed=7)
    rollout.start()
    first_obs = rollout.obs
    returns = [rollout.step() for _ in range(200)]
    assert returns[:-1] == [None] * 199
    assert returns[-1] == pytest.approx(float(buffer.reward[:200].sum()), rel=1e-5)
    assert (rollout.env_steps, rollout.episodes, len(buffer)) == (200, 1, 200)
    reference = gymnasium.make("Pendulum-v1")
    np.testing.assert_array_equal(first_obs, reference.reset(seed=episode_seed(7, 0))[0])
    np.testing.assert_array_equal(rollout.obs, reference.reset(seed=episode_seed(7, 1))[0])
    np.testing.assert_array_equal(buffer.obs[1:200], buffer.next_obs[:199])
    assert not buffer.terminated[:200].any()  # the time limit is truncation
    env.close()
    reference.close()
