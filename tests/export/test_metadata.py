"""The metadata record: exact round trip through string pairs, validation on construction."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ddpg_control.runtime.contracts import OBSERVATION_LAYOUT
from ddpg_control.runtime.errors import PolicyArtifactError
from export.metadata import FORMAT_VERSION, KEYS, PolicyMetadata


def _metadata(**overrides: Any) -> PolicyMetadata:
    values: dict[str, Any] = {
        "observation_layout": OBSERVATION_LAYOUT,
        "obs_dim": 3,
        "act_dim": 1,
        "max_torque_nm": 2.0,
        "control_period_s": 0.05,
        "env_id": "Pendulum",
        "env_preset": "",
        "env_params": {"mass_kg": 1.0, "nested": {"a": [1, 2]}},
        "env_randomize": None,
        "run_name": "r",
        "checkpoint": "checkpoints/best.pt",
        "checkpoint_sha256": "0" * 64,
        "env_steps": 10,
        "episodes": 1,
        "eval_return": None,
        "train_wall_time_s": 1.5,
        "package_version": "0.1.0",
        "exporter": "test",
        "opset": 17,
    }
    values.update(overrides)
    return PolicyMetadata(**values)


@given(
    torque=st.floats(min_value=1e-6, max_value=1e6, allow_nan=False),
    period=st.floats(min_value=1e-6, max_value=10.0, allow_nan=False),
    eval_return=st.none() | st.floats(min_value=-1e9, max_value=1e9, allow_nan=False),
    env_id=st.text(min_size=1, max_size=20),
)
def test_round_trip_through_props_is_exact(
    torque: float, period: float, eval_return: float | None, env_id: str
) -> None:
    meta = _metadata(
        max_torque_nm=torque, control_period_s=period, eval_return=eval_return, env_id=env_id
    )
    props = meta.to_props()
    assert set(props) == set(KEYS)
    assert all(isinstance(v, str) for v in props.values())
    assert PolicyMetadata.from_props(props) == meta


def test_props_are_canonical_so_exports_are_reproducible() -> None:
    a = _metadata(env_params={"b": 1, "a": 2}).to_props()
    b = _metadata(env_params={"a": 2, "b": 1}).to_props()
    assert a == b and list(a) == sorted(a)
    assert a["env_params"] == '{"a":2,"b":1}'
    assert a["format_version"] == str(FORMAT_VERSION)


def test_metadata_is_immutable_all_the_way_down() -> None:
    meta = _metadata()
    with pytest.raises(dataclasses.FrozenInstanceError):
        meta.max_torque_nm = 3.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        meta.env_params["mass_kg"] = 5.0  # type: ignore[index]
    with pytest.raises(TypeError):
        meta.env_params["nested"]["a"] = 0  # type: ignore[index]


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"max_torque_nm": 0.0}, "max_torque_nm"),
        ({"max_torque_nm": float("inf")}, "max_torque_nm"),
        ({"control_period_s": -0.01}, "control_period_s"),
        ({"obs_dim": 2}, "observation layout"),
        ({"act_dim": 0}, "act_dim"),
        ({"episodes": -1}, "negative"),
        ({"eval_return": float("nan")}, "eval_return"),
        ({"observation_layout": ""}, "empty"),
        ({"format_version": 2}, "format version 2"),
    ],
)
def test_invalid_values_are_refused_on_construction(overrides: dict[str, Any], match: str) -> None:
    with pytest.raises(PolicyArtifactError, match=match):
        _metadata(**overrides)


def test_unknown_keys_are_ignored_within_a_version() -> None:
    props = dict(_metadata().to_props(), added_later="x")
    assert PolicyMetadata.from_props(props) == _metadata()


def test_non_numeric_version_is_refused() -> None:
    props = dict(_metadata().to_props(), format_version="one")
    with pytest.raises(PolicyArtifactError, match="format version 'one'"):
        PolicyMetadata.from_props(props, "policy 'p.onnx'")


def test_velocity_estimator_round_trips_and_older_files_without_it_read_as_none() -> None:
    from ddpg_control.runtime.velocity_estimation import default_estimator

    spec = default_estimator(0.05)
    meta = _metadata(velocity_estimator=spec.to_dict())
    back = PolicyMetadata.from_props(meta.to_props())
    assert back == meta and back.estimator_spec == spec
    older = {k: v for k, v in _metadata().to_props().items() if k != "velocity_estimator"}
    assert PolicyMetadata.from_props(older).estimator_spec is None


def test_an_invalid_velocity_estimator_is_refused() -> None:
    props = _metadata().to_props()
    props["velocity_estimator"] = '{"kind":"kalman","period_s":0.05}'
    with pytest.raises(PolicyArtifactError, match="velocity_estimator"):
        PolicyMetadata.from_props(props)
    props["velocity_estimator"] = "[1, 2]"
    with pytest.raises(PolicyArtifactError, match="velocity_estimator"):
        PolicyMetadata.from_props(props)


def test_the_episode_and_the_discount_round_trip() -> None:
    meta = _metadata(control_period_s=0.01, episode_s=10.0, gamma_per_s=0.98**20)
    props = meta.to_props()
    assert props["episode_s"] == "10.0" and props["gamma_per_s"] == repr(0.98**20)
    back = PolicyMetadata.from_props(props)
    assert back.episode_s == 10.0 and back.gamma_per_s == 0.98**20


def test_a_file_without_the_episode_or_the_discount_still_reads() -> None:
    """Files exported before ``episode_s`` and ``gamma_per_s`` existed lack them: they read
    as None (unknown), not as an error."""
    props = _metadata(episode_s=10.0, gamma_per_s=0.5).to_props()
    del props["episode_s"], props["gamma_per_s"]
    meta = PolicyMetadata.from_props(props)
    assert meta.episode_s is None and meta.gamma_per_s is None


@pytest.mark.parametrize(
    ("key", "value"),
    [("episode_s", 0.0), ("episode_s", -1.0), ("gamma_per_s", 1.0), ("gamma_per_s", 0.0)],
)
def test_a_bad_episode_or_discount_is_refused(key: str, value: float) -> None:
    with pytest.raises(PolicyArtifactError, match=key):
        _metadata(**{key: value})
    props = _metadata().to_props()
    props[key] = repr(value)
    with pytest.raises(PolicyArtifactError, match=key):
        PolicyMetadata.from_props(props)
