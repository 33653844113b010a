"""K independent DDPG learners as one: their networks stacked along a leading member axis.

Every layer of K same-shaped MLPs is one weight tensor ``[K, in, out]`` and one bias
``[K, 1, out]``; a forward pass over ``[K, batch, in]`` is one ``torch.baddbmm`` per layer for all
K members, so the per-operation overhead (most of the time of a 64-64 update) is paid once,
not K times. The update is :meth:`DDPGAgent.update`'s, member by member: each member's loss is
its own batch mean, and the summed loss has exactly that member's gradient in that member's
slice. Adam is elementwise, so one (fused) Adam over the stacked tensors is K independent Adams.

The update's backward passes are written out by hand rather than left to autograd: at this
size the graph's bookkeeping, the relu backward on autograd's layouts and the batched
matrix-vector products of the one-output layers cost as much as the matrix products that
remain (measured with ``bench/population_scaling.py --update-only``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ddpg_control.learning.agent import DDPGAgent
from ddpg_control.learning.config import AgentConfig
from ddpg_control.learning.networks import Architecture
from ddpg_control.learning.replay_buffer import Batch


class StackedMLP:
    """K MLPs (Linear-ReLU-...-Linear) of one shape, as stacked tensors."""

    def __init__(self, weights: list[torch.Tensor], biases: list[torch.Tensor]) -> None:
        self.weights = weights  # [K, in, out] each
        self.biases = biases  # [K, 1, out] each

    @classmethod
    def from_sequentials(cls, nets: Sequence[nn.Sequential]) -> StackedMLP:
        layers = [[m for m in net if isinstance(m, nn.Linear)] for net in nets]
        weights, biases = [], []
        for i in range(len(layers[0])):
            w = torch.stack([member[i].weight.detach().t() for member in layers]).contiguous()
            b = torch.stack([member[i].bias.detach() for member in layers]).unsqueeze(1)
            weights.append(w)
            biases.append(b.contiguous())
        return cls(weights, biases)

    @property
    def members(self) -> int:
        return self.weights[0].shape[0]

    def parameters(self) -> list[torch.Tensor]:
        """Weights and biases interleaved, layer by layer: ``nn.Sequential.parameters()``'s
        order."""
        return [t for pair in zip(self.weights, self.biases, strict=True) for t in pair]

    def requires_grad_(self, flag: bool) -> StackedMLP:
        for t in self.parameters():
            t.requires_grad_(flag)
        return self

    def clone(self) -> StackedMLP:
        return StackedMLP(
            [w.detach().clone() for w in self.weights], [b.detach().clone() for b in self.biases]
        )

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """``[K, batch, in]`` -> ``[K, batch, out]``, member k through MLP k."""
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = torch.baddbmm(b, x, w)
            if i < last:
                x = torch.relu(x)
        return x

    def member_state(self, k: int) -> dict[str, torch.Tensor]:
        """Member k as an ``nn.Sequential`` state dict (``0.weight``, ``0.bias``, ``2.weight``
        ...)."""
        state: dict[str, torch.Tensor] = {}
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            state[f"{2 * i}.weight"] = w[k].detach().t().contiguous().clone()
            state[f"{2 * i}.bias"] = b[k, 0].detach().clone()
        return state

    def load_member(self, k: int, state: dict[str, torch.Tensor]) -> None:
        with torch.no_grad():
            for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
                w[k].copy_(state[f"{2 * i}.weight"].t())
                b[k, 0].copy_(state[f"{2 * i}.bias"])

    def state_dict(self) -> dict[str, torch.Tensor]:
        state = {}
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            state[f"{i}.weight"] = w.detach().clone()
            state[f"{i}.bias"] = b.detach().clone()
        return state

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        with torch.no_grad():
            for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
                for name, t in ((f"{i}.weight", w), (f"{i}.bias", b)):
                    if state[name].shape != t.shape:
                        raise ValueError(
                            f"{name}: shape {tuple(state[name].shape)}, expected {tuple(t.shape)}"
                        )
                    t.copy_(state[name])


class _Buffers:
    """The update's large intermediate tensors, each allocated once (per name and shape) and
    then overwritten (``out=``). Freshly allocated tensors of this size (hundreds of kB) come
    from the C allocator as new pages whenever it has given memory back to the system, and the
    page faults then cost as much as the arithmetic (at K = 16: 500-800 faults per update)."""

    def __init__(self) -> None:
        self._tensors: dict[str, torch.Tensor] = {}

    def __call__(self, name: str, *shape: int) -> torch.Tensor:
        t = self._tensors.get(name)
        if t is None or t.shape != shape:
            t = self._tensors[name] = torch.empty(shape)
        return t


def _forward(
    net: StackedMLP, x: torch.Tensor, buf: _Buffers, tag: str, out_tag: str
) -> list[torch.Tensor]:
    """``net(x)``: every layer's input (x, then the ReLU outputs, for :func:`_backward`), then
    the output. The hidden layers go into the buffers ``tag``0, ``tag``1, ... (shared by passes
    whose activations are not needed at the same time, which keeps the working set small), the
    output into ``out_tag``.

    A one-output layer goes as ``w^T @ x^T`` (``[K, 1, n]``, returned as a ``[K, n, 1]`` view):
    batched matrix-vector products with the vector on the right are several times slower."""
    acts = [x]
    last = len(net.weights) - 1
    members, n = x.shape[0], x.shape[1]
    for i, (w, b) in enumerate(zip(net.weights, net.biases, strict=True)):
        width = w.shape[-1]
        name = out_tag if i == last else f"{tag}{i}"
        if width == 1:
            out = buf(name, members, 1, n)
            x = torch.baddbmm(b, w.transpose(1, 2), x.transpose(1, 2), out=out).transpose(1, 2)
        else:
            x = torch.baddbmm(b, x, w, out=buf(name, members, n, width))
        if i < last:
            x.relu_()
        acts.append(x)
    return acts


def _input_grad(
    w: torch.Tensor, d: torch.Tensor, h: torch.Tensor, out: torch.Tensor
) -> torch.Tensor:
    """Into ``out``: the gradient at the input ``h`` (a ReLU output) of the layer ``w``, from
    ``d`` at its output: ``(d @ w^T) * (h > 0)``."""
    if w.shape[-1] == 1:
        torch.mul(d, w.transpose(1, 2), out=out)
    else:
        torch.bmm(d, w.transpose(1, 2), out=out)
    return torch.ops.aten.threshold_backward.grad_input(out, h, 0.0, grad_input=out)


def _backward(
    net: StackedMLP, acts: list[torch.Tensor], d: torch.Tensor, buf: _Buffers, tag: str
) -> list[torch.Tensor]:
    """The gradients of ``(d * net(x)).sum()`` over ``net``'s parameters, in
    :meth:`StackedMLP.parameters`'s order; ``acts`` from :func:`_forward`."""
    grads: list[torch.Tensor] = []
    for i in range(len(net.weights) - 1, -1, -1):
        w, x = net.weights[i], acts[i]
        members, n, width = x.shape[0], x.shape[1], w.shape[1]
        if w.shape[-1] == 1:
            g_w = buf(f"{tag}w{i}", members, 1, width)
            g_w = torch.bmm(d.transpose(1, 2), x, out=g_w).view(w.shape)
        else:
            g_w = torch.bmm(x.transpose(1, 2), d, out=buf(f"{tag}w{i}", *w.shape))
        grads += [d.sum(dim=1, keepdim=True), g_w]
        if i > 0:
            d = _input_grad(w, d, x, buf(f"d{i}", members, n, width))
    grads.reverse()
    return grads


