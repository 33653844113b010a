"""The stacked update is K reference updates (``DDPGAgent.update``), member by member; the
private torch calls it relies on are each held to their public equivalent."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from ddpg_control.learning.agent import DDPGAgent, actor_policy
from ddpg_control.learning.config import AgentConfig
from ddpg_control.learning.networks import Architecture
from ddpg_control.learning.replay_buffer import Batch
from ddpg_control.learning.stacked import StackedAgent, private_kernels

#: Two shapes: the default's (one-output layers take the matrix-vector form) and a two-torque
#: actor with one hidden layer (a plain batched product, no second ReLU).
#: The discount of one step, as the trainer derives it at 20 Hz.
GAMMA = 0.98
SHAPES = {
    "two hidden layers": Architecture(
        obs_dim=3, act_dim=1, hidden_sizes=(32, 24), max_torque_nm=2.0
    ),
    "two torques, one layer": Architecture(
        obs_dim=3, act_dim=2, hidden_sizes=(16,), max_torque_nm=1.5
    ),
}


def random_batch(rng: np.random.Generator, members: int, size: int, act_dim: int) -> Batch:
    return Batch(
        rng.normal(size=(members, size, 3)).astype(np.float32),
        rng.uniform(-2, 2, size=(members, size, act_dim)).astype(np.float32),
        rng.normal(size=(members, size)).astype(np.float32),
        rng.normal(size=(members, size, 3)).astype(np.float32),
        (rng.random((members, size)) < 0.2).astype(np.float32),
    )


@pytest.mark.parametrize("members", [1, 2, 4])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_the_stacked_update_is_the_reference_update_member_by_member(
    members: int, shape: str
) -> None:
    arch = SHAPES[shape]
    config = AgentConfig(hidden_sizes=arch.hidden_sizes, critic_weight_decay=1e-2)
    seeds = [10 + k for k in range(members)]
    references = [DDPGAgent(arch, config, s, GAMMA) for s in seeds]
    stacked = StackedAgent(arch, config, seeds, GAMMA)
    rng = np.random.default_rng(5)
    for _ in range(4):  # several steps: Adam's moments and the targets carry over
        batch = random_batch(rng, members, 64, arch.act_dim)
        metrics = stacked.update(batch)
        for k, agent in enumerate(references):
            expected = agent.update(Batch(*(part[k] for part in batch)))
            np.testing.assert_allclose(metrics[k], expected, rtol=1e-4, atol=1e-5)
    for k, agent in enumerate(references):
        mine = stacked.member_networks(k)
        for name, state in agent.networks_state().items():
            for key, tensor in state.items():
                torch.testing.assert_close(mine[name][key], tensor, rtol=1e-4, atol=1e-5)
    if members > 1:  # each member its own seed
        first, second = (stacked.member_networks(k)["actor"]["net.0.weight"] for k in (0, 1))
        assert not torch.equal(first, second)


def test_members_act_as_their_own_actors() -> None:
    arch = SHAPES["two hidden layers"]
    config = AgentConfig(hidden_sizes=arch.hidden_sizes)
    stacked = StackedAgent(arch, config, [3, 4], GAMMA)
    obs = np.random.default_rng(0).normal(size=(2, 3)).astype(np.float32)
    expected = np.stack([actor_policy(stacked.member_actor(k))(obs[k]) for k in range(2)])
    np.testing.assert_allclose(stacked.act(obs), expected, rtol=1e-5, atol=1e-6)
    reference = DDPGAgent(arch, config, 4, GAMMA)
    np.testing.assert_allclose(
        stacked.act(obs)[1], actor_policy(reference.actor)(obs[1]), rtol=1e-5
    )


def test_save_and_load_continue_the_same_updates() -> None:
    arch = SHAPES["two hidden layers"]
    config = AgentConfig(hidden_sizes=arch.hidden_sizes)
    a, b = StackedAgent(arch, config, [0, 1], GAMMA), StackedAgent(arch, config, [7, 8], GAMMA)
    rng = np.random.default_rng(0)
    a.update(random_batch(rng, 2, 16, 1))
    b.load_state_dict(copy.deepcopy(a.state_dict()))  # as through a checkpoint file
    batch = random_batch(rng, 2, 16, 1)
    np.testing.assert_array_equal(a.update(batch), b.update(batch))
    for name, state in a.networks_state().items():
        for key, tensor in state.items():
            assert torch.equal(tensor, b.networks_state()[name][key]), f"{name}.{key}"


# -- the private torch calls: each must equal its public equivalent exactly -------------------
def test_private_fused_adam_is_torch_adam_fused_step() -> None:
    kernels = private_kernels()
    torch.manual_seed(0)
    mine = [torch.randn(4, 8, 5), torch.randn(4, 1, 5)]
    public = [t.clone().requires_grad_(True) for t in mine]
    optimizer = torch.optim.Adam(public, lr=1e-2, weight_decay=1e-2, fused=True)
    states = [
        {
            "step": torch.tensor(0.0),
            "exp_avg": torch.zeros_like(t),
            "exp_avg_sq": torch.zeros_like(t),
        }
        for t in mine
    ]
    for _ in range(3):
        grads = [torch.randn_like(t) for t in mine]
        for p, g in zip(public, grads, strict=True):
            p.grad = g.clone()
        optimizer.step()
        group = optimizer.param_groups[0]
        kernels.fused_adam_(mine, grads, states, group)
        for got, want in zip(mine, public, strict=True):
            assert torch.equal(got, want.detach()), "torch._fused_adam_ changed"
    for mine_state, p in zip(states, public, strict=True):
        for key, tensor in optimizer.state[p].items():
            assert torch.equal(mine_state[key], tensor), key


def test_private_foreach_lerp_is_lerp_per_tensor() -> None:
    torch.manual_seed(1)
    targets = [torch.randn(3, 4), torch.randn(2)]
    sources = [torch.randn(3, 4), torch.randn(2)]
    expected = [t.clone().lerp_(s, 0.3) for t, s in zip(targets, sources, strict=True)]
    private_kernels().foreach_lerp_(targets, sources, 0.3)
    for got, want in zip(targets, expected, strict=True):
        assert torch.equal(got, want), "torch._foreach_lerp_ changed"


def test_private_relu_backward_is_autograds_relu_gradient_in_place() -> None:
    torch.manual_seed(2)
    z = torch.randn(2, 5, 6, requires_grad=True)
    h = torch.relu(z)
    upstream = torch.randn(2, 5, 6)
    h.backward(upstream)
    grad = upstream.clone()
    out = private_kernels().relu_backward_(grad, h.detach())
    assert out.data_ptr() == grad.data_ptr(), "threshold_backward no longer writes in place"
    assert torch.equal(grad, z.grad), "aten.threshold_backward changed"
