"""Fixtures for the command-line tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from ddpg_control.runtime.contracts import OBSERVATION_LAYOUT
from export.metadata import PolicyMetadata


def write_linear_policy(
    path: Path,
    weights: tuple[float, float, float] = (0.0, -4.0, -1.0),
    bias: float = 0.0,
    max_torque_nm: float = 2.0,
    period_s: float = 0.05,
) -> Path:
    """A valid policy artifact for Pendulum-v1 with real metadata and no training:
    ``max_torque_nm * tanh(obs @ weights + bias)``."""
    w = numpy_helper.from_array(np.array(weights, dtype=np.float32).reshape(3, 1), "w")
    b = numpy_helper.from_array(np.array([bias], dtype=np.float32), "b")
    scale = numpy_helper.from_array(np.array([max_torque_nm], dtype=np.float32), "scale")
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["obs", "w"], ["z"]),
            helper.make_node("Add", ["z", "b"], ["zb"]),
            helper.make_node("Tanh", ["zb"], ["t"]),
            helper.make_node("Mul", ["t", "scale"], ["action"]),
        ],
        "linear_policy",
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("action", TensorProto.FLOAT, ["batch", 1])],
        initializer=[w, b, scale],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    metadata = PolicyMetadata(
        observation_layout=OBSERVATION_LAYOUT,
        obs_dim=3,
        act_dim=1,
        max_torque_nm=max_torque_nm,
        control_period_s=period_s,
        env_id="Pendulum-v1",
        env_preset="",
        env_params={},
        env_randomize=None,
        run_name=path.parent.name,
        checkpoint="checkpoints/best.pt",
        checkpoint_sha256="0" * 64,
        env_steps=0,
        episodes=0,
        eval_return=None,
        train_wall_time_s=0.0,
        package_version="test",
        exporter="onnx.helper (test)",
        opset=17,
    )
    for key, value in metadata.to_props().items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, path)
    return path


@pytest.fixture(scope="session")
def tiny_policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid ``tiny.onnx`` for Pendulum-v1 that always answers zero torque (no training)."""
    return write_linear_policy(tmp_path_factory.mktemp("policy") / "tiny.onnx", weights=(0, 0, 0))


@pytest.fixture(scope="session")
def linear_policy() -> Callable[..., Path]:
    """:func:`write_linear_policy`, for tests that write their own policy."""
    return write_linear_policy
