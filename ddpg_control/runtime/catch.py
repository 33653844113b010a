"""An optional catch (``run --catch lqr``): an LQR holds the pendulum upright inside the region
where it provably can, and hands back to the policy outside it.

Many real pendulum rigs run this way: a swing-up controller brings the pendulum near upright and
a linear controller catches it there. The LQR is the classical controller's
(:func:`~ddpg_control.runtime.classical.upright_lqr`), designed from the rig's parameters at the
loop's period. Its region is a level set of the closed loop's Lyapunov function
``V(x) = x' P x`` (``P`` the Riccati solution, ``x = (theta, theta_dot)``), checked by
simulation: :func:`verified_level` is the largest level from which every sampled state, driven
by the clipped LQR through the nonlinear pendulum (zero-order hold, fine integration steps),
stays inside the level set and comes to rest upright. The LQR takes over once ``V`` falls below
half that level and hands back once ``V`` leaves the verified set, so it does not chatter at
the edge.

:class:`LqrCatch` is a :class:`~ddpg_control.runtime.contracts.Policy` around the policy: the
loop's safety layer still sits after it and clips whatever it asks. It counts and records which
controller acted each tick; :class:`CatchTelemetry` writes that record beside the run's
telemetry CSV.
"""

from __future__ import annotations

import logging
import math
from array import array
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ddpg_control.runtime.classical import PendulumModel, upright_lqr
from ddpg_control.runtime.contracts import Observation
from ddpg_control.runtime.errors import ConfigError
from ddpg_control.runtime.files import replacing
from ddpg_control.runtime.telemetry import TelemetrySink

log = logging.getLogger(__name__)

#: The names of the two controllers, as the record and the summary write them.
POLICY, LQR = "policy", "lqr"
#: The only catch there is (``run --catch lqr``).
CATCH_KINDS = (LQR,)
#: The LQR takes over below this share of the verified level, and hands back above all of it.
ENTER_SHARE = 0.5
#: What "comes to rest upright" means in the verification: at its end, within these.
REST_ANGLE_RAD = 0.005
REST_VELOCITY_RAD_S = 0.05
#: How long each sampled state is simulated, and the finest integration step.
VERIFY_HORIZON_S = 4.0
VERIFY_MAX_STEP_S = 0.005
#: Sampled states: on rings at these shares of the level, at this many directions each.
VERIFY_RINGS = (0.25, 0.5, 0.75, 1.0)
VERIFY_DIRECTIONS = 48

FloatArray = npt.NDArray[np.float64]


#: The rig's fields an LQR needs, as the PyBullet pendulum's parameters name them (params.toml,
#: ONNX metadata), and as Gymnasium's Pendulum-v1 does (its metadata).
_PARAMS_KEYS = ("mass_kg", "length_m", "gravity_m_s2", "max_torque_nm")
_PENDULUM_V1_KEYS = ("m", "l", "g", "max_torque")


def rig_model(fields: Mapping[str, object], period_s: float) -> PendulumModel | None:
    """The model an LQR is built from, out of a rig's recorded parameters (the PyBullet
    pendulum's names, or Pendulum-v1's), at the loop's period; None when they are not there."""
    for keys in (_PARAMS_KEYS, _PENDULUM_V1_KEYS):
        values = [fields.get(key) for key in keys]
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            mass, length, gravity, limit = (float(v) for v in values)  # type: ignore[arg-type]
            damping = fields.get("joint_damping_nm_s_rad", 0.0)
            return PendulumModel(
                mass_kg=mass,
                length_m=length,
                gravity_m_s2=gravity,
                max_torque_nm=limit,
                period_s=period_s,
                damping_nm_s_rad=float(damping) if isinstance(damping, int | float) else 0.0,
            )
    return None


