"""PendulumParams, presets and randomisation ranges: validated on construction."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ddpg_control.runtime.errors import ConfigError
from sim.params import PRESETS, PendulumParams, RandomizationRanges, preset


def test_default_preset_is_pendulum_v1() -> None:
    p = preset("default")
    assert (p.gravity_m_s2, p.mass_kg, p.length_m) == (10.0, 1.0, 1.0)
    assert (p.max_torque_nm, p.max_velocity_rad_s, p.control_period_s) == (2.0, 8.0, 0.05)
    assert p.joint_damping_nm_s_rad == p.joint_friction_nm == p.action_latency_s == 0.0


def test_realistic_preset_steps_physics_at_1_khz() -> None:
    p = preset("realistic")
    assert p.physics_dt_s == pytest.approx(0.001)
    assert p.joint_friction_nm > 0 and p.joint_damping_nm_s_rad > 0
    assert p.latency_substeps == 5


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"mass_kg": -1.0}, "mass_kg must be > 0"),
        ({"length_m": 0.0}, "length_m must be > 0"),
        ({"control_period_s": 0.0}, "control_period_s must be > 0"),
        ({"max_torque_nm": -2.0}, "max_torque_nm must be > 0"),
        ({"joint_friction_nm": -0.1}, "joint_friction_nm must be >= 0"),
        ({"physics_substeps": 0}, "physics_substeps"),
        ({"physics_substeps": 2.5}, "physics_substeps"),
        ({"gravity_m_s2": math.nan}, "finite"),
        ({"mass_kg": "1"}, "finite number"),
        ({"action_latency_s": -0.01}, "action_latency_s"),
    ],
)
def test_bad_parameters_raise_clear_config_errors(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        PendulumParams(**changes)  # type: ignore[arg-type]


def test_params_round_trip_through_plain_dicts() -> None:
    for params in PRESETS.values():
        plain = params.to_dict()
        assert all(type(v) in (float, int, bool) for v in plain.values())
        assert PendulumParams.from_dict(plain) == params
    with pytest.raises(ConfigError, match="unknown pendulum parameter"):
        PendulumParams.from_dict({"mass": 1.0})


def test_unknown_preset_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="default.*realistic"):
        preset("fast")


@pytest.mark.parametrize(
    ("ranges", "message"),
    [
        ({"mass_kg": (1.2, 0.8)}, "low 1.2 > high 0.8"),
        ({"mass_kg": (0.0, 1.0)}, "must stay > 0"),
        ({"joint_friction_nm": (-0.1, 0.1)}, "below 0"),
        ({"length_m": (1.0,)}, r"\(low, high\)"),
        ({"joint_damping_nm_s_rad": (0.0, math.inf)}, "finite"),
    ],
)
def test_nonsense_ranges_raise_clear_config_errors(ranges: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        RandomizationRanges(**ranges)  # type: ignore[arg-type]


def test_sampling_is_seeded_and_stays_in_range() -> None:
    ranges = RandomizationRanges()
    nominal = preset("realistic")
    draws = [ranges.sample(np.random.default_rng(3), nominal) for _ in range(2)]
    assert draws[0] == draws[1]
    many = [ranges.sample(np.random.default_rng(s), nominal) for s in range(50)]
    assert all(0.8 <= p.mass_kg <= 1.2 and 0.9 <= p.length_m <= 1.1 for p in many)
    assert all(p.physics_substeps == 50 for p in many)  # unrandomised fields keep the nominal
    assert ranges.to_dict()["mass_kg"] == [0.8, 1.2]
