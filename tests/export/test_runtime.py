"""The torch-free runtime policy: loading refuses every bad file with a one-line reason."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto

from ddpg_control.runtime.contracts import make_observation
from ddpg_control.runtime.errors import PolicyArtifactError
from export.metadata import FORMAT_VERSION
from export.runtime import OnnxPolicy

WriteModel = Callable[..., Path]


def _refuses(path: Path, match: str) -> str:
    with pytest.raises(PolicyArtifactError, match=match) as info:
        OnnxPolicy.load(path)
    message = str(info.value)
    assert "\n" not in message, f"error should be one line: {message!r}"
    return message


def test_loads_a_good_policy_and_reports_its_contract(policy_path: Path) -> None:
    policy = OnnxPolicy.load(policy_path)
    assert policy.obs_dim == 3
    assert policy.max_torque_nm == 2.0
    assert policy.control_period_s == 0.05
    assert policy.env_id == "TestPendulum-v0"
    assert policy.metadata.run_name == "shared"
    policy.check_plant(obs_dim=3, max_torque_nm=2.0)
    policy.check_plant(obs_dim=3, max_torque_nm=5.0)  # a stronger motor is fine
    policy.check_plant(obs_dim=3)


def test_single_call_matches_batch_and_stays_within_the_limit(policy_path: Path) -> None:
    policy = OnnxPolicy.load(policy_path)
    observations = np.stack([make_observation(a, v) for a in (0.0, 1.0, 3.1) for v in (-8, 0, 8)])
    batch = policy.act_batch(observations)
    assert batch.shape == (9, 1) and batch.dtype == np.float32
    for obs, expected in zip(observations, batch[:, 0], strict=True):
        torque = policy(obs)
        assert isinstance(torque, float)
        assert torque == pytest.approx(float(expected), abs=1e-6)
        assert abs(torque) <= policy.max_torque_nm


def test_repeated_calls_reuse_buffers_without_leaking_state(policy_path: Path) -> None:
    policy = OnnxPolicy.load(policy_path)
    a, b = make_observation(0.0, 0.0), make_observation(math.pi, 4.0)
    first = policy(a)
    policy(b)
    assert policy(a) == first  # the reused input/output buffers carry nothing over


def test_session_is_set_up_for_one_observation_at_a_time(policy_path: Path) -> None:
    options = OnnxPolicy.load(policy_path)._session.get_session_options()
    assert options.intra_op_num_threads == 1
    assert options.inter_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert str(options.execution_mode).endswith("ORT_SEQUENTIAL")


def test_missing_file(tmp_path: Path) -> None:
    _refuses(tmp_path / "nope.onnx", "does not exist.*ddpg-control export --onnx")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.onnx"
    path.write_bytes(b"")
    _refuses(path, "is empty")


def test_file_that_is_not_onnx(tmp_path: Path) -> None:
    path = tmp_path / "notes.onnx"
    path.write_text("these are not the weights you are looking for\n" * 20)
    _refuses(path, "not a readable ONNX model")


def test_truncated_file(tmp_path: Path, policy_path: Path) -> None:
    data = policy_path.read_bytes()
    for cut in (len(data) // 2, len(data) - 7):
        path = tmp_path / f"cut{cut}.onnx"
        path.write_bytes(data[:cut])
        _refuses(path, "not a readable ONNX model")


def test_other_input_name(write_model: WriteModel, good_props: dict[str, str]) -> None:
    message = _refuses(write_model(good_props, input_name="x_in"), "expected one 'obs'")
    assert "x_in" in message


def test_other_output_name(write_model: WriteModel, good_props: dict[str, str]) -> None:
    _refuses(write_model(good_props, output_name="torque"), "expected one 'action'")


def test_other_input_width(write_model: WriteModel, good_props: dict[str, str]) -> None:
    _refuses(write_model(good_props, obs_dim=4), r"expected tensor\(float\) \[batch, 3\]")


def test_other_output_width(write_model: WriteModel, good_props: dict[str, str]) -> None:
    _refuses(
        write_model(good_props, act_dim=2), r"'action' .* expected tensor\(float\) \[batch, 1\]"
    )


def test_fixed_batch_size(write_model: WriteModel, good_props: dict[str, str]) -> None:
    _refuses(write_model(good_props, batch=1), r"\[batch, 3\]")


def test_double_input(write_model: WriteModel, good_props: dict[str, str]) -> None:
    _refuses(write_model(good_props, input_type=TensorProto.DOUBLE), r"tensor\(double\)")


def test_missing_metadata(write_model: WriteModel) -> None:
    _refuses(write_model(None), "no ddpg-control metadata")


def test_unknown_metadata_version(write_model: WriteModel, good_props: dict[str, str]) -> None:
    props = dict(good_props, format_version=str(FORMAT_VERSION + 1))
    _refuses(write_model(props), f"format version '{FORMAT_VERSION + 1}'.*re-export")


def test_missing_metadata_key(write_model: WriteModel, good_props: dict[str, str]) -> None:
    props = {k: v for k, v in good_props.items() if k != "max_torque_nm"}
    _refuses(write_model(props), "missing metadata max_torque_nm")


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("max_torque_nm", "lots", "invalid metadata value max_torque_nm"),
        ("max_torque_nm", "-2.0", "positive finite"),
        ("control_period_s", "nan", "positive finite"),
        ("obs_dim", "4", "observation layout"),
        ("env_params", "[1, 2]", "JSON object"),
    ],
)
def test_bad_metadata_values(
    write_model: WriteModel, good_props: dict[str, str], key: str, value: str, match: str
) -> None:
    _refuses(write_model(dict(good_props, **{key: value})), match)


def test_observation_size_that_does_not_match_the_plant(policy_path: Path) -> None:
    policy = OnnxPolicy.load(policy_path)
    with pytest.raises(PolicyArtifactError, match="expects 3 observation values.*gives 4"):
        policy.check_plant(obs_dim=4)
    with pytest.raises(PolicyArtifactError, match=r"shape \(4,\)"):
        policy(np.zeros(4, dtype=np.float32))
    with pytest.raises(PolicyArtifactError, match=r"shape \(1,\)"):
        policy(np.zeros(1, dtype=np.float32))  # would broadcast silently without the check
    with pytest.raises(PolicyArtifactError, match=r"\[N, 3\]"):
        policy.act_batch(np.zeros((5, 2), dtype=np.float32))


def test_plant_weaker_than_the_policy_is_allowed_with_a_warning(
    policy_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    policy = OnnxPolicy.load(policy_path)
    with caplog.at_level(logging.WARNING, logger="export.runtime"):
        policy.check_plant(obs_dim=3, max_torque_nm=1.5)  # e.g. a user's cap for a first test
    assert "trained for up to 2 N*m but the plant allows 1.5 N*m" in caplog.text
    for bad in (float("nan"), 0.0, -1.0, float("inf")):
        with pytest.raises(PolicyArtifactError, match="must be a positive number"):
            policy.check_plant(obs_dim=3, max_torque_nm=bad)


def test_other_observation_layout_is_refused(
    write_model: WriteModel, good_props: dict[str, str]
) -> None:
    props = dict(good_props, observation_layout="theta_rad,theta_dot_rad_s,extra")
    policy = OnnxPolicy.load(write_model(props))
    with pytest.raises(PolicyArtifactError, match="expects observations 'theta_rad"):
        policy.check_plant(obs_dim=3)


def test_model_that_outputs_nan(write_model: WriteModel, good_props: dict[str, str]) -> None:
    policy = OnnxPolicy.load(write_model(good_props, weight=float("nan")))
    with pytest.raises(PolicyArtifactError, match="non-finite torque.*artifact is broken"):
        policy(make_observation(0.0, 0.0))
    with pytest.raises(PolicyArtifactError, match="non-finite torque"):
        policy.act_batch(np.zeros((3, 3), dtype=np.float32))


def test_nan_observation_is_blamed_on_the_sensor(policy_path: Path) -> None:
    policy = OnnxPolicy.load(policy_path)
    with pytest.raises(PolicyArtifactError, match="observation .* is not finite"):
        policy(np.array([1.0, 0.0, np.nan], dtype=np.float32))


def test_hand_built_model_metadata_survives_onnx_round_trip(
    write_model: WriteModel, good_props: dict[str, str]
) -> None:
    # guards the fixture itself: the bad-input tests above rely on it carrying the metadata
    path = write_model(good_props)
    assert {p.key: p.value for p in onnx.load(path).metadata_props} == good_props
    assert OnnxPolicy.load(path)(make_observation(0.0, 0.0)) == pytest.approx(0.5)