def _closed_loop_holds(
    model: PendulumModel, gain: FloatArray, p: FloatArray, states: FloatArray, level: float
) -> bool:
    """True when every state in ``states`` (rows ``theta, theta_dot``) stays within ``x'Px <=
    level`` at every sample instant and ends at rest upright, under the clipped LQR."""
    inertia, limit = model.inertia_kg_m2, model.max_torque_nm
    substeps = max(1, math.ceil(model.period_s / VERIFY_MAX_STEP_S))
    dt = model.period_s / substeps
    periods = math.ceil(VERIFY_HORIZON_S / model.period_s)
    theta, omega = states[:, 0].copy(), states[:, 1].copy()

    def acceleration(t: FloatArray, w: FloatArray, u: FloatArray) -> FloatArray:
        return (model.gravity_torque_nm * np.sin(t) - model.damping_nm_s_rad * w + u) / inertia

    for _ in range(periods):
        u = np.clip(-(gain[0] * theta + gain[1] * omega), -limit, limit)
        for _ in range(substeps):  # RK4, the torque held over the period
            k1t, k1w = omega, acceleration(theta, omega, u)
            k2t = omega + 0.5 * dt * k1w
            k2w = acceleration(theta + 0.5 * dt * k1t, omega + 0.5 * dt * k1w, u)
            k3t = omega + 0.5 * dt * k2w
            k3w = acceleration(theta + 0.5 * dt * k2t, omega + 0.5 * dt * k2w, u)
            k4t = omega + dt * k3w
            k4w = acceleration(theta + dt * k3t, omega + dt * k3w, u)
            theta = theta + dt / 6.0 * (k1t + 2 * k2t + 2 * k3t + k4t)
            omega = omega + dt / 6.0 * (k1w + 2 * k2w + 2 * k3w + k4w)
        value = p[0, 0] * theta**2 + 2 * p[0, 1] * theta * omega + p[1, 1] * omega**2
        if np.any(value > level * (1 + 1e-9)):
            return False
        if np.all(np.abs(theta) < REST_ANGLE_RAD) and np.all(np.abs(omega) < REST_VELOCITY_RAD_S):
            return True
    return False


def level_set_states(p: FloatArray, level: float) -> FloatArray:
    """States on rings of ``x'Px = share * level`` (``VERIFY_RINGS``), evenly around each."""
    inverse_root = np.linalg.inv(np.linalg.cholesky(p).T)  # x = inverse_root @ z: x'Px = |z|^2
    angles = np.linspace(0.0, 2 * math.pi, VERIFY_DIRECTIONS, endpoint=False)
    circle = np.stack([np.cos(angles), np.sin(angles)])
    rings = [inverse_root @ (circle * math.sqrt(share * level)) for share in VERIFY_RINGS]
    return np.concatenate(rings, axis=1).T


def verified_level(
    model: PendulumModel, gain: FloatArray, p: FloatArray, *, iterations: int = 14
) -> float:
    """The largest level ``c`` (by bisection) whose sampled states all stay in ``x'Px <= c``
    and come to rest upright under the clipped LQR; 0.0 when not even a small one does."""
    low, high = 0.0, float(np.array([math.pi / 2, 0.0]) @ p @ np.array([math.pi / 2, 0.0]))
    for _ in range(iterations):
        middle = 0.5 * (low + high)
        if _closed_loop_holds(model, gain, p, level_set_states(p, middle), middle):
            low = middle
        else:
            high = middle
    return low


@dataclass(frozen=True, slots=True)
class CatchRegion:
    """Where the LQR acts: it takes over at ``V(x) <= enter_level`` and keeps the pendulum until
    ``V(x) > leave_level`` (the verified level), ``V(x) = x' P x``."""

    p: FloatArray
    enter_level: float
    leave_level: float

    def __post_init__(self) -> None:
        if not 0.0 < self.enter_level <= self.leave_level:
            raise ConfigError(
                f"the catch region's levels must satisfy 0 < enter <= leave, got "
                f"{self.enter_level!r} and {self.leave_level!r}"
            )

    def value(self, angle_rad: float, velocity_rad_s: float) -> float:
        p = self.p
        return float(
            p[0, 0] * angle_rad**2
            + 2 * p[0, 1] * angle_rad * velocity_rad_s
            + p[1, 1] * velocity_rad_s**2
        )