def _action_grad(
    net: StackedMLP, acts: list[torch.Tensor], d: torch.Tensor, start: int, buf: _Buffers
) -> torch.Tensor:
    """The gradient of ``(d * net(x)).sum()`` at ``x[..., start:]``; ``acts`` from
    :func:`_forward`."""
    for i in range(len(net.weights) - 1, 0, -1):
        w, h = net.weights[i], acts[i]
        d = _input_grad(w, d, h, buf(f"d{i}", h.shape[0], h.shape[1], w.shape[1]))
    return torch.bmm(d, net.weights[0][:, start:, :].transpose(1, 2))


def _adam_step(
    optimizer: torch.optim.Optimizer, params: list[torch.Tensor], grads: list[torch.Tensor]
) -> None:
    """``optimizer.step()`` with ``grads`` as the parameters' gradients.

    Once the optimizer has its state (after its first step), this is the fused Adam kernel
    called straight on that state, group by group, as ``torch.optim.Adam(fused=True)`` calls
    it: :meth:`Optimizer.step`'s own bookkeeping costs several times the kernel at this size.
    """
    state = optimizer.state
    if len(state) < len(params):
        for p, g in zip(params, grads, strict=True):
            p.grad = g
        optimizer.step()
        for p in params:
            p.grad = None
        return
    grad_of = {id(p): g for p, g in zip(params, grads, strict=True)}
    for group in optimizer.param_groups:
        group_params = group["params"]
        states = [state[p] for p in group_params]
        steps = [s["step"] for s in states]
        torch._foreach_add_(steps, 1)
        beta1, beta2 = group["betas"]
        torch._fused_adam_(
            group_params,
            [grad_of[id(p)] for p in group_params],
            [s["exp_avg"] for s in states],
            [s["exp_avg_sq"] for s in states],
            [s["max_exp_avg_sq"] for s in states] if group["amsgrad"] else [],
            steps,
            amsgrad=group["amsgrad"],
            lr=group["lr"],
            beta1=beta1,
            beta2=beta2,
            weight_decay=group["weight_decay"],
            eps=group["eps"],
            maximize=group["maximize"],
        )


