"""A real-time reader splits physics steps into partial ones; friction, latency and the torque
scale must come out as with whole steps (the emulator polls the plant every millisecond)."""

from __future__ import annotations

import math

import pytest

from sim.bullet_pendulum import PendulumBody
from sim.params import PendulumParams

FINE = PendulumParams(physics_substeps=50, gravity_m_s2=0.0)


def spin_down(params: PendulumParams, partial_s: float | None) -> float:
    body = PendulumBody(params)
    try:
        body.reset_state(math.pi, 1.0)
        if partial_s is None:
            body.advance(0.0, 10)
        else:
            for _ in range(round(0.010 / partial_s)):
                body.advance_partial(0.0, partial_s)
        return body.state()[1]
    finally:
        body.close()


def test_friction_impulse_scales_with_a_partial_step() -> None:
    params = FINE.with_changes(joint_friction_nm=0.1)
    whole = spin_down(params, None)
    assert whole == pytest.approx(1.0 - 0.1 / params.pivot_inertia_kg_m2 * 0.010, abs=1e-9)
    assert spin_down(params, 0.0001) == pytest.approx(whole, abs=1e-9)


def test_latency_holds_in_time_when_steps_are_split() -> None:
    params = FINE.with_changes(action_latency_s=0.004)
    body = PendulumBody(params)
    try:
        body.reset_state(math.pi, 0.0)
        moved_at = None
        for i in range(1, 200):  # 0.1 ms partial steps, torque from t = 0
            body.advance_partial(1.0, 0.0001)
            if body.state()[1] != 0.0:
                moved_at = i * 0.0001
                break
        assert moved_at == pytest.approx(0.004, abs=params.physics_dt_s)
    finally:
        body.close()


def test_torque_scale_and_offset_act_on_the_joint() -> None:
    params = FINE.with_changes(torque_scale=0.5, torque_offset_nm=0.1)
    body = PendulumBody(params)
    try:
        body.reset_state(math.pi, 0.0)
        body.advance(1.0, 10)
        expected = (0.5 * 1.0 + 0.1) / params.pivot_inertia_kg_m2 * 0.010
        assert body.state()[1] == pytest.approx(expected, rel=1e-6)
    finally:
        body.close()
