"""The training rollout: the training environment stepped with the agent's exploring actions,
one transition at a time, each stored in the replay buffer."""

from __future__ import annotations

from typing import Any

import numpy as np

from ddpg_control.learning.agent import DDPGAgent
from ddpg_control.learning.replay_buffer import ReplayBuffer


def episode_seed(seed: int, episode: int) -> int:
    """The env seed of training episode ``episode``: independent across run seeds (seed 1 does
    not replay seed 0's start states), and a pure function, so a resumed run continues exactly."""
    return int(np.random.SeedSequence([seed, episode]).generate_state(1)[0])


class Rollout:
    """Collects experience: act (explore), step, store. Counts env steps and episodes; training
    episode ``n`` starts from ``env.reset(seed=episode_seed(seed, n))``.

    Set ``env_steps`` and ``episodes`` (when resuming), then :meth:`start`, then :meth:`step`.
    """

    def __init__(self, env: Any, agent: DDPGAgent, buffer: ReplayBuffer, seed: int) -> None:
        self.env = env
        self.agent = agent
        self.buffer = buffer
        self.seed = seed
        self.env_steps = 0
        self.episodes = 0
        self.episode_return = 0.0
        self.obs: np.ndarray | None = None

    def start(self) -> None:
        """Begin training episode number ``episodes``: reset the env and the noise process."""
        self.obs, _ = self.env.reset(seed=episode_seed(self.seed, self.episodes))
        self.episode_return = 0.0
        self.agent.reset_noise()

    def step(self) -> float | None:
        """One transition into the replay buffer. Returns the episode's return when this step
        ended it (the next episode has then started), else None."""
        if self.obs is None:
            raise RuntimeError("Rollout.step() before start()")
        obs = self.obs
        action_nm = self.agent.explore(obs, self.env_steps)
        next_obs, reward, terminated, truncated, _ = self.env.step(action_nm)
        # Time-limit truncation is not termination: those transitions still bootstrap.
        self.buffer.add(obs, action_nm, float(reward), next_obs, bool(terminated))
        self.obs = next_obs
        self.episode_return += float(reward)
        self.env_steps += 1
        if not (terminated or truncated):
            return None
        finished = self.episode_return
        self.episodes += 1
        self.start()
        return finished
