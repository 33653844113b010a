"""Fixtures for the export tests: checkpoints from randomly initialised actors (no training
needed), one exported policy shared by the session, and hand-built ONNX models for bad input."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper

from ddpg_control.learning.checkpoint import save_checkpoint
from ddpg_control.learning.networks import Actor, Architecture
from export.onnx_export import export_policy

HIDDEN = (64, 64)
MAX_TORQUE_NM = 2.0
ENV = {
    "id": "TestPendulum-v0",
    "control_period_s": 0.05,
    "max_torque_nm": MAX_TORQUE_NM,
    "params": {"mass_kg": 1.0, "length_m": 1.0, "max_speed_rad_s": 8.0},
    "randomize": {"mass_scale": [0.9, 1.1]},
}
PROGRESS = {"env_steps": 12000, "episodes": 60, "eval_return": -151.25, "wall_time_s": 42.5}

CheckpointFactory = Callable[..., Path]


def write_checkpoint(
    path: Path,
    seed: int = 0,
    max_torque_nm: float = MAX_TORQUE_NM,
    final_bias: float | None = None,
    env: Mapping[str, Any] | None = None,
    actor_state: dict[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
) -> Path:
    """A checkpoint holding a randomly initialised actor, laid out as training writes it."""
    torch.manual_seed(seed)
    arch = Architecture(obs_dim=3, act_dim=1, hidden_sizes=HIDDEN, max_torque_nm=max_torque_nm)
    actor = Actor(arch)
    if final_bias is not None:  # drive tanh into saturation to exercise the torque scaling
        with torch.no_grad():
            actor.net[-1].bias.fill_(final_bias)
    env_record = dict(ENV, max_torque_nm=max_torque_nm) if env is None else dict(env)
    default_config = {"seed": seed, "env": {"id": ENV["id"], "preset": "test-preset"}}
    config_record = default_config if config is None else dict(config)
    save_checkpoint(
        path,
        {
            "architecture": arch.to_dict(),
            "networks": {"actor": actor.state_dict() if actor_state is None else actor_state},
            "config": config_record,
            "env": env_record,
            "progress": dict(PROGRESS),
        },
    )
    return path


@pytest.fixture
def make_checkpoint(tmp_path: Path) -> CheckpointFactory:
    """``make_checkpoint(run_name="run", **kwargs)`` -> runs/<run_name>/checkpoints/best.pt."""

    def make(run_name: str = "run", **kwargs: Any) -> Path:
        return write_checkpoint(tmp_path / "runs" / run_name / "checkpoints" / "best.pt", **kwargs)

    return make


@pytest.fixture(scope="session")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """(checkpoint, ExportResult) for one export shared by the whole session."""
    root = tmp_path_factory.mktemp("export")
    checkpoint = write_checkpoint(root / "runs" / "shared" / "checkpoints" / "best.pt", seed=3)
    return checkpoint, export_policy(checkpoint)


@pytest.fixture(scope="session")
def policy_path(exported: tuple[Path, Any]) -> Path:
    return Path(exported[1].path)


@pytest.fixture(scope="session")
def good_props(policy_path: Path) -> dict[str, str]:
    model = onnx.load(policy_path)
    return {p.key: p.value for p in model.metadata_props}


def tiny_model(
    props: Mapping[str, str] | None,
    input_name: str = "obs",
    output_name: str = "action",
    obs_dim: int = 3,
    act_dim: int = 1,
    weight: float = 0.5,
    batch: str | int = "batch",
    input_type: int = TensorProto.FLOAT,
) -> bytes:
    """A one-MatMul ONNX model (``action = obs @ W``) with the given ports and metadata."""
    w = np.full((obs_dim, act_dim), weight, dtype=np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Cast", [input_name], ["x"], to=TensorProto.FLOAT),
            helper.make_node("MatMul", ["x", "W"], [output_name]),
        ],
        "tiny",
        [helper.make_tensor_value_info(input_name, input_type, [batch, obs_dim])],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, [batch, act_dim])],
        initializer=[helper.make_tensor("W", TensorProto.FLOAT, w.shape, w.flatten().tolist())],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for key, value in (props or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())


@pytest.fixture
def write_model(tmp_path: Path) -> Callable[..., Path]:
    """``write_model(props, **tiny_model_kwargs)`` -> path of a hand-built ONNX file."""
    counter = iter(range(1_000_000))

    def write(props: Mapping[str, str] | None, **kwargs: Any) -> Path:
        path = tmp_path / f"model{next(counter)}.onnx"
        path.write_bytes(tiny_model(props, **kwargs))
        return path

    return write
