"""Proving an exported policy computes what the trained actor computes.

Every export runs this: the ONNX checker with its full check (shape inference included), then
onnxruntime (through the same :class:`~export.runtime.OnnxPolicy` the control loop uses, both its
batch and its one-observation path) against the torch actor on at least a thousand observations:
random ones and the edge cases (upright, hanging, either side, maximum velocity both ways and
beyond). The largest absolute difference must be within ``TOLERANCE_NM`` and every torque within
the torque limit.

Torch is imported inside :func:`verify_policy` only; the export path is the one place that has it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ddpg_control.runtime.contracts import PENDULUM_V1_MAX_SPEED_RAD_S, make_observation
from ddpg_control.runtime.errors import PolicyArtifactError, first_line
from export.runtime import OnnxPolicy

if TYPE_CHECKING:
    from ddpg_control.learning.networks import Actor

#: The largest |onnxruntime - torch| an export may show: float32 rounding (the two sum in another
#: order) reaches 1.3e-5 N*m on a 64-64 policy trained at 100 Hz; 1e-4 is 0.005 % of a 2 N*m
#: limit, far below what a motor resolves, and far below what a wrong graph gives.
TOLERANCE_NM = 1e-4
#: The loosest tolerance ``export --tolerance-nm`` accepts: beyond it the file is not the actor.
MAX_TOLERANCE_NM = 1e-3
DEFAULT_RANDOM_OBSERVATIONS = 1024


@dataclass(frozen=True)
class VerificationReport:
    """What verification measured. ``passed`` is the verdict; ``summary()`` the printable line."""

    n_observations: int
    max_abs_diff_nm: float
    max_abs_torque_nm: float
    max_torque_nm: float
    tolerance_nm: float = TOLERANCE_NM

    def __post_init__(self) -> None:
        if self.n_observations <= 0:
            raise ValueError("a verification needs at least one observation")
        if not 0 < self.tolerance_nm <= MAX_TOLERANCE_NM:
            raise PolicyArtifactError(
                f"verification tolerance must be in (0, {MAX_TOLERANCE_NM:g}] N*m, "
                f"got {self.tolerance_nm:g}"
            )

    @property
    def diff_ok(self) -> bool:
        return self.max_abs_diff_nm <= self.tolerance_nm

    @property
    def limit_ok(self) -> bool:
        return self.max_abs_torque_nm <= self.max_torque_nm

    @property
    def passed(self) -> bool:
        return self.diff_ok and self.limit_ok

    def summary(self) -> str:
        return (
            f"onnx.checker full check passed; onnxruntime vs torch on {self.n_observations} "
            f"observations: max |diff| {self.max_abs_diff_nm:.3g} N*m (limit "
            f"{self.tolerance_nm:g}); max |torque| {self.max_abs_torque_nm:.6g} N*m "
            f"(limit {self.max_torque_nm:g})"
        )


def max_velocity_of(env_params: Mapping[str, Any]) -> float:
    """The velocity limit named in the environment's parameters, else Pendulum-v1's 8 rad/s."""
    for key in sorted(env_params):
        value = env_params[key]
        lowered = key.lower()
        is_limit = "max_speed" in lowered or "max_velocity" in lowered
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if is_limit and is_number and math.isfinite(value) and value > 0:
            return float(value)
    return PENDULUM_V1_MAX_SPEED_RAD_S


def verification_observations(
    max_velocity_rad_s: float,
    rng: np.random.Generator,
    n_random: int = DEFAULT_RANDOM_OBSERVATIONS,
) -> npt.NDArray[np.float32]:
    """Edge cases first, then ``n_random`` random states; float32 [N, 3]."""
    if n_random < 0 or not max_velocity_rad_s > 0:
        raise ValueError("need n_random >= 0 and a positive velocity limit")
    angles_rad = (0.0, math.pi, -math.pi, math.pi / 2, -math.pi / 2)  # upright, hanging, sides
    velocities_rad_s = (0.0, max_velocity_rad_s, -max_velocity_rad_s)
    beyond = (1.5 * max_velocity_rad_s, -1.5 * max_velocity_rad_s)
    edges = [make_observation(a, v) for a in angles_rad for v in velocities_rad_s + beyond]
    angles = rng.uniform(-math.pi, math.pi, size=n_random)
    velocities = rng.uniform(-max_velocity_rad_s, max_velocity_rad_s, size=n_random)
    random = [make_observation(float(a), float(v)) for a, v in zip(angles, velocities, strict=True)]
    return np.stack(edges + random).astype(np.float32)


def check_model_bytes(model_bytes: bytes) -> None:
    """``onnx.checker`` with the full check; PolicyArtifactError on any finding."""
    import onnx

    try:
        onnx.checker.check_model(onnx.load_from_string(model_bytes), full_check=True)
    except Exception as exc:  # onnx raises ValidationError, InferenceError, DecodeError
        raise PolicyArtifactError(
            f"the exported graph fails onnx.checker: {first_line(exc)}"
        ) from exc


def verify_policy(
    actor: Actor,
    policy: OnnxPolicy,
    observations: npt.NDArray[np.float32],
    tolerance_nm: float = TOLERANCE_NM,
) -> VerificationReport:
    """Compare the loaded artifact with the torch actor on ``observations`` (not raising)."""
    import torch

    with torch.inference_mode():
        expected = actor(torch.from_numpy(np.ascontiguousarray(observations))).numpy()
    if not np.all(np.isfinite(expected)):
        raise PolicyArtifactError(
            "the checkpoint's actor itself outputs non-finite torques (NaN or inf weights?): "
            "pick another checkpoint or re-train"
        )
    batch = policy.act_batch(observations)
    single = np.array([[policy(obs)] for obs in observations], dtype=np.float32)
    diff = max(float(np.max(np.abs(batch - expected))), float(np.max(np.abs(single - expected))))
    return VerificationReport(
        n_observations=len(observations),
        max_abs_diff_nm=diff,
        max_abs_torque_nm=float(max(np.max(np.abs(batch)), np.max(np.abs(single)))),
        max_torque_nm=policy.max_torque_nm,
        tolerance_nm=tolerance_nm,
    )
