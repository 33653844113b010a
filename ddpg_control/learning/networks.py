"""The actor and critic networks (Lillicrap et al. 2016).

The actor carries its torque scale as a registered buffer, so a saved or exported actor
outputs torque in N*m: ``action = max_torque_nm * squash(mlp(obs))``, with :func:`squash` the
one definition of the actor's output nonlinearity (tanh, in units of the torque limit). The
critic takes the action normalised to [-1, 1] (``action / max_torque_nm``); the update does that
division. :meth:`Actor.exportable` is the actor's export form (clamped to the limit in the graph).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

#: A learner's networks, as checkpoints name them.
NETWORKS = ("actor", "critic", "actor_target", "critic_target")


@dataclass(frozen=True)
class Architecture:
    """Everything needed to rebuild the networks from a checkpoint."""

    obs_dim: int
    act_dim: int
    hidden_sizes: tuple[int, ...]
    max_torque_nm: float

    def __post_init__(self) -> None:
        if self.obs_dim <= 0 or self.act_dim <= 0:
            raise ValueError("obs_dim and act_dim must be positive")
        if not self.hidden_sizes or any(h <= 0 for h in self.hidden_sizes):
            raise ValueError(f"hidden_sizes must be positive integers, got {self.hidden_sizes}")
        if not self.max_torque_nm > 0:
            raise ValueError(f"max_torque_nm must be positive, got {self.max_torque_nm}")

    def to_dict(self) -> dict[str, object]:
        return {**dataclasses.asdict(self), "hidden_sizes": list(self.hidden_sizes)}

    def torque_scale(self) -> torch.Tensor:
        """The torque limit per action, N*m: the actor's output scale, the critic's divisor."""
        return torch.tensor([self.max_torque_nm] * self.act_dim, dtype=torch.float32)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Architecture:
        hidden = tuple(int(h) for h in data["hidden_sizes"])
        return cls(int(data["obs_dim"]), int(data["act_dim"]), hidden, float(data["max_torque_nm"]))


def mlp(in_dim: int, hidden_sizes: tuple[int, ...], out_dim: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    last = in_dim
    for width in hidden_sizes:
        layers += [nn.Linear(last, width), nn.ReLU()]
        last = width
    layers.append(nn.Linear(last, out_dim))
    return nn.Sequential(*layers)


def init_final_layer_uniform(net: nn.Sequential, bound: float) -> None:
    """The paper's final-layer init: weights and biases from U(-bound, bound)."""
    final = net[-1]
    assert isinstance(final, nn.Linear)
    nn.init.uniform_(final.weight, -bound, bound)
    nn.init.uniform_(final.bias, -bound, bound)


def squash(raw: torch.Tensor) -> torch.Tensor:
    """The actor's output in units of its torque limit, in [-1, 1]: ``tanh(raw)``. Its
    derivative, written in terms of the output ``a``, is ``1 - a**2``."""
    return torch.tanh(raw)


class Actor(nn.Module):
    """Deterministic policy mu(s): observation -> torque in N*m."""

    max_torque_nm: torch.Tensor

    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        self.arch = arch
        self.net = mlp(arch.obs_dim, arch.hidden_sizes, arch.act_dim)
        self.register_buffer("max_torque_nm", arch.torque_scale())

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.max_torque_nm * squash(self.net(obs))

    def exportable(self) -> BoundedActor:
        """This actor (eval mode) as it goes into an exported graph."""
        return BoundedActor(self).eval()


class BoundedActor(nn.Module):
    """An actor whose torque is clamped to +-max_torque_nm inside the graph.

    In torch the clamp changes nothing (``max * tanh`` is within the limit), but onnxruntime's
    Tanh overshoots 1 by up to 2 ulp (1.0000002 near 8.5), and an exported artifact promises
    torques within the limit exactly.
    """

    def __init__(self, actor: Actor) -> None:
        super().__init__()
        self.actor = actor

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        limit = self.actor.max_torque_nm
        return torch.minimum(torch.maximum(self.actor(obs), -limit), limit)


class Critic(nn.Module):
    """Action-value function Q(s, a), with the action a normalised to [-1, 1]: torque divided
    by the torque limit. The caller divides (see ``DDPGAgent.update``); ``max_torque_nm``, the
    divisor, is kept in the state dict, so a checkpoint's critic says what it was trained with.
    """

    max_torque_nm: torch.Tensor

    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        self.arch = arch
        self.net = mlp(arch.obs_dim + arch.act_dim, arch.hidden_sizes, 1)
        self.register_buffer("max_torque_nm", arch.torque_scale())

    def forward(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([obs, action], dim=-1)).squeeze(-1)


def build_networks(
    arch: Architecture, final_layer_init_bound: float, seed: int
) -> tuple[Actor, Critic]:
    """A learner's initial actor and critic, drawn from ``torch.manual_seed(seed)`` (its targets
    start as copies). ``final_layer_init_bound`` > 0: the paper's final-layer init."""
    torch.manual_seed(seed)
    actor, critic = Actor(arch), Critic(arch)
    if final_layer_init_bound > 0:
        init_final_layer_uniform(actor.net, final_layer_init_bound)
        init_final_layer_uniform(critic.net, final_layer_init_bound)
    return actor, critic