_NETWORKS = ("actor", "critic", "actor_target", "critic_target")


class StackedAgent:
    """K DDPG learners stacked: :meth:`update` is K :meth:`DDPGAgent.update` calls in one.

    Built from K agents (each made under its own ``torch.manual_seed``), copying their weights.
    """

    def __init__(self, arch: Architecture, config: AgentConfig, agents: Sequence[DDPGAgent]):
        self.arch = arch
        self.config = config
        self.size = len(agents)
        self.actor = StackedMLP.from_sequentials([a.actor.net for a in agents])
        self.critic = StackedMLP.from_sequentials([a.critic.net for a in agents])
        self.actor_target = StackedMLP.from_sequentials([a.actor_target.net for a in agents])
        self.critic_target = StackedMLP.from_sequentials([a.critic_target.net for a in agents])
        self.actor.requires_grad_(True)
        self.critic.requires_grad_(True)
        self.max_torque_nm = torch.tensor([arch.max_torque_nm] * arch.act_dim, dtype=torch.float32)
        self._buffers = _Buffers()
        self.actor_optimizer = torch.optim.Adam(
            self.actor.parameters(), lr=config.actor_lr, fused=True
        )
        self.critic_optimizer = torch.optim.Adam(
            [
                {"params": self.critic.weights, "weight_decay": config.critic_weight_decay},
                {"params": self.critic.biases, "weight_decay": 0.0},
            ],
            lr=config.critic_lr,
            fused=True,
        )

    def _nets(self) -> dict[str, StackedMLP]:
        return {
            "actor": self.actor,
            "critic": self.critic,
            "actor_target": self.actor_target,
            "critic_target": self.critic_target,
        }

    @torch.inference_mode()
    def act(self, obs: np.ndarray) -> np.ndarray:
        """mu_k(obs_k) for every member k: ``[K, obs_dim]`` -> ``[K, act_dim]`` float64, N*m."""
        return self.act_grid(np.asarray(obs)[:, None])[:, 0].astype(np.float64)

    @torch.inference_mode()
    def act_grid(self, obs: np.ndarray) -> np.ndarray:
        """mu_k on member k's batch: ``[K, n, obs_dim]`` -> ``[K, n, act_dim]`` float32, N*m."""
        x = torch.from_numpy(np.ascontiguousarray(obs, dtype=np.float32))
        return (self.max_torque_nm * torch.tanh(self.actor(x))).numpy()

    @torch.inference_mode()
    def act_member(self, k: int, obs: np.ndarray) -> np.ndarray:
        """mu_k on a batch: ``[n, obs_dim]`` -> ``[n, act_dim]`` float64, N*m."""
        net = StackedMLP(
            [w[k : k + 1] for w in self.actor.weights], [b[k : k + 1] for b in self.actor.biases]
        )
        x = torch.from_numpy(np.ascontiguousarray(obs, dtype=np.float32)).unsqueeze(0)
        return (self.max_torque_nm * torch.tanh(net(x)))[0].numpy().astype(np.float64)

    @torch.no_grad()
    def update(self, batch: Batch) -> np.ndarray:
        """One gradient step per member on its own batch (arrays ``[K, batch, ...]``), then the
        soft target updates. Returns ``[K, 3]``: critic loss, actor loss, mean Q per member.

        The gradients are written out by hand (:func:`_forward`, :func:`_backward`,
        :func:`_action_grad`) rather than taken by autograd: they are
        :meth:`DDPGAgent.update`'s, member by member, computing only what the two steps need
        (no critic weight gradients in the actor step), with no graph to build."""
        obs = torch.from_numpy(batch.obs)
        action = torch.from_numpy(batch.action_nm) / self.max_torque_nm
        reward = torch.from_numpy(batch.reward)
        not_done = 1.0 - torch.from_numpy(batch.terminated)
        scale = 1.0 / obs.shape[1]

        buf = self._buffers
        next_obs = torch.from_numpy(batch.next_obs)
        next_action = torch.tanh(_forward(self.actor_target, next_obs, buf, "h", "ta")[-1])
        x = torch.cat([next_obs, next_action], dim=-1)
        next_q = _forward(self.critic_target, x, buf, "h", "tc")[-1].squeeze(-1)
        target_q = reward + self.config.gamma * not_done * next_q

        critic = self.critic
        acts = _forward(critic, torch.cat([obs, action], dim=-1), buf, "c", "q")
        q = acts.pop().squeeze(-1)
        error = q - target_q
        critic_loss = error.square().mean(dim=1)
        grads = _backward(critic, acts, (error * (2.0 * scale)).unsqueeze(-1), buf, "gc")
        _adam_step(self.critic_optimizer, critic.parameters(), grads)

        actor_acts = _forward(self.actor, obs, buf, "h", "mu")
        policy = torch.tanh(actor_acts.pop())
        acts = _forward(critic, torch.cat([obs, policy], dim=-1), buf, "c", "mu_q")
        actor_q = acts.pop()
        actor_loss = -actor_q.mean(dim=(1, 2))
        # d(-mean Q)/d(tanh output), through the critic's action inputs only.
        d_policy = _action_grad(critic, acts, torch.full_like(actor_q, -scale), obs.shape[-1], buf)
        d_out = d_policy * (1.0 - policy.square())
        grads = _backward(self.actor, actor_acts, d_out, buf, "ga")
        _adam_step(self.actor_optimizer, self.actor.parameters(), grads)

        tau = self.config.tau
        torch._foreach_lerp_(self.critic_target.parameters(), critic.parameters(), tau)
        torch._foreach_lerp_(self.actor_target.parameters(), self.actor.parameters(), tau)
        metrics = torch.stack([critic_loss, actor_loss, q.mean(dim=1)], dim=1)
        return metrics.numpy().copy()

    # -- one member as a single learner ------------------------------------------------------
    def member_networks(self, k: int) -> dict[str, dict[str, torch.Tensor]]:
        """Member k's networks in :meth:`DDPGAgent.networks_state`'s layout."""
        torque = self.max_torque_nm.clone()
        return {
            name: {
                **{f"net.{key}": t for key, t in net.member_state(k).items()},
                "max_torque_nm": torque,
            }
            for name, net in self._nets().items()
        }

    def load_member_networks(self, k: int, networks: dict[str, dict[str, torch.Tensor]]) -> None:
        for name, net in self._nets().items():
            net.load_member(
                k, {key[4:]: t for key, t in networks[name].items() if key.startswith("net.")}
            )

    # -- save and load -----------------------------------------------------------------------
    def networks_state(self) -> dict[str, dict[str, torch.Tensor]]:
        return {name: net.state_dict() for name, net in self._nets().items()}

    def optimizers_state(self) -> dict[str, Any]:
        return {
            "actor": self.actor_optimizer.state_dict(),
            "critic": self.critic_optimizer.state_dict(),
        }

    def load_state(self, networks: dict[str, Any], optimizers: dict[str, Any]) -> None:
        for name, net in self._nets().items():
            net.load_state_dict(networks[name])
        self.actor_optimizer.load_state_dict(optimizers["actor"])
        self.critic_optimizer.load_state_dict(optimizers["critic"])


__all__ = ["StackedAgent", "StackedMLP"]
