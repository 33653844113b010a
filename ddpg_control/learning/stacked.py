"""K independent DDPG learners as one: their networks stacked along a leading member axis.

Every layer of K same-shaped MLPs is one weight tensor ``W`` ``[K, in, out]`` and one bias
``b`` ``[K, 1, out]``; a forward pass over ``[K, n, in]`` is one ``torch.baddbmm`` per layer for
all K members, so the per-operation overhead (most of the time of a 64-64 update) is paid once,
not K times. :meth:`StackedAgent.update` is :meth:`~ddpg_control.learning.agent.DDPGAgent.update`
member by member (a test holds it to that reference): each member's loss is its own batch mean,
so the summed loss has exactly member k's gradient in member k's slice, and Adam is elementwise,
so one fused Adam over the stacked tensors is K independent Adams.

The backward passes are written out rather than left to autograd: at this size the graph's
bookkeeping and the batched matrix-vector products of the one-output layers cost as much as the
matrix products that remain (``bench/population_scaling.py --update-only``; ``torch.func``'s
``vmap`` of ``grad`` measured 3-4x slower than these passes at K = 4 and 8). What they compute,
for one member (rows of ``x`` are the n transitions of its batch, ``B = n``):

* A linear layer ``y = x W + b``, given ``d = dL/dy``: ``dL/dW = x^T d``, ``dL/db = sum over
  rows of d``, and ``dL/dx = d W^T``. A one-output layer (``W`` is ``[in, 1]``) is computed as
  ``W^T x^T``, and its ``dL/dW`` as ``(d^T x)^T``: batched matrix-vector products with the vector
  on the right are several times slower.
* A ReLU ``h = max(z, 0)``: ``dL/dz = dL/dh * [h > 0]`` (``h > 0`` exactly where ``z > 0``, so
  the mask comes from the stored output ``h``; :func:`private_kernels`' ``relu_backward_``).
* The critic step: ``L_c = 1/B sum_i (q_i - y_i)^2`` with the target ``y_i = r_i + gamma (1 -
  done_i) Q'(s'_i, mu'(s'_i))`` a constant, so ``dL_c/dq_i = 2 (q_i - y_i) / B``; then the linear
  and ReLU rules down the critic give its parameters' gradients.
* The actor step: ``L_a = -1/B sum_i Q(s_i, a_i)`` with ``a_i = tanh(z_i)``, ``z_i`` the actor
  MLP's output, so ``dL_a/dQ_i = -1/B``. Down the critic by the same rules to its input ``[s,
  a]``, keeping only the action columns: ``dL_a/da = d_1 W_0[obs_dim:]^T`` (``d_1`` the gradient
  at the critic's first layer output); no critic weight gradient is formed, since the actor step
  changes only the actor. Then ``dL_a/dz = dL_a/da * (1 - a^2)`` (the derivative of
  :func:`~ddpg_control.learning.networks.squash`), and down the actor by the same rules.
* The targets: ``theta' <- theta' + tau (theta - theta')``, one lerp per tensor.

The critic sees the actor's output in units of the torque limit, ``a = squash(z)``; the
reference divides ``max_torque_nm * squash(z)`` by ``max_torque_nm``, equal up to rounding.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from ddpg_control.learning.agent import optimizers
from ddpg_control.learning.config import AgentConfig
from ddpg_control.learning.networks import NETWORKS, Actor, Architecture, build_networks, squash
from ddpg_control.learning.replay_buffer import Batch


class PrivateKernels(NamedTuple):
    """torch's private calls that the update uses, each several times faster than its public
    equivalent at this size (``torch.optim.adam.adam``, a loop of ``lerp_``, a boolean mask)."""

    #: ``(params, grads, states, group)``: ``Adam(fused=True).step()`` on one parameter group.
    fused_adam_: Callable[..., None]
    #: ``(targets, sources, weight)``: ``t.lerp_(s, weight)`` for every pair.
    foreach_lerp_: Callable[[list[torch.Tensor], list[torch.Tensor], float], None]
    #: ``(grad, relu_output)``: ``grad *= relu_output > 0`` in place; returns ``grad``.
    relu_backward_: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def private_kernels() -> PrivateKernels:
    """The one place that names torch's private calls (a test holds each to its public
    equivalent, so a torch version that changes one fails there, loudly)."""

    def fused_adam_(
        params: list[torch.Tensor], grads: list[torch.Tensor], states: list[dict], group: dict
    ) -> None:
        if group["amsgrad"]:
            raise ValueError("the stacked update's Adam has no amsgrad")
        steps = [s["step"] for s in states]
        torch._foreach_add_(steps, 1)
        moments = ([s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states])
        beta1, beta2 = group["betas"]
        options = {key: group[key] for key in ("lr", "weight_decay", "eps", "maximize")}
        args: tuple[list[torch.Tensor], ...] = (params, grads, *moments, [], steps)
        torch._fused_adam_(*args, amsgrad=False, beta1=beta1, beta2=beta2, **options)

    def relu_backward_(grad: torch.Tensor, relu_output: torch.Tensor) -> torch.Tensor:
        return torch.ops.aten.threshold_backward.grad_input(grad, relu_output, 0.0, grad_input=grad)

    return PrivateKernels(fused_adam_, torch._foreach_lerp_, relu_backward_)


KERNELS = private_kernels()


class StackedMLP:
    """K MLPs (Linear-ReLU-...-Linear) of one shape, as stacked tensors."""

    def __init__(self, weights: list[torch.Tensor], biases: list[torch.Tensor]) -> None:
        self.weights = weights  # [K, in, out] each
        self.biases = biases  # [K, 1, out] each

    @classmethod
    def from_sequentials(cls, nets: Sequence[nn.Sequential]) -> StackedMLP:
        """Layer i of member k from ``nets[k]``'s i-th ``nn.Linear``."""
        linears = [[m for m in net if isinstance(m, nn.Linear)] for net in nets]
        layers = list(zip(*linears, strict=True))
        weights = [torch.stack([m.weight.detach().t() for m in layer]) for layer in layers]
        biases = [torch.stack([m.bias.detach() for m in layer]).unsqueeze(1) for layer in layers]
        return cls([w.contiguous() for w in weights], [b.contiguous() for b in biases])

    def parameters(self) -> list[torch.Tensor]:
        """Weights and biases interleaved, layer by layer: ``nn.Sequential.parameters()``'s
        order."""
        return [t for pair in zip(self.weights, self.biases, strict=True) for t in pair]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """``[K, n, in]`` -> ``[K, n, out]``, member k through MLP k (no workspace: for acting)."""
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = torch.baddbmm(b, x, w)
            x = torch.relu(x) if i < len(self.weights) - 1 else x
        return x

    def state_dict(self) -> dict[str, torch.Tensor]:
        state = {}
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            state[f"{i}.weight"] = w.detach().clone()
            state[f"{i}.bias"] = b.detach().clone()
        return state

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Copy ``state`` in; the caller checks that it has as many members, of this shape."""
        with torch.no_grad():
            for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
                w.copy_(state[f"{i}.weight"])
                b.copy_(state[f"{i}.bias"])


class Workspace:
    """The update's large intermediate tensors, each allocated once (per name and shape) and
    then overwritten (``out=``): fresh tensors of this size (hundreds of kB) come as new pages
    whenever the allocator has given memory back, and the page faults cost as much as the
    arithmetic. The update's three stages (targets, critic step, actor step) run one after
    another under names that say what a tensor holds (``actor.out0``: an actor's first layer
    output, online or target; ``grad_in1``: the gradient at layer 1's input), so they share one
    set of buffers, small enough for the cache at K = 8. A stage hands on only tensors of its
    own making (the TD target, the losses, the mean Q), never a workspace tensor."""

    def __init__(self) -> None:
        self._tensors: dict[str, torch.Tensor] = {}

    def __call__(self, name: str, *shape: int) -> torch.Tensor:
        t = self._tensors.get(name)
        if t is None or t.shape != shape:
            t = self._tensors[name] = torch.empty(shape)
        return t


def forward(net: StackedMLP, x: torch.Tensor, ws: Workspace, tag: str) -> list[torch.Tensor]:
    """``net(x)``: every layer's input (x, then the ReLU outputs, for :func:`backward`), then
    the output, each in ``ws`` under ``tag`` and the layer's index."""
    acts = [x]
    last = len(net.weights) - 1
    members, n = x.shape[0], x.shape[1]
    for i, (w, b) in enumerate(zip(net.weights, net.biases, strict=True)):
        width = w.shape[-1]
        if width == 1:  # W^T x^T, [K, 1, n], returned as a [K, n, 1] view
            out = ws(f"{tag}.out{i}", members, 1, n)
            x = torch.baddbmm(b, w.transpose(1, 2), x.transpose(1, 2), out=out).transpose(1, 2)
        else:
            x = torch.baddbmm(b, x, w, out=ws(f"{tag}.out{i}", members, n, width))
        if i < last:
            x.relu_()
        acts.append(x)
    return acts


def _input_grad(
    w: torch.Tensor, d: torch.Tensor, h: torch.Tensor, ws: Workspace, i: int
) -> torch.Tensor:
    """The gradient at the input ``h`` (a ReLU output) of layer ``i`` (weights ``w``), from
    ``d`` at its output: ``(d @ w^T) * (h > 0)``, into ``ws``'s ``grad_in{i}``."""
    out = ws(f"grad_in{i}", h.shape[0], h.shape[1], w.shape[1])
    if w.shape[-1] == 1:
        torch.mul(d, w.transpose(1, 2), out=out)
    else:
        torch.bmm(d, w.transpose(1, 2), out=out)
    return KERNELS.relu_backward_(out, h)


def backward(
    net: StackedMLP, acts: list[torch.Tensor], d: torch.Tensor, ws: Workspace, tag: str
) -> list[torch.Tensor]:
    """The gradients of ``(d * net(x)).sum()`` over ``net``'s parameters, in
    :meth:`StackedMLP.parameters`'s order; ``acts`` from :func:`forward`."""
    grads: list[torch.Tensor] = []
    for i in range(len(net.weights) - 1, -1, -1):
        w, x = net.weights[i], acts[i]
        if w.shape[-1] == 1:
            g_w = ws(f"{tag}.grad_w{i}", x.shape[0], 1, w.shape[1])
            g_w = torch.bmm(d.transpose(1, 2), x, out=g_w).view(w.shape)
        else:
            g_w = torch.bmm(x.transpose(1, 2), d, out=ws(f"{tag}.grad_w{i}", *w.shape))
        grads += [d.sum(dim=1, keepdim=True), g_w]
        if i > 0:
            d = _input_grad(w, d, x, ws, i)
    grads.reverse()
    return grads


def input_grad(
    net: StackedMLP, acts: list[torch.Tensor], d: torch.Tensor, start: int, ws: Workspace
) -> torch.Tensor:
    """The gradient of ``(d * net(x)).sum()`` at ``x[..., start:]`` (a tensor of its own);
    ``acts`` from :func:`forward`."""
    for i in range(len(net.weights) - 1, 0, -1):
        d = _input_grad(net.weights[i], d, acts[i], ws, i)
    return torch.bmm(d, net.weights[0][:, start:, :].transpose(1, 2))


def adam_step(
    optimizer: torch.optim.Optimizer, params: list[torch.Tensor], grads: list[torch.Tensor]
) -> None:
    """``optimizer.step()`` (an ``Adam(fused=True)``) with ``grads`` as the parameters'
    gradients. Once the optimizer has its state (after its first step), the fused kernel runs
    straight on that state, group by group: :meth:`Optimizer.step`'s own bookkeeping costs
    several times the kernel at this size."""
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
        group_grads = [grad_of[id(p)] for p in group_params]
        KERNELS.fused_adam_(group_params, group_grads, [state[p] for p in group_params], group)


class StackedAgent:
    """K DDPG learners stacked, member k initialised from ``seeds[k]`` as
    :class:`~ddpg_control.learning.agent.DDPGAgent` is: :meth:`update` is K reference updates in
    one. Owns its save and load (:meth:`state_dict`) and gives out members as single learners
    (:meth:`member_networks`). ``gamma`` is the discount of one step."""

    def __init__(
        self, arch: Architecture, config: AgentConfig, seeds: Sequence[int], gamma: float
    ) -> None:
        self.arch = arch
        self.config = config
        self.gamma = gamma
        nets = [build_networks(arch, config.final_layer_init_bound, s) for s in seeds]
        actors, critics = [a.net for a, _ in nets], [c.net for _, c in nets]
        self.actor = StackedMLP.from_sequentials(actors)
        self.actor_target = StackedMLP.from_sequentials(actors)
        self.critic = StackedMLP.from_sequentials(critics)
        self.critic_target = StackedMLP.from_sequentials(critics)
        for t in self.actor.parameters() + self.critic.parameters():
            t.requires_grad_(True)
        self.max_torque_nm = arch.torque_scale()
        self._workspace = Workspace()
        self.actor_optimizer, self.critic_optimizer = optimizers(
            self.actor.parameters(), self.critic.weights, self.critic.biases, config
        )

    @torch.inference_mode()
    def act(self, obs: np.ndarray) -> np.ndarray:
        """mu_k(obs_k) for every member k: ``[K, obs_dim]`` -> ``[K, act_dim]`` float64, N*m."""
        return self.act_grid(np.asarray(obs)[:, None])[:, 0].astype(np.float64)

    @torch.inference_mode()
    def act_grid(self, obs: np.ndarray) -> np.ndarray:
        """mu_k on member k's batch: ``[K, n, obs_dim]`` -> ``[K, n, act_dim]`` float32, N*m."""
        x = torch.from_numpy(np.ascontiguousarray(obs, dtype=np.float32))
        return (self.max_torque_nm * squash(self.actor(x))).numpy()

    @torch.no_grad()
    def update(self, batch: Batch) -> np.ndarray:
        """One gradient step per member on its own batch (arrays ``[K, batch, ...]``), then the
        soft target updates. Returns ``[K, 3]``: critic loss, actor loss, mean Q per member."""
        obs = torch.from_numpy(batch.obs)
        action = torch.from_numpy(batch.action_nm) / self.max_torque_nm
        reward = torch.from_numpy(batch.reward)
        not_done = 1.0 - torch.from_numpy(batch.terminated)
        next_obs = torch.from_numpy(batch.next_obs)
        inv_batch = 1.0 / obs.shape[1]
        critic, actor, ws = self.critic, self.actor, self._workspace

        next_action = squash(forward(self.actor_target, next_obs, ws, "actor")[-1])
        x = torch.cat([next_obs, next_action], dim=-1)
        next_q = forward(self.critic_target, x, ws, "critic")[-1].squeeze(-1)
        target_q = reward + self.gamma * not_done * next_q

        acts = forward(critic, torch.cat([obs, action], dim=-1), ws, "critic")
        q = acts.pop().squeeze(-1)
        error = q - target_q
        critic_loss, q_mean = error.square().mean(dim=1), q.mean(dim=1)
        d_q = (error * (2.0 * inv_batch)).unsqueeze(-1)
        grads = backward(critic, acts, d_q, ws, "critic")
        adam_step(self.critic_optimizer, critic.parameters(), grads)

        actor_acts = forward(actor, obs, ws, "actor")
        policy = squash(actor_acts.pop())
        acts = forward(critic, torch.cat([obs, policy], dim=-1), ws, "critic")
        policy_q = acts.pop()
        actor_loss = -policy_q.mean(dim=(1, 2))
        d_q = torch.full_like(policy_q, -inv_batch)
        d_policy = input_grad(critic, acts, d_q, obs.shape[-1], ws)
        d_raw = d_policy * (1.0 - policy.square())
        adam_step(
            self.actor_optimizer,
            actor.parameters(),
            backward(actor, actor_acts, d_raw, ws, "actor"),
        )

        tau = self.config.tau
        KERNELS.foreach_lerp_(self.critic_target.parameters(), critic.parameters(), tau)
        KERNELS.foreach_lerp_(self.actor_target.parameters(), actor.parameters(), tau)
        return torch.stack([critic_loss, actor_loss, q_mean], dim=1).numpy()

    def member_networks(self, k: int) -> dict[str, dict[str, torch.Tensor]]:
        """Member k's networks as :class:`~ddpg_control.learning.networks.Actor` and
        ``Critic`` state dicts (``actor``, ``critic``, ``actor_target``, ``critic_target``)."""
        return member_networks(self.networks_state(), k, self.max_torque_nm)

    def member_actor(self, k: int) -> Actor:
        actor = Actor(self.arch)
        actor.load_state_dict(self.member_networks(k)["actor"])
        return actor.eval()

    def networks_state(self) -> dict[str, dict[str, torch.Tensor]]:
        return {name: getattr(self, name).state_dict() for name in NETWORKS}

    def state_dict(self) -> dict[str, Any]:
        """Networks and optimizers: what resuming needs."""
        return {
            "networks": self.networks_state(),
            "optimizers": {
                "actor": self.actor_optimizer.state_dict(),
                "critic": self.critic_optimizer.state_dict(),
            },
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name in NETWORKS:
            getattr(self, name).load_state_dict(state["networks"][name])
        self.actor_optimizer.load_state_dict(state["optimizers"]["actor"])
        self.critic_optimizer.load_state_dict(state["optimizers"]["critic"])


def member_networks(
    networks: dict[str, dict[str, torch.Tensor]], k: int, max_torque_nm: torch.Tensor
) -> dict[str, dict[str, torch.Tensor]]:
    """Member k of stacked networks (:meth:`StackedAgent.state_dict`'s ``networks``) as
    single-learner state dicts: ``net.0.weight`` ``[out, in]``, ``net.0.bias``, ``net.2.weight``
    ... (``nn.Sequential``'s names), then ``max_torque_nm``."""

    def member(stacked: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        state = {}
        for i in range(len(stacked) // 2):
            state[f"net.{2 * i}.weight"] = stacked[f"{i}.weight"][k].t().contiguous().clone()
            state[f"net.{2 * i}.bias"] = stacked[f"{i}.bias"][k, 0].clone()
        return {**state, "max_torque_nm": max_torque_nm.clone()}

    return {name: member(networks[name]) for name in NETWORKS}
