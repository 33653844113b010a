"""What ``run`` and ``score`` drive: an ONNX policy file, or the classical controller.

``--policy classical`` names :class:`~ddpg_control.runtime.classical.EnergyShapingLqr`, designed
from the simulator's parameters. Each controller comes with its observer: the velocity
estimator the ONNX policy was trained with (from its metadata), or, for the classical
controller on a plant that reports no velocity, the default estimator. Torch-free: this is on
the robot's path.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ddpg_control.runtime.classical import EnergyShapingLqr, PendulumModel
from ddpg_control.runtime.control_loop import Observer
from ddpg_control.runtime.errors import ConfigError
from ddpg_control.runtime.velocity_estimation import (
    EstimatingObserver,
    EstimatorSpec,
    default_estimator,
)

if TYPE_CHECKING:
    from export.runtime import OnnxPolicy
    from sim.params import PendulumParams

#: The name that stands for the classical controller wherever a policy file is expected.
CLASSICAL = "classical"


def is_classical(policy: Path | str | None) -> bool:
    return policy is not None and str(policy) == CLASSICAL


def classical_controller(params: PendulumParams) -> EnergyShapingLqr:
    """The energy-shaping + LQR controller designed for ``params`` (the nominal model)."""
    return EnergyShapingLqr(
        PendulumModel(
            mass_kg=params.mass_kg,
            length_m=params.length_m,
            gravity_m_s2=params.gravity_m_s2,
            max_torque_nm=params.max_torque_nm,
            period_s=params.control_period_s,
            damping_nm_s_rad=params.joint_damping_nm_s_rad,
        )
    )


def estimator_for(
    controller: Any, plant_reports_velocity: bool, period_s: float
) -> EstimatorSpec | None:
    """The velocity estimator to put between the plant and ``controller`` (None: none).

    An ONNX policy gets the one it was trained with. A policy trained on the plant's velocity
    cannot run on a plant that reports none: that is a ConfigError saying so.
    """
    if isinstance(controller, EnergyShapingLqr):
        return None if plant_reports_velocity else default_estimator(period_s)
    policy: OnnxPolicy = controller
    spec = policy.metadata.estimator_spec
    if spec is None and not plant_reports_velocity:
        raise ConfigError(
            f"policy '{policy.path}' was trained on the plant's own velocity, but this simulated "
            "plant reports none (reports_velocity = false): pick a preset that reports velocity "
            "(e.g. --preset default) or train on this one"
        )
    return spec


def observer_for(spec: EstimatorSpec | None) -> Observer | None:
    """A fresh observer for one run (estimators keep state)."""
    return None if spec is None else EstimatingObserver(spec)


def describe_estimator(spec: EstimatorSpec | None) -> str:
    if spec is None:
        return "the plant's velocity"
    return f"velocity from angles ({spec.kind}, {spec.period_s:g} s period)"


def load_onnx(path: Path) -> OnnxPolicy:
    from export.runtime import OnnxPolicy

    return OnnxPolicy.load(path)
