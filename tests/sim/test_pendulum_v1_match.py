"""With the default preset, PyBulletPendulum-v0 is Pendulum-v1 computed by PyBullet."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pybullet
import pytest

import sim  # noqa: F401  (registers the env)
from sim.bullet_pendulum import PendulumBody
from sim.params import PendulumParams

TOLERANCE_RAD = 1e-6


def torque_sequence(seed: int, steps: int = 200) -> list[np.ndarray]:
    """Large random torques (some beyond the limit, to exercise clipping)."""
    rng = np.random.default_rng(seed)
    return [np.array([rng.uniform(-3.0, 3.0)], dtype=np.float32) for _ in range(steps)]


def pumping_torque(velocity_rad_s: float) -> np.ndarray:
    """Push along the motion: drives the pendulum into the 8 rad/s velocity limit."""
    return np.array([2.0 if velocity_rad_s >= 0.0 else -2.0], dtype=np.float32)


@pytest.mark.parametrize("seed", range(8))
def test_angle_and_reward_track_pendulum_v1_for_a_whole_episode(seed: int) -> None:
    reference = gym.make("Pendulum-v1")
    env = gym.make("PyBulletPendulum-v0")
    ref_obs, _ = reference.reset(seed=seed)
    obs, _ = env.reset(seed=seed)  # same seed, same start state
    np.testing.assert_array_equal(obs, ref_obs)
    actions = torque_sequence(seed)
    worst_rad, fastest_rad_s, truncated = 0.0, 0.0, False
    for k in range(200):
        action = actions[k] if seed % 2 else pumping_torque(reference.unwrapped.state[1])
        ref_obs, ref_reward, _, _, _ = reference.step(action)
        obs, reward, terminated, truncated, _ = env.step(action)
        assert not terminated
        ref_angle, ref_velocity = reference.unwrapped.state
        angle, velocity = env.unwrapped.state
        worst_rad = max(worst_rad, abs(angle - ref_angle))
        fastest_rad_s = max(fastest_rad_s, abs(ref_velocity))
        assert velocity == pytest.approx(ref_velocity, abs=1e-6)
        assert reward == pytest.approx(ref_reward, abs=1e-6)
        np.testing.assert_allclose(obs, ref_obs, atol=1e-6)
    assert truncated  # TimeLimit(200), as Pendulum-v1
    assert worst_rad < TOLERANCE_RAD
    if seed % 2 == 0:
        assert fastest_rad_s == 8.0  # the velocity clip was exercised
    env.close()


def run_body_against_pendulum_v1(body: PendulumBody, seed: int) -> float:
    """Largest angle difference between ``body`` and Pendulum-v1 over 200 steps."""
    reference = gym.make("Pendulum-v1").unwrapped
    reference.reset(seed=seed)
    body.reset_state(*(float(v) for v in reference.state))
    worst = 0.0
    for action in torque_sequence(seed):
        reference.step(action)
        body.advance(float(np.clip(action, -2.0, 2.0)[0]), 1)
        worst = max(worst, abs(body.state()[0] - reference.state[0]))
    body.close()
    return worst


def test_pybullet_defaults_left_on_break_the_match() -> None:
    """Why the body switches PyBullet's velocity motor and link damping off."""
    params = PendulumParams()
    assert run_body_against_pendulum_v1(PendulumBody(params), seed=3) < TOLERANCE_RAD
    assert run_body_against_pendulum_v1(PendulumBody(params, bullet_defaults=True), 3) > 0.1

    # Each default on its own is enough to break it.
    damped = PendulumBody(params)
    pybullet.changeDynamics(
        damped.body_id,
        0,
        linearDamping=0.04,
        angularDamping=0.04,
        physicsClientId=damped.client_id,
    )
    assert run_body_against_pendulum_v1(damped, seed=3) > 1e-3

    braked = PendulumBody(params)
    pybullet.setJointMotorControl2(
        braked.body_id,
        0,
        pybullet.VELOCITY_CONTROL,
        targetVelocity=0.0,
        force=0.5,
        physicsClientId=braked.client_id,
    )
    assert run_body_against_pendulum_v1(braked, seed=3) > 1e-3