def catch_region(model: PendulumModel, gain: FloatArray, p: FloatArray) -> CatchRegion:
    """The verified region of the LQR ``gain`` on ``model``, with its hysteresis."""
    level = verified_level(model, gain, p)
    if level <= 0.0:
        raise ConfigError(
            "the rig's LQR holds no region around upright within its torque limit: --catch "
            "cannot help on this rig"
        )
    return CatchRegion(p, ENTER_SHARE * level, level)


class LqrCatch:
    """The policy, with the LQR taking over inside its verified region (see the module)."""

    def __init__(
        self,
        policy: Callable[[Observation], float],
        model: PendulumModel,
        *,
        region: CatchRegion | None = None,
    ) -> None:
        self.policy = policy
        self.model = model
        self.gain, p = upright_lqr(model)
        self.region = region or catch_region(model, self.gain, p)
        self.lqr_active = False  # which controller answered the latest observation
        self.handovers = 0

    @property
    def max_torque_nm(self) -> float:
        return float(getattr(self.policy, "max_torque_nm", self.model.max_torque_nm))

    @property
    def control_period_s(self) -> float:
        return self.model.period_s

    def __call__(self, observation: Observation) -> float:
        cos_theta, sin_theta, velocity = (float(v) for v in observation[:3])
        angle = math.atan2(sin_theta, cos_theta)
        value = self.region.value(angle, velocity)
        was_active = self.lqr_active
        if was_active:
            self.lqr_active = value <= self.region.leave_level
        else:
            self.lqr_active = value <= self.region.enter_level
        if self.lqr_active != was_active:
            self.handovers += 1
            log.info("catch: %s takes over at V = %.4g", LQR if self.lqr_active else POLICY, value)
        if not self.lqr_active:
            return float(self.policy(observation))
        limit = self.model.max_torque_nm
        torque = -float(self.gain[0] * angle + self.gain[1] * velocity)
        return min(max(torque, -limit), limit)


def catch_record_path(telemetry_path: Path) -> Path:
    """Where the per-tick controller record goes: beside the telemetry CSV."""
    return telemetry_path.with_name(telemetry_path.stem + ".controller.csv")


class CatchTelemetry:
    """A :class:`~ddpg_control.runtime.telemetry.TelemetrySink` around another: every row goes
    on to it, with which controller acted that tick beside it; on close that record is written
    to ``path`` (CSV: ``time_s,controller``, ``controller`` 0 = policy, 1 = LQR)."""

    def __init__(self, sink: TelemetrySink, catch: LqrCatch, path: Path) -> None:
        self._sink = sink
        self._catch = catch
        self.path = path
        self._times = array("d")
        self._acted = bytearray()

    def record(self, *row: float) -> None:
        self._sink.record(*row)
        self._times.append(row[0])
        self._acted.append(int(self._catch.lqr_active))

    def ticks(self) -> dict[str, int]:
        """Ticks each controller had."""
        lqr = sum(self._acted)
        return {POLICY: len(self._acted) - lqr, LQR: lqr}

    def describe(self) -> str:
        """How much of the run each controller had, in one line."""
        ticks = self.ticks()
        total = sum(ticks.values())
        if not total:
            return "catch: no ticks"
        shares = ", ".join(f"{name} {n} ticks ({n / total:.1%})" for name, n in ticks.items())
        return f"catch: {shares}; {self._catch.handovers} handovers"

    def close(self) -> None:
        try:
            self._sink.close()
        finally:
            rows = "".join(
                f"{time_s:.9g},{acted}\n"
                for time_s, acted in zip(self._times, self._acted, strict=True)
            )
            with replacing(self.path) as tmp:
                tmp.write_text("time_s,controller\n" + rows)
