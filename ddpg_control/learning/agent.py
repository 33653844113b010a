"""The DDPG update (Lillicrap et al. 2016): critic to the one-step TD target, actor up the
critic's gradient, targets by Polyak averaging. It returns metrics; the runner logs them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from ddpg_control.learning.config import AgentConfig
from ddpg_control.learning.networks import Actor, Architecture, Critic, init_final_layer_uniform
from ddpg_control.learning.replay_buffer import Batch


class UpdateMetrics(NamedTuple):
    critic_loss: float
    actor_loss: float
    q_mean: float


def polyak_update(
    target: Iterable[torch.Tensor], source: Iterable[torch.Tensor], tau: float
) -> None:
    """In place: target <- (1 - tau) * target + tau * source, tensor by tensor."""
    with torch.no_grad():
        for t, s in zip(target, source, strict=True):
            t.lerp_(s, tau)


class DDPGAgent:
    """Actor, critic, their targets and optimizers. Build under ``torch.manual_seed``."""

    def __init__(self, arch: Architecture, config: AgentConfig) -> None:
        self.arch = arch
        self.config = config
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

    def update(self, batch: Batch) -> UpdateMetrics:
        """One gradient step on critic and actor, then one soft target update."""
        obs = torch.from_numpy(batch.obs)
        action = torch.from_numpy(batch.action_nm)
        reward = torch.from_numpy(batch.reward)
        next_obs = torch.from_numpy(batch.next_obs)
        not_done = 1.0 - torch.from_numpy(batch.terminated)

        with torch.no_grad():
            next_q = self.critic_target(next_obs, self.actor_target(next_obs))
            target_q = reward + self.config.gamma * not_done * next_q
        q = self.critic(obs, action)
        critic_loss = nn.functional.mse_loss(q, target_q)
        self.critic_optimizer.zero_grad(set_to_none=True)
        critic_loss.backward()
        self.critic_optimizer.step()

        actor_loss = -self.critic(obs, self.actor(obs)).mean()
        self.actor_optimizer.zero_grad(set_to_none=True)
        actor_loss.backward()
        self.actor_optimizer.step()

        polyak_update(self.critic_target.parameters(), self.critic.parameters(), self.config.tau)
        polyak_update(self.actor_target.parameters(), self.actor.parameters(), self.config.tau)
        return UpdateMetrics(
            critic_loss=critic_loss.item(),
            actor_loss=actor_loss.item(),
            q_mean=q.detach().mean().item(),
        )

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

    def load_state(self, networks: dict[str, Any], optimizers: dict[str, Any] | None) -> None:
        """Restore from a checkpoint's ``networks`` (and, when resuming, ``optimizers``)."""
        self.actor.load_state_dict(networks["actor"])
        self.critic.load_state_dict(networks["critic"])
        self.actor_target.load_state_dict(networks["actor_target"])
        self.critic_target.load_state_dict(networks["critic_target"])
        if optimizers is not None:
            self.actor_optimizer.load_state_dict(optimizers["actor"])
            self.critic_optimizer.load_state_dict(optimizers["critic"])


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
