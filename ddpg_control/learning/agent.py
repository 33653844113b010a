"""The DDPG algorithm (Lillicrap et al. 2016) as the paper writes it: how a learner explores
while it trains (:func:`explore`), and :class:`DDPGAgent`, the readable update (critic to the
one-step TD target, actor up the critic's gradient, targets by Polyak averaging).

:class:`DDPGAgent` is the executable specification of the update: training runs the stacked
form (:class:`~ddpg_control.learning.stacked.StackedAgent`, K learners at once, a population of
one included), and a test holds it to this one, member by member.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from ddpg_control.learning.config import AgentConfig
from ddpg_control.learning.networks import NETWORKS, Actor, Architecture, Critic, build_networks
from ddpg_control.learning.noise import ActionNoise
from ddpg_control.learning.replay_buffer import Batch


class UpdateMetrics(NamedTuple):
    critic_loss: float
    actor_loss: float
    q_mean: float


@dataclass(frozen=True)
class Exploration:
    """How K learners act while training: for ``warmup_steps`` steps uniformly random torques
    drawn from ``rngs[k]``, then mu_k(s) plus ``noises[k]`` (in units of the torque limit).
    Pass each learner the generator its noise draws from, so one seed drives both."""

    warmup_steps: int
    max_torque_nm: float
    act_dim: int
    noises: Sequence[ActionNoise]
    rngs: Sequence[np.random.Generator]


def explore(
    exploration: Exploration, env_steps: int, policy_nm: Callable[[], np.ndarray]
) -> np.ndarray:
    """The torques to apply while training, N*m, float32 ``[K, act_dim]``.

    While ``env_steps`` (the steps taken so far) is below the warm-up, uniformly random
    torques; after it, ``policy_nm()`` (mu_k(s_k), ``[K, act_dim]``, N*m) plus
    ``max_torque_nm * noise``, clipped to the torque limit.
    """
    max_nm = exploration.max_torque_nm
    if env_steps < exploration.warmup_steps:
        size = exploration.act_dim
        action = np.stack([rng.uniform(-max_nm, max_nm, size=size) for rng in exploration.rngs])
    else:
        noise = np.stack([n.sample() for n in exploration.noises])
        action = np.clip(policy_nm() + max_nm * noise, -max_nm, max_nm)
    return action.astype(np.float32)


def polyak_update(
    source: Iterable[torch.Tensor], target: Iterable[torch.Tensor], tau: float
) -> None:
    """In place: target <- (1 - tau) * target + tau * source, tensor by tensor."""
    with torch.no_grad():
        for s, t in zip(source, target, strict=True):
            t.lerp_(s, tau)


def optimizers(
    actor: Iterable[Any], critic_weights: list[Any], critic_biases: list[Any], config: AgentConfig
) -> tuple[torch.optim.Adam, torch.optim.Adam]:
    """The actor's and the critic's Adam (fused); the paper's L2 penalty applies to the
    critic's weights, not its biases."""
    groups: list[dict[str, Any]] = [
        {"params": critic_weights, "weight_decay": config.critic_weight_decay},
        {"params": critic_biases, "weight_decay": 0.0},
    ]
    return (
        torch.optim.Adam(actor, lr=config.actor_lr, fused=True),
        torch.optim.Adam(groups, lr=config.critic_lr, fused=True),
    )


class DDPGAgent:
    """One learner: actor, critic, their targets and optimizers, initialised from ``seed``
    (:func:`~ddpg_control.learning.networks.build_networks`, as every member of a population).
    ``gamma`` is the discount of one step (:meth:`AgentConfig.gamma_step` of the env's period).
    """

    def __init__(self, arch: Architecture, config: AgentConfig, seed: int, gamma: float) -> None:
        self.config = config
        self.gamma = gamma
        #: The critic takes actions divided by the torque limit (in [-1, 1]), see :meth:`update`.
        self.max_torque_nm = arch.torque_scale()
        self.actor, self.critic = build_networks(arch, config.final_layer_init_bound, seed)
        self.actor_target: Actor = copy.deepcopy(self.actor).requires_grad_(False)
        self.critic_target: Critic = copy.deepcopy(self.critic).requires_grad_(False)
        named = list(self.critic.named_parameters())
        weights = [p for n, p in named if n.endswith("weight")]
        biases = [p for n, p in named if not n.endswith("weight")]
        self.actor_optimizer, self.critic_optimizer = optimizers(
            self.actor.parameters(), weights, biases, config
        )

    def update(self, batch: Batch) -> UpdateMetrics:
        """One gradient step on critic and actor, then one soft target update."""
        obs = torch.from_numpy(batch.obs)
        action_nm = torch.from_numpy(batch.action_nm)
        reward = torch.from_numpy(batch.reward)
        next_obs = torch.from_numpy(batch.next_obs)
        not_done = 1.0 - torch.from_numpy(batch.terminated)
        scale_nm = self.max_torque_nm

        with torch.no_grad():
            next_q = self.critic_target(next_obs, self.actor_target(next_obs) / scale_nm)
            target_q = reward + self.gamma * not_done * next_q
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

    def networks_state(self) -> dict[str, dict[str, torch.Tensor]]:
        return {name: getattr(self, name).state_dict() for name in NETWORKS}


def actor_policy(actor: Actor) -> Callable[[np.ndarray], np.ndarray]:
    """Wrap a trained actor as a deterministic ``obs -> torque_nm`` callable (numpy in, out,
    any leading batch shape)."""
    actor.eval()

    def policy(obs: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return actor(torch.as_tensor(obs, dtype=torch.float32)).numpy()

    return policy
