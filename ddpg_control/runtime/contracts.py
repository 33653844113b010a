"""Contracts shared by training, the simulator, the exported policy and the control loop.

Angle convention (everywhere in this project): theta = 0 is upright, positive is
counter-clockwise, radians; velocity in rad/s; torque in N*m, positive counter-clockwise.
The observation is ``[cos theta, sin theta, theta_dot]`` as float32, as Gymnasium's
``Pendulum-v1``; :func:`make_observation` is the one function that builds it.

Time: an episode is a duration in seconds, whatever the control period; :func:`episode_steps`
turns it into the step count of a rig's period (``DEFAULT_EPISODE_S`` is Pendulum-v1's 200
steps of 50 ms).

This module is a leaf (numpy only): every package may import it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

import numpy as np
import numpy.typing as npt

#: The observation layout, as written into the ONNX metadata and checked by the runtime.
OBSERVATION_LAYOUT = "cos_theta,sin_theta,theta_dot_rad_s"
OBSERVATION_DIM = 3
ACTION_DIM = 1
#: Pendulum-v1's speed limit (its ``max_speed``): the bound of the observation's theta_dot.
PENDULUM_V1_MAX_SPEED_RAD_S = 8.0

#: An episode's default duration: Pendulum-v1's 200 steps at its 20 Hz.
DEFAULT_EPISODE_S = 10.0

Observation = npt.NDArray[np.float32]

#: Balancing, as opposed to resting near upright: the tight band a policy must enter and stay in
#: until the end of an episode (angle and angular velocity, both in absolute value).
TIGHT_BAND_ANGLE_RAD = 0.02
TIGHT_BAND_VELOCITY_RAD_S = 0.2


def episode_steps(episode_s: float, period_s: float) -> int:
    """The steps of an ``episode_s`` episode at a control period of ``period_s``: the nearest
    whole number (10 s is 200 steps at 20 Hz, 1000 at 100 Hz). Raises ValueError when the
    episode is shorter than half a period or either value is not a positive finite number."""
    if not (math.isfinite(episode_s) and episode_s > 0):
        raise ValueError(f"episode_s must be a finite number > 0, got {episode_s!r}")
    if not (math.isfinite(period_s) and period_s > 0):
        raise ValueError(f"period_s must be a finite number > 0, got {period_s!r}")
    steps = round(episode_s / period_s)
    if steps < 1:
        raise ValueError(
            f"an episode of {episode_s:g} s is shorter than one control period ({period_s:g} s)"
        )
    return steps


def make_observation(angle_rad: float, velocity_rad_s: float) -> Observation:
    """Build the observation ``[cos theta, sin theta, theta_dot]`` (float32, shape (3,))."""
    return np.array([math.cos(angle_rad), math.sin(angle_rad), velocity_rad_s], dtype=np.float32)


def wrap_angle(angle_rad: float) -> float:
    """Wrap an angle to [-pi, pi)."""
    return ((angle_rad + math.pi) % (2.0 * math.pi)) - math.pi


@dataclass(frozen=True, slots=True)
class JointState:
    """One reading of the joint.

    ``timestamp_s`` is the plant's own clock (device time or simulated time), ``status`` the
    plant's fault/status bitfield (0 means healthy; plants document their bits).
    """

    angle_rad: float
    velocity_rad_s: float
    timestamp_s: float
    status: int = 0


@runtime_checkable
class Clock(Protocol):
    """A monotonic time source in seconds. The control loop and the simulated plant share one,
    so tests can run real-time code in virtual time (a clock whose sleep jumps ahead)."""

    def now(self) -> float: ...

    def sleep_until(self, deadline_s: float) -> None:
        """Return at (or just after) ``deadline_s``; immediately if it has passed."""
        ...


@runtime_checkable
class Plant(Protocol):
    """What the control loop drives: a simulator, a serial motor driver, or your own rig.

    A plant is a context manager; leaving the context stops it (zero torque) and closes it.
    ``max_torque_nm`` is the plant's own torque limit, which the safety layer respects.
    A class that names ``Plant`` as its base inherits that context-manager behaviour.
    """

    @property
    def max_torque_nm(self) -> float: ...

    def read(self) -> JointState:
        """Return the latest joint state. Raises PlantError on a fault."""
        ...

    def apply(self, torque_nm: float) -> None:
        """Command a torque (already clipped by the safety layer)."""
        ...

    def stop(self) -> None:
        """Command zero torque. Must be safe to call at any time, repeatedly."""
        ...

    def close(self) -> None:
        """Release the plant. Implementations call stop() first."""
        ...

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@runtime_checkable
class Policy(Protocol):
    """What the control loop asks: an observation in, a torque (N*m) out."""

    @property
    def max_torque_nm(self) -> float: ...

    def __call__(self, observation: Observation) -> float: ...
