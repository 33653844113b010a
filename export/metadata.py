"""The policy artifact's metadata: what an ONNX policy file says about itself.

The metadata lives in the model's ``metadata_props`` as string key/value pairs. Numbers are
written with ``repr`` (round-trips exactly), structured values as canonical JSON (sorted keys),
so exporting the same checkpoint twice writes the same bytes.

This module is torch-free and onnx-free: the runtime reads the same pairs through onnxruntime.

Keys (``FORMAT_VERSION`` 1):

================== =====================================================================
key                value
================== =====================================================================
format_version     ``1``; a reader refuses any other version
observation_layout ``cos_theta,sin_theta,theta_dot_rad_s`` (see ``ddpg_control.runtime.contracts``)
obs_dim, act_dim   sizes of the ``obs`` input and the ``action`` output
max_torque_nm      the torque limit; the graph's output is already scaled to +-this
control_period_s   the control period the policy was trained for
env_id             the training environment's id
env_preset         the environment's parameter preset name ("" for none)
env_params         the environment's parameters (JSON object)
env_randomize      the domain randomisation used in training (JSON)
run_name           the training run's directory name
checkpoint         the checkpoint's path relative to the run directory
checkpoint_sha256  hash of the checkpoint file's bytes
env_steps          environment steps trained
episodes           episodes trained
eval_return        the checkpoint's evaluation return (JSON number or null)
train_wall_time_s  training wall time up to the checkpoint
package_version    the ddpg-control version that exported it
exporter           the exporting library and version
opset              the ONNX opset of the graph
velocity_estimator how ``theta_dot`` was built in training (JSON): ``null`` for the plant's
                   own velocity, else an estimator record
                   (:class:`ddpg_control.runtime.velocity_estimation.EstimatorSpec`) that
                   ``run`` applies to the deployed policy. Optional: files written before it
                   existed read as ``null``.
episode_s          the training episode's duration in seconds (JSON number; ``null`` when
                   the environment had no time limit). Optional: older files read ``null``.
gamma_per_s        the training discount per second of time (JSON number; the update's
                   per-step discount was ``gamma_per_s ** control_period_s``). Optional:
                   older files read ``null``.
================== =====================================================================
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Any

from ddpg_control.runtime.errors import ConfigError, PolicyArtifactError
from ddpg_control.runtime.velocity_estimation import EstimatorSpec

FORMAT_VERSION = 1

#: The graph's input and output names, fixed by the artifact format.
INPUT_NAME = "obs"
OUTPUT_NAME = "action"


def _freeze(value: Any) -> Any:
    """A read-only view of a JSON value (dicts become mapping proxies, lists tuples)."""
    if isinstance(value, Mapping):
        return MappingProxyType({str(k): _freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


def _to_json(value: Any) -> str:
    return json.dumps(_thaw(value), sort_keys=True, separators=(",", ":"), allow_nan=False)


@dataclass(frozen=True)
class PolicyMetadata:
    """Everything an ONNX policy says about itself, validated on construction."""

    observation_layout: str
    obs_dim: int
    act_dim: int
    max_torque_nm: float
    control_period_s: float
    env_id: str
    env_preset: str
    env_params: Mapping[str, Any]
    env_randomize: Any
    run_name: str
    checkpoint: str
    checkpoint_sha256: str
    env_steps: int
    episodes: int
    eval_return: float | None
    train_wall_time_s: float
    package_version: str
    exporter: str
    opset: int
    format_version: int = FORMAT_VERSION
    velocity_estimator: Mapping[str, Any] | None = None
    episode_s: float | None = None
    gamma_per_s: float | None = None

    def __post_init__(self) -> None:
        if self.format_version != FORMAT_VERSION:
            raise PolicyArtifactError(
                f"metadata format version {self.format_version} is not supported "
                f"(this ddpg-control reads version {FORMAT_VERSION}): re-export the policy "
                "with 'ddpg-control export --onnx'"
            )
        if not self.observation_layout:
            raise PolicyArtifactError("metadata 'observation_layout' is empty")
        if self.obs_dim != len(self.observation_layout.split(",")):
            raise PolicyArtifactError(
                f"metadata says obs_dim={self.obs_dim} but the observation layout "
                f"'{self.observation_layout}' has {len(self.observation_layout.split(','))} entries"
            )
        for name in ("obs_dim", "act_dim", "opset"):
            if getattr(self, name) <= 0:
                raise PolicyArtifactError(f"metadata '{name}' must be positive")
        for name in ("max_torque_nm", "control_period_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise PolicyArtifactError(
                    f"metadata '{name}' must be a positive finite number, got {value}"
                )
        if self.env_steps < 0 or self.episodes < 0:
            raise PolicyArtifactError("metadata 'env_steps' and 'episodes' must not be negative")
        for name in ("episode_s", "gamma_per_s"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise PolicyArtifactError(
                    f"metadata '{name}' must be a positive finite number or null, got {value}"
                )
        if self.gamma_per_s is not None and self.gamma_per_s >= 1:
            raise PolicyArtifactError(
                f"metadata 'gamma_per_s' must be below 1 (a discount), got {self.gamma_per_s}"
            )
        if self.eval_return is not None and not math.isfinite(self.eval_return):
            raise PolicyArtifactError(f"metadata 'eval_return' is not finite: {self.eval_return}")
        if not isinstance(self.env_params, Mapping):
            raise PolicyArtifactError("metadata 'env_params' must be a JSON object")
        object.__setattr__(self, "env_params", _freeze(self.env_params))
        object.__setattr__(self, "env_randomize", _freeze(self.env_randomize))
        if self.velocity_estimator is not None:
            if not isinstance(self.velocity_estimator, Mapping):
                raise PolicyArtifactError("metadata 'velocity_estimator' must be a JSON object")
            try:
                EstimatorSpec.from_dict(self.velocity_estimator)
            except ConfigError as exc:
                raise PolicyArtifactError(f"metadata 'velocity_estimator': {exc}") from None
            object.__setattr__(self, "velocity_estimator", _freeze(self.velocity_estimator))

    @property
    def estimator_spec(self) -> EstimatorSpec | None:
        """The velocity estimator the policy was trained with (None: the plant's velocity)."""
        if self.velocity_estimator is None:
            return None
        return EstimatorSpec.from_dict(self.velocity_estimator)

    def to_props(self) -> dict[str, str]:
        """The ``metadata_props`` pairs, in a fixed key order."""
        props: dict[str, str] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name in _JSON_KEYS:
                props[field.name] = _to_json(value)
            elif isinstance(value, float):
                props[field.name] = repr(value)
            else:
                props[field.name] = str(value)
        return dict(sorted(props.items()))

    @classmethod
    def from_props(cls, props: Mapping[str, str], source: str = "the policy") -> PolicyMetadata:
        """Parse and validate ``metadata_props``; raise PolicyArtifactError saying what is wrong.

        Keys this version does not know are ignored; a missing key or a bad value is refused.
        """
        if "format_version" not in props:
            raise PolicyArtifactError(
                f"{source} has no ddpg-control metadata (no 'format_version'): export it with "
                "'ddpg-control export --onnx'"
            )
        try:
            version = int(props["format_version"])
        except ValueError:
            version = -1
        if version != FORMAT_VERSION:
            raise PolicyArtifactError(
                f"{source} has metadata format version {props['format_version']!r}; this "
                f"ddpg-control reads version {FORMAT_VERSION}: re-export it with "
                "'ddpg-control export --onnx'"
            )
        missing = [f.name for f in fields(cls) if f.name not in props and f.name not in _OPTIONAL]
        if missing:
            raise PolicyArtifactError(
                f"{source} is missing metadata {', '.join(missing)}: re-export it with "
                "'ddpg-control export --onnx'"
            )
        values: dict[str, Any] = {}
        for field in fields(cls):
            if field.name not in props:
                continue
            raw = props[field.name]
            try:
                values[field.name] = _PARSERS.get(field.name, str)(raw)
            except (ValueError, TypeError) as exc:
                raise PolicyArtifactError(
                    f"{source} has an invalid metadata value {field.name}={raw!r} ({exc})"
                ) from exc
        try:
            return cls(**values)
        except PolicyArtifactError as exc:
            raise PolicyArtifactError(f"{source}: {exc}") from exc


def _json_object(raw: str) -> Mapping[str, Any]:
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    return value


def _optional_float(raw: str) -> float | None:
    value = json.loads(raw)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("expected a number or null")
    return float(value)


_JSON_KEYS = frozenset(
    {"env_params", "env_randomize", "eval_return", "velocity_estimator", "episode_s", "gamma_per_s"}
)
#: Keys added after version 1 was first written; older files lack them (their default applies).
_OPTIONAL = frozenset({"velocity_estimator", "episode_s", "gamma_per_s"})


def _optional_object(raw: str) -> Mapping[str, Any] | None:
    value = json.loads(raw)
    if value is not None and not isinstance(value, dict):
        raise ValueError("expected a JSON object or null")
    return value


_PARSERS: dict[str, Any] = {
    "format_version": int,
    "obs_dim": int,
    "act_dim": int,
    "max_torque_nm": float,
    "control_period_s": float,
    "env_params": _json_object,
    "env_randomize": json.loads,
    "env_steps": int,
    "episodes": int,
    "eval_return": _optional_float,
    "train_wall_time_s": float,
    "opset": int,
    "velocity_estimator": _optional_object,
    "episode_s": _optional_float,
    "gamma_per_s": _optional_float,
}

#: Every key a version-1 artifact carries.
KEYS: tuple[str, ...] = tuple(sorted(f.name for f in fields(PolicyMetadata)))
