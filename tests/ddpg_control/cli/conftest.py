"""Fixtures for the command-line tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from ddpg_control.runtime.contracts import OBSERVATION_LAYOUT
from export.metadata import PolicyMetadata


def write_tiny_policy(path: Path) -> Path:
    """A valid policy for Pendulum-v1: ``action = obs @ 0`` with the artifact's metadata."""
    weights = numpy_helper.from_array(np.zeros((3, 1), dtype=np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["obs", "w"], ["action"])],
        "tiny_policy",
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("action", TensorProto.FLOAT, ["batch", 1])],
        initializer=[weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    metadata = PolicyMetadata(
        observation_layout=OBSERVATION_LAYOUT,
        obs_dim=3,
        act_dim=1,
        max_torque_nm=2.0,
        control_period_s=0.05,
        env_id="Pendulum-v1",
        env_preset="",
        env_params={},
        env_randomize=None,
        run_name="tiny",
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
    onnx.save(model, path)
    return path


@pytest.fixture(scope="session")
def tiny_policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid ``tiny.onnx`` for Pendulum-v1 that always answers zero torque (no training)."""
    return write_tiny_policy(tmp_path_factory.mktemp("policy") / "tiny.onnx")
