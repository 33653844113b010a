"""The DDPG algorithm (Lillicrap et al. 2016) in one place: how the agent explores while it
trains, and its update (critic to the one-step TD target, actor up the critic's gradient,
targets by Polyak averaging). The update returns its metrics; the runner logs them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from ddpg_control.learning.config import AgentConfig
from ddpg_control.learning.networks import Actor, Architecture, Critic, init_final_layer_uniform
from ddpg_control.learning.noise import ActionNoise
from ddpg_control.learning.replay_buffer import Batch


class UpdateMetrics(NamedTuple):
    critic_loss: float
    actor_loss: float
    q_mean: float


@dataclass(frozen=True)
class Exploration:
    """How the agent acts while training: ``warmup_steps`` uniformly random torques, then
    mu(s) plus ``noise`` (in units of the torque limit). ``rng`` draws the warm-up torques; pass
    the generator the noise draws from, so one seed drives both."""

    warmup_steps: int
    noise: ActionNoise
    rng: np.random.Generator


def polyak_update(
    source: Iterable[torch.Tensor], target: Iterable[torch.Tensor], tau: float
) -> None:
    """In place: target <- (1 - tau) * target + tau * source, tensor by tensor."""
    with torch.no_grad():
        for s, t in zip(source, target, strict=True):
            t.lerp_(s, tau)


class DDPGAgent:
    """Actor, critic, their targets and optimizers, and the exploration that feeds the replay
    buffer. Build under ``torch.manual_seed``."""

    def __init__(self, arch: Architecture, config: AgentConfig, exploration: Exploration) -> None:
        self.arch = arch
        self.config = config
        self.exploration = exploration
        #: The torque limit, N*m. The actor's output is already scaled to it; the critic takes
        #: actions divided by it (in [-1, 1]), see :meth:`update`.
        self.max_torque_nm = torch.tensor([arch.max_torque_nm] * arch.act_dim, dtype=torch.float32)
        self.actor = Actor(arch)
        self.critic = Critic(arch)
        if config.final_layer_init_bound > 0:
            init_final_layer_uniform(self.actor.net, config.final_layer_init_bound)
            init_final_layer_uniform(self.critic.net, config.final_layer_init_bound)
        self.actor_target = Actor(arch)
        self.critic_target = Critic(arch)
        self.actor_target.load_state_dict(self.actor.state_dict())
        self.critic_target.load_state_dict(self.critic.state_dict())
        for net in (self.actor_target, self.critic_target):
            net.requires_grad_(False)
        self.actor_optimizer = torch.optim.Adam(
            self.actor.parameters(), lr=config.actor_lr, fused=True
        )
        self.critic_optimizer = torch.optim.Adam(
            _decay_groups(self.critic, config.critic_weight_decay), lr=config.critic_lr, fused=True
        )

    @torch.inference_mode()
    def act(self, obs: np.ndarray) -> np.ndarray:
        """The deterministic action mu(obs) in N*m, as a float64 array of shape (act_dim,)."""
        return self.actor(torch.from_numpy(obs)).numpy().astype(np.float64)

    def explore(self, obs: np.ndarray, env_steps: int) -> np.ndarray:
        """The torque to apply while training, N*m, float32 of shape (act_dim,).

        While ``env_steps`` (the steps taken so far) is below the warm-up, a uniformly random
        torque; after it, mu(obs) + max_torque_nm * noise, clipped to the torque limit.
        """
        max_nm = self.arch.max_torque_nm
        if env_steps < self.exploration.warmup_steps:
            action = self.exploration.rng.uniform(-max_nm, max_nm, size=self.arch.act_dim)
        else:
            action = self.act(obs) + max_nm * self.exploration.noise.sample()
            action = np.clip(action, -max_nm, max_nm)
        return action.astype(np.float32)

    def reset_noise(self) -> None:
        """Restart the exploration noise process; call at each episode start."""
        self.exploration.noise.reset()

    def update(self, batch: Batch) -> UpdateMetrics:
        """One gradient step on critic and actor, then one soft target update.

        The critic takes the action divided by the torque limit (in [-1, 1]), whether it comes
        from the replay buffer or from an actor (both in N*m).
        """
        obs = torch.from_numpy(batch.obs)
        action_nm = torch.from_numpy(batch.action_nm)
        reward = torch.from_numpy(batch.reward)
        next_obs = torch.from_numpy(batch.next_obs)
        not_done = 1.0 - torch.from_numpy(batch.terminated)
        scale_nm = self.max_torque_nm

        with torch.no_grad():
            next_q = self.critic_target(next_obs, self.actor_target(next_obs) / scale_nm)
            target_q = reward + self.config.gamma * not_done * next_q
        q = self.critic(obs, action_nm / scale_nm)
        critic_loss = nn.functional.mse_loss(q, target_q)
        self.critic_optimizer.zero_grad(set_to_none=True)
        critic_loss.backward()
        self.critic_optimizer.step()

        actor_loss = -self.critic(obs, self.actor(obs) / scale_nm).mean()
        self.actor_optimizer.zero_grad(set_to_none=True)
        actor_loss.backward()
        self.actor_optimizer.step()

        polyak_update(self.critic.parameters(), self.critic_target.parameters(), self.config.tau)
        polyak_update(self.actor.parameters(), self.actor_target.parameters(), self.config.tau)
        return UpdateMetrics(
            critic_loss=critic_loss.item(),
            actor_loss=actor_loss.item(),
            q_mean=q.detach().mean().item(),
        )

    # -- save and load -----------------------------------------------------------------------
    def networks_state(self) -> dict[str, dict[str, torch.Tensor]]:
        return {
            "actor": self.actor.state_dict(),
            "critic": self.critic.state_dict(),
            "actor_target": self.actor_target.state_dict(),
            "critic_target": self.critic_target.state_dict(),
        }

    def optimizers_state(self) -> dict[str, Any]:
        return {
            "actor": self.actor_optimizer.state_dict(),
            "critic": self.critic_optimizer.state_dict(),
        }

    def noise_state(self) -> np.ndarray | None:
        """The noise process's state (Ornstein-Uhlenbeck); None for stateless noise."""
        state = getattr(self.exploration.noise, "state", None)
        return None if state is None else np.asarray(state)

    def load_state(self, networks: dict[str, Any], optimizers: dict[str, Any] | None) -> None:
        """Restore from a checkpoint's ``networks`` (and, when resuming, ``optimizers``)."""
        self.actor.load_state_dict(networks["actor"])
        self.critic.load_state_dict(networks["critic"])
        self.actor_target.load_state_dict(networks["actor_target"])
        self.critic_target.load_state_dict(networks["critic_target"])
        if optimizers is not None:
            self.actor_optimizer.load_state_dict(optimizers["actor"])
            self.critic_optimizer.load_state_dict(optimizers["critic"])

    def load_noise_state(self, state: np.ndarray) -> None:
        """Restore what :meth:`noise_state` returned (ignored by stateless noise)."""
        if hasattr(self.exploration.noise, "state"):
            self.exploration.noise.state = np.array(state, dtype=np.float64)


def _decay_groups(critic: Critic, weight_decay: float) -> list[dict[str, Any]]:
    """The paper's L2 penalty applies to weights, not biases."""
    weights = [p for n, p in critic.named_parameters() if n.endswith("weight")]
    biases = [p for n, p in critic.named_parameters() if not n.endswith("weight")]
    return [
        {"params": weights, "weight_decay": weight_decay},
        {"params": biases, "weight_decay": 0.0},
    ]


def actor_policy(actor: Actor) -> Callable[[np.ndarray], np.ndarray]:
    """Wrap a trained actor as a deterministic ``obs -> torque_nm`` callable (numpy in, out)."""
    actor.eval()

    def policy(obs: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return actor(torch.as_tensor(obs, dtype=torch.float32)).numpy()

    return policy
