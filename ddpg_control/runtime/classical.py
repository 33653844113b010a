"""A classical reference controller: energy-shaping swing-up, LQR capture near upright.

It is designed from the plant's parameters alone (no learning), so ``ddpg-control score`` can
set a learned policy against a controller made for the nominal model. It is a
:class:`~ddpg_control.runtime.contracts.Policy` (observation in, torque out) and lives in the
torch-free runtime so it can also drive a real rig (``run --device --policy classical``).

Model (the project's pendulum, theta = 0 upright): a rod of mass ``m``, length ``l`` about one
end, ``I = m l^2 / 3``, ``I theta_ddot = m g (l/2) sin(theta) - b theta_dot + u``.

* Swing-up: the energy ``E = I w^2 / 2 + m g (l/2) (cos theta - 1)`` is zero upright at rest.
  ``dE/dt = u w`` (without friction), so ``u = k_E (0 - E) w``, clipped to the torque limit,
  pumps energy in (or out) until the pendulum reaches upright with no speed to spare.
* Capture: within ``capture_angle_rad`` of upright, a discrete-time LQR on the model
  linearised about upright, sampled at the control period with a zero-order hold, weights
  ``Q = diag(1, 0.1)`` (Pendulum-v1's reward) and ``R = r_weight``; the torque is clipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ddpg_control.runtime.contracts import Observation
from ddpg_control.runtime.validation import require_positive


@dataclass(frozen=True, slots=True)
class PendulumModel:
    """What the controller knows of the plant (SI units)."""

    mass_kg: float
    length_m: float
    gravity_m_s2: float
    max_torque_nm: float
    period_s: float
    damping_nm_s_rad: float = 0.0

    def __post_init__(self) -> None:
        for name in ("mass_kg", "length_m", "max_torque_nm", "period_s"):
            require_positive(name, getattr(self, name))

    @property
    def inertia_kg_m2(self) -> float:
        return self.mass_kg * self.length_m**2 / 3.0

    @property
    def gravity_torque_nm(self) -> float:
        """``m g l / 2``: the largest gravity torque (rod horizontal)."""
        return self.mass_kg * self.gravity_m_s2 * self.length_m / 2.0


def _zoh(
    a: npt.NDArray[np.float64], b: npt.NDArray[np.float64], dt: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Exact zero-order-hold discretisation via the series of ``exp([[A, B], [0, 0]] dt)``."""
    n, m = b.shape
    block = np.zeros((n + m, n + m))
    block[:n, :n], block[:n, n:] = a * dt, b * dt
    result, term = np.eye(n + m), np.eye(n + m)
    for k in range(1, 40):
        term = term @ block / k
        result = result + term
    return result[:n, :n], result[:n, n:]


def discrete_riccati(
    a: npt.NDArray[np.float64],
    b: npt.NDArray[np.float64],
    q: npt.NDArray[np.float64],
    r: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """``P``, the solution of the discrete algebraic Riccati equation, iterated."""
    p = q.copy()
    for _ in range(10_000):
        step = np.linalg.solve(r + b.T @ p @ b, b.T @ p @ a)
        updated = q + a.T @ p @ (a - b @ step)
        if np.allclose(updated, p, rtol=1e-12, atol=1e-12):
            return np.asarray(updated, dtype=np.float64)
        p = updated
    return np.asarray(p, dtype=np.float64)


def discrete_lqr(
    a: npt.NDArray[np.float64],
    b: npt.NDArray[np.float64],
    q: npt.NDArray[np.float64],
    r: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """The gain ``K`` (``u = -K x``) from the discrete algebraic Riccati equation, iterated."""
    p = discrete_riccati(a, b, q, r)
    gain = np.asarray(np.linalg.solve(r + b.T @ p @ b, b.T @ p @ a), dtype=np.float64)
    return gain


#: The LQR's weights: Pendulum-v1's reward (``theta^2 + 0.1 theta_dot^2``), and its torque's.
STATE_WEIGHTS = (1.0, 0.1)
DEFAULT_R_WEIGHT = 0.1


def upright_lqr(
    model: PendulumModel, r_weight: float = DEFAULT_R_WEIGHT
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """``(K, P)`` of the discrete LQR about upright: the model linearised there, sampled at its
    period with a zero-order hold, weights ``diag(STATE_WEIGHTS)`` and ``r_weight``. ``u = -K x``
    with ``x = (theta, theta_dot)``; ``x' P x`` is the closed loop's Lyapunov function."""
    inertia = model.inertia_kg_m2
    a = np.array(
        [[0.0, 1.0], [model.gravity_torque_nm / inertia, -model.damping_nm_s_rad / inertia]]
    )
    b = np.array([[0.0], [1.0 / inertia]])
    ad, bd = _zoh(a, b, model.period_s)
    q, r = np.diag(STATE_WEIGHTS), np.array([[r_weight]])
    p = discrete_riccati(ad, bd, q, r)
    gain = np.asarray(np.linalg.solve(r + bd.T @ p @ bd, bd.T @ p @ ad), dtype=np.float64)
    return gain[0], p


class EnergyShapingLqr:
    """The controller: ``controller(observation) -> torque_nm``. Stateless, deterministic."""

    def __init__(
        self,
        model: PendulumModel,
        *,
        energy_gain: float = 2.0,
        capture_angle_rad: float = 0.6,
        r_weight: float = DEFAULT_R_WEIGHT,
    ) -> None:
        self.model = model
        self.energy_gain = energy_gain
        self.capture_angle_rad = capture_angle_rad
        self.gain = upright_lqr(model, r_weight)[0]

    @property
    def max_torque_nm(self) -> float:
        return self.model.max_torque_nm

    @property
    def control_period_s(self) -> float:
        return self.model.period_s

    def energy_j(self, angle_rad: float, velocity_rad_s: float) -> float:
        """Energy relative to resting upright (J)."""
        m = self.model
        return 0.5 * m.inertia_kg_m2 * velocity_rad_s**2 + m.gravity_torque_nm * (
            math.cos(angle_rad) - 1.0
        )

    def __call__(self, observation: Observation) -> float:
        cos_theta, sin_theta, velocity = (float(v) for v in observation[:3])
        angle = math.atan2(sin_theta, cos_theta)
        limit = self.model.max_torque_nm
        if abs(angle) < self.capture_angle_rad:
            torque = -float(self.gain[0] * angle + self.gain[1] * velocity)
        else:
            torque = -self.energy_gain * self.energy_j(angle, velocity) * velocity
            if velocity == 0.0 and abs(angle) > math.pi - 1e-3:
                torque = limit  # at rest hanging down: any push starts the swing
        return min(max(torque, -limit), limit)
