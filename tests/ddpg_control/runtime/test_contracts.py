import math

import numpy as np
import pytest

from ddpg_control.runtime.contracts import (
    DEFAULT_EPISODE_S,
    JointState,
    episode_steps,
    make_observation,
    wrap_angle,
)


def test_observation_is_cos_sin_velocity_float32() -> None:
    obs = make_observation(0.0, 1.5)
    assert obs.dtype == np.float32
    assert obs.shape == (3,)
    np.testing.assert_allclose(obs, [1.0, 0.0, 1.5])


def test_observation_hanging_down_and_counter_clockwise_quarter_turn() -> None:
    np.testing.assert_allclose(make_observation(math.pi, 0.0), [-1.0, 0.0, 0.0], atol=1e-7)
    np.testing.assert_allclose(make_observation(math.pi / 2, -2.0), [0.0, 1.0, -2.0], atol=1e-7)


@pytest.mark.parametrize(
    ("angle", "wrapped"),
    [(0.0, 0.0), (math.pi, -math.pi), (3 * math.pi / 2, -math.pi / 2), (-3 * math.pi, -math.pi)],
)
def test_wrap_angle_into_minus_pi_to_pi(angle: float, wrapped: float) -> None:
    assert wrap_angle(angle) == pytest.approx(wrapped)


def test_joint_state_is_immutable() -> None:
    state = JointState(angle_rad=0.1, velocity_rad_s=0.0, timestamp_s=0.0)
    with pytest.raises(AttributeError):
        state.angle_rad = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("episode_s", "period_s", "steps"),
    [(10.0, 0.05, 200), (10.0, 0.01, 1000), (10.0, 0.005, 2000), (10.0, 0.002, 5000),
     (2.5, 0.01, 250), (0.03, 0.05, 1)],
)  # fmt: skip
def test_an_episode_in_seconds_is_steps_at_the_control_period(
    episode_s: float, period_s: float, steps: int
) -> None:
    assert episode_steps(episode_s, period_s) == steps


def test_the_default_episode_is_pendulum_v1s_200_steps() -> None:
    assert episode_steps(DEFAULT_EPISODE_S, 0.05) == 200


@pytest.mark.parametrize(
    ("episode_s", "period_s", "message"),
    [(0.0, 0.05, "episode_s"), (-1.0, 0.05, "episode_s"), (math.inf, 0.05, "episode_s"),
     (10.0, 0.0, "period_s"), (0.02, 0.05, "shorter than one control period")],
)  # fmt: skip
def test_an_episode_that_is_no_step_is_refused(
    episode_s: float, period_s: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        episode_steps(episode_s, period_s)
