"""The velocity estimators: exact on ramps, across the +-pi wrap, filtered as specified."""

from __future__ import annotations

import math

import pytest

from ddpg_control.runtime.contracts import JointState
from ddpg_control.runtime.errors import ConfigError
from ddpg_control.runtime.velocity_estimation import (
    EstimatingObserver,
    EstimatorSpec,
    default_estimator,
)


def test_finite_difference_is_exact_on_a_ramp_and_starts_at_zero() -> None:
    estimator = default_estimator(0.05).build()
    estimates = [estimator.update(0.3 + 2.0 * 0.05 * k) for k in range(10)]
    assert estimates[0] == 0.0
    assert estimates[1:] == pytest.approx([2.0] * 9, rel=1e-12)


def test_finite_difference_crosses_the_wrap_without_a_jump() -> None:
    estimator = default_estimator(0.05).build()
    angles = [math.pi - 0.1, -math.pi + 0.1]  # +0.2 rad across the wrap
    estimator.update(angles[0])
    assert estimator.update(angles[1]) == pytest.approx(0.2 / 0.05)


def test_low_pass_follows_a_step_in_velocity_as_a_first_order_filter() -> None:
    spec = EstimatorSpec("finite_difference", 0.01, cutoff_hz=5.0, limit_rad_s=100.0)
    estimator = spec.build()
    a = 1.0 - math.exp(-2 * math.pi * 5.0 * 0.01)
    estimator.update(0.0)
    for k in range(1, 20):
        assert estimator.update(1.0 * 0.01 * k) == pytest.approx(1.0 - (1.0 - a) ** k)


def test_alpha_beta_converges_to_a_constant_velocity() -> None:
    spec = EstimatorSpec("alpha_beta", 0.05, alpha=0.5, beta=0.2)
    estimator = spec.build()
    for k in range(200):
        velocity = estimator.update(math.remainder(1.5 * 0.05 * k, 2 * math.pi))
    assert velocity == pytest.approx(1.5, rel=1e-6)


def test_estimates_are_clipped_and_reset_forgets() -> None:
    estimator = default_estimator(0.05, limit_rad_s=8.0).build()
    estimator.update(0.0)
    assert estimator.update(1.0) == 8.0
    estimator.reset()
    assert estimator.update(2.0) == 0.0


def test_observer_replaces_only_the_velocity() -> None:
    observer = EstimatingObserver(default_estimator(0.1))
    observer(JointState(0.0, math.nan, 0.0))
    state = observer(JointState(0.05, math.nan, 0.1, status=0))
    assert (state.angle_rad, state.timestamp_s) == (0.05, 0.1)
    assert state.velocity_rad_s == pytest.approx(0.5)


def test_spec_round_trips_and_bad_specs_are_refused() -> None:
    spec = EstimatorSpec("alpha_beta", 0.02, alpha=0.4, beta=0.1)
    assert EstimatorSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(ConfigError, match="unknown velocity estimator"):
        EstimatorSpec("kalman", 0.05)
    with pytest.raises(ConfigError, match="period_s"):
        EstimatorSpec("finite_difference", 0.0)
    with pytest.raises(ConfigError, match="alpha-beta"):
        EstimatorSpec("alpha_beta", 0.05)
    with pytest.raises(ConfigError, match="invalid velocity estimator"):
        EstimatorSpec.from_dict({"kind": "finite_difference", "period_s": 0.05, "gain": 1})
