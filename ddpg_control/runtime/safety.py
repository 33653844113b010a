"""The safety layer: the only way a torque reaches the plant from the control loop.

It sits between the policy and the plant and does three things:

* checks every joint reading: a non-finite angle or velocity, or a speed beyond the velocity
  envelope, raises :class:`~ddpg_control.runtime.errors.SafetyStop`;
* checks every torque the policy asks for: a non-finite torque raises ``SafetyStop``;
* clips the torque to the smallest of the policy artifact's, the user's and the plant's limits,
  then (optionally) limits how fast it may change (slew rate, N*m/s).

The control loop builds the layer itself from the policy and the plant (see
:meth:`SafetyLayer.for_loop`), so there is no way to run the loop around it. Numpy-free and
torch-free.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ddpg_control.runtime.contracts import PENDULUM_V1_MAX_SPEED_RAD_S, JointState, Plant
from ddpg_control.runtime.errors import SafetyStop
from ddpg_control.runtime.validation import require_positive

#: Default velocity envelope: Pendulum-v1 caps speed at 8 rad/s; well beyond that something
#: is wrong (a runaway, a sensor glitch).
DEFAULT_MAX_VELOCITY_RAD_S = 2.5 * PENDULUM_V1_MAX_SPEED_RAD_S


@dataclass(frozen=True, slots=True)
class SafetyLimits:
    """User-chosen limits. ``max_torque_nm=None`` means: no tighter than policy and plant."""

    max_torque_nm: float | None = None
    slew_limit_nm_per_s: float | None = None
    max_velocity_rad_s: float = DEFAULT_MAX_VELOCITY_RAD_S

    def __post_init__(self) -> None:
        if self.max_torque_nm is not None:
            require_positive("max_torque_nm (--torque-limit-nm)", self.max_torque_nm)
        if self.slew_limit_nm_per_s is not None:
            require_positive("slew_limit_nm_per_s (--slew-limit-nm-s)", self.slew_limit_nm_per_s)
        require_positive("max_velocity_rad_s (--max-velocity-rad-s)", self.max_velocity_rad_s)


class SafetyLayer:
    """Checks readings and torques, clips and slew-limits torques, writes them to the plant."""

    def __init__(self, torque_limit_nm: float, period_s: float, limits: SafetyLimits) -> None:
        require_positive("torque limit", torque_limit_nm)
        require_positive("period_s", period_s)
        self.torque_limit_nm = float(torque_limit_nm)
        self.limits = limits
        self._max_step_nm = (
            math.inf
            if limits.slew_limit_nm_per_s is None
            else limits.slew_limit_nm_per_s * period_s
        )
        self._last_sent_nm = 0.0

    @classmethod
    def for_loop(
        cls,
        policy_max_torque_nm: float,
        plant_max_torque_nm: float,
        period_s: float,
        limits: SafetyLimits,
    ) -> SafetyLayer:
        """The layer for one run: the torque limit is the smallest of the three limits."""
        require_positive("the policy's torque limit", policy_max_torque_nm)
        require_positive("the plant's torque limit", plant_max_torque_nm)
        candidates = [policy_max_torque_nm, plant_max_torque_nm]
        if limits.max_torque_nm is not None:
            candidates.append(limits.max_torque_nm)
        return cls(min(candidates), period_s, limits)

    @property
    def last_sent_nm(self) -> float:
        return self._last_sent_nm

    def check_state(self, state: JointState) -> None:
        if not (math.isfinite(state.angle_rad) and math.isfinite(state.velocity_rad_s)):
            raise SafetyStop(
                f"non-finite joint reading (angle {state.angle_rad}, velocity "
                f"{state.velocity_rad_s}): check the sensor and the plant's connection"
            )
        if abs(state.velocity_rad_s) > self.limits.max_velocity_rad_s:
            raise SafetyStop(
                f"joint velocity {state.velocity_rad_s:.2f} rad/s is beyond the "
                f"{self.limits.max_velocity_rad_s:.2f} rad/s envelope: check the rig, "
                "or raise the envelope if this speed is expected"
            )

    def filter(self, torque_cmd_nm: float) -> float:
        """The torque that may be sent for a commanded one (raises SafetyStop on NaN/inf)."""
        torque = float(torque_cmd_nm)
        if not math.isfinite(torque):
            raise SafetyStop(
                f"the policy returned a non-finite torque ({torque}): check the policy file"
            )
        limit = self.torque_limit_nm
        torque = min(max(torque, -limit), limit)
        step = self._max_step_nm
        if step != math.inf:
            last = self._last_sent_nm
            torque = min(max(torque, last - step), last + step)
        return torque

    def apply(self, plant: Plant, torque_cmd_nm: float) -> float:
        """Filter the commanded torque, write it to the plant and return what was sent."""
        torque = self.filter(torque_cmd_nm)
        plant.apply(torque)
        self._last_sent_nm = torque
        return torque

    def stop(self, plant: Plant) -> None:
        """Zero torque now (no slew limit on the way to zero: stopping is always allowed)."""
        self._last_sent_nm = 0.0
        plant.stop()
