"""The classical controller: a stabilising LQR, the energy it shapes, a swing-up on the sim."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ddpg_control.runtime.classical import EnergyShapingLqr, PendulumModel, _zoh, discrete_lqr
from ddpg_control.runtime.contracts import make_observation

MODEL = PendulumModel(
    mass_kg=1.0, length_m=1.0, gravity_m_s2=10.0, max_torque_nm=2.0, period_s=0.05
)


def test_zoh_discretisation_of_a_double_integrator_is_exact() -> None:
    a = np.array([[0.0, 1.0], [0.0, 0.0]])
    b = np.array([[0.0], [1.0]])
    ad, bd = _zoh(a, b, 0.1)
    assert ad == pytest.approx(np.array([[1.0, 0.1], [0.0, 1.0]]))
    assert bd == pytest.approx(np.array([[0.005], [0.1]]))


def test_lqr_gain_stabilises_the_linearised_sampled_pendulum() -> None:
    controller = EnergyShapingLqr(MODEL)
    inertia = MODEL.inertia_kg_m2
    a = np.array([[0.0, 1.0], [MODEL.gravity_torque_nm / inertia, 0.0]])
    b = np.array([[0.0], [1.0 / inertia]])
    ad, bd = _zoh(a, b, MODEL.period_s)
    closed = ad - bd @ controller.gain.reshape(1, 2)
    assert max(abs(np.linalg.eigvals(closed))) < 1.0
    assert max(abs(np.linalg.eigvals(ad))) > 1.0  # open loop: upright is unstable
    # and it is the Riccati solution: the cost-to-go satisfies the DARE
    gain = discrete_lqr(ad, bd, np.diag([1.0, 0.1]), np.array([[0.1]]))
    assert gain[0] == pytest.approx(controller.gain)


def test_energy_is_zero_upright_at_rest_and_negative_hanging() -> None:
    controller = EnergyShapingLqr(MODEL)
    assert controller.energy_j(0.0, 0.0) == 0.0
    assert controller.energy_j(math.pi, 0.0) == pytest.approx(-2 * MODEL.gravity_torque_nm)


def test_torque_pumps_energy_in_below_upright_and_stays_within_the_limit() -> None:
    controller = EnergyShapingLqr(MODEL)
    for angle, velocity in [(2.5, 1.0), (-2.5, -1.0), (2.0, -3.0)]:
        torque = controller(make_observation(angle, velocity))
        assert torque * velocity > 0  # dE/dt = torque * velocity > 0 while E < 0
        assert abs(torque) <= MODEL.max_torque_nm
    assert controller(make_observation(0.05, 0.0)) < 0  # LQR pushes back towards upright
