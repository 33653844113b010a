"""The rigs the control-rate bench trains on are what their files say, in the real simulator."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from ddpg_control.runtime.contracts import TIGHT_BAND_ANGLE_RAD
from sim.params import PendulumParams
from sim.params_file import load_params_file
from sim.pendulum_env import PyBulletPendulumEnv

BENCH = Path(__file__).resolve().parents[2] / "bench"


def gravity_torque_nm(params: PendulumParams) -> float:
    """The largest torque gravity puts on the rod (horizontal): m g l / 2."""
    return params.mass_kg * params.gravity_m_s2 * params.length_m / 2


def angle_after_rest_rad(params: PendulumParams, start_rad: float, seconds: float) -> float:
    """Released at rest at ``start_rad`` with no torque: the angle ``seconds`` later."""
    env = PyBulletPendulumEnv(params=params)
    try:
        env.reset(seed=0, options={"state": (start_rad, 0.0)})
        for _ in range(round(seconds / params.control_period_s)):
            env.step(np.zeros(1, dtype=np.float32))
        return env.state[0]
    finally:
        env.close()


@pytest.mark.parametrize("name", ["weak_motor_rig.toml", "heavy_friction_rig.toml"])
def test_bench_rigs_cannot_lift_the_rod_straight_up(name: str) -> None:
    params = load_params_file(BENCH / name).params
    assert gravity_torque_nm(params) > params.torque_scale * params.max_torque_nm


def test_heavy_rig_friction_holds_the_rod_outside_the_tight_band_but_not_beyond_its_dead_band() -> (
    None
):
    params = load_params_file(BENCH / "heavy_friction_rig.toml").params
    assert gravity_torque_nm(params) == pytest.approx(1.4 * params.max_torque_nm)
    dead_band_rad = math.asin(params.joint_friction_nm / gravity_torque_nm(params))
    assert TIGHT_BAND_ANGLE_RAD < dead_band_rad < 0.04
    inside = 0.5 * (TIGHT_BAND_ANGLE_RAD + dead_band_rad)  # off the tight band, friction holds
    assert angle_after_rest_rad(params, inside, 2.0) == pytest.approx(inside, abs=1e-3)
    assert abs(angle_after_rest_rad(params, 1.5 * dead_band_rad, 2.0)) > 0.5  # it falls
