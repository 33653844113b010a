"""SimPlant: the pendulum behind the Plant contract, driven in virtual time."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

import sim  # noqa: F401  (registers the env)
from ddpg_control.runtime.contracts import Plant, make_observation
from ddpg_control.runtime.errors import ConfigError, PlantError
from sim.params import PendulumParams, preset
from sim.plant import SimPlant


class VirtualClock:
    """A clock whose sleep jumps time forward, as the control-loop tests use."""

    def __init__(self, start_s: float = 100.0) -> None:
        self.t = start_s

    def now(self) -> float:
        return self.t

    def sleep_until(self, deadline_s: float) -> None:
        self.t = max(self.t, deadline_s)


def test_sim_plant_satisfies_the_plant_protocol() -> None:
    with SimPlant(clock=VirtualClock()) as plant:
        assert isinstance(plant, Plant)
        assert plant.max_torque_nm == 2.0


def test_plant_in_virtual_time_matches_the_env_step_for_step() -> None:
    """A loop reading every period and applying a torque is the env's step, exactly."""
    env = gym.make("PyBulletPendulum-v0")
    env.reset(options={"state": (2.5, -0.3)})
    clock = VirtualClock()
    rng = np.random.default_rng(7)
    period = env.unwrapped.dt
    with SimPlant(clock=clock, start_angle_rad=2.5, start_velocity_rad_s=-0.3) as plant:
        start = clock.now()
        for k in range(100):
            clock.sleep_until(start + k * period)
            reading = plant.read()
            torque = float(rng.uniform(-2.0, 2.0))
            plant.apply(torque)
            obs, *_ = env.step(np.array([torque], dtype=np.float32))
            if k + 1 < 100:
                clock.sleep_until(start + (k + 1) * period)
                after = plant.read()
                expected = make_observation(after.angle_rad, after.velocity_rad_s)
                np.testing.assert_allclose(obs, expected, atol=1e-6)
                assert after.timestamp_s == pytest.approx(start + (k + 1) * period)
        assert reading.status == 0
    env.close()


def test_read_holds_the_last_torque_between_reads() -> None:
    clock = VirtualClock(0.0)
    params = preset("default").with_changes(gravity_m_s2=0.0)
    with SimPlant(params, clock=clock, start_angle_rad=0.0) as plant:
        plant.apply(1.0)
        clock.sleep_until(1.0)  # 20 physics steps of 0.05 s with 1 N*m held
        state = plant.read()
        # theta_ddot = 3 u / (m l^2) = 3 rad/s^2, so after 1 s the velocity is 3 rad/s.
        assert state.velocity_rad_s == pytest.approx(3.0, abs=1e-5)
        assert state.timestamp_s == pytest.approx(1.0)
        plant.stop()
        clock.sleep_until(2.0)
        assert plant.read().velocity_rad_s == pytest.approx(3.0, abs=1e-5)


def test_reads_at_jittered_times_see_the_state_at_that_moment() -> None:
    """With a real clock reads fall between physics steps; the plant lands on them exactly."""
    clock = VirtualClock(0.0)
    params = preset("default").with_changes(gravity_m_s2=0.0)  # 50 ms physics steps
    rng = np.random.default_rng(0)
    with SimPlant(params, clock=clock, start_angle_rad=0.0) as plant:
        plant.apply(0.5)
        for k in range(1, 40):
            clock.sleep_until(0.05 * k + 0.049 * rng.uniform())  # any phase, up to a step late
            state = plant.read()
            # Constant 1.5 rad/s^2 from t = 0: the velocity says exactly how long it ran.
            assert state.velocity_rad_s == pytest.approx(1.5 * clock.now(), abs=1e-9)
            assert state.timestamp_s == pytest.approx(clock.now(), abs=1e-12)


def test_torque_is_clipped_and_every_applied_torque_recorded() -> None:
    clock = VirtualClock()
    plant = SimPlant(clock=clock)
    plant.apply(5.0)
    plant.apply(-0.5)
    plant.apply(-9.0)
    plant.close()
    assert plant.applied_torques_nm == (2.0, -0.5, -2.0, 0.0)
    plant.close()  # idempotent
    assert plant.applied_torques_nm[-1] == 0.0


def test_non_finite_torque_is_refused_and_leaves_zero_torque() -> None:
    with SimPlant(clock=VirtualClock()) as plant:
        plant.apply(1.0)
        with pytest.raises(PlantError, match="non-finite"):
            plant.apply(math.nan)
        assert plant.torque_nm == 0.0
        assert plant.applied_torques_nm == (1.0, 0.0)


def test_closed_plant_says_so() -> None:
    plant = SimPlant(clock=VirtualClock())
    plant.close()
    with pytest.raises(PlantError, match="closed"):
        plant.read()
    with pytest.raises(PlantError, match="closed"):
        plant.apply(0.0)
    plant.stop()  # still safe


def test_sensor_noise_is_seeded_and_latency_delays_the_torque() -> None:
    params = PendulumParams(
        gravity_m_s2=0.0,
        physics_substeps=50,
        angle_noise_std_rad=0.01,
        action_latency_s=0.01,
    )

    def run(seed: int) -> list[float]:
        clock = VirtualClock(0.0)
        with SimPlant(params, clock=clock, start_angle_rad=0.0, seed=seed) as plant:
            plant.apply(1.0)
            clock.sleep_until(0.009)
            early = plant.read().velocity_rad_s
            clock.sleep_until(0.02)
            late = plant.true_state()[1]
            plant.read()
            return [early, late] + [plant.read().angle_rad for _ in range(3)]

    first, again, other = run(1), run(1), run(2)
    assert first == again
    assert first != other
    assert first[0] == 0.0  # the torque has not arrived yet after 9 ms of 10 ms latency
    assert first[1] == pytest.approx(3.0 * 0.01, abs=1e-9)  # then 10 ms of 3 rad/s^2


def test_bad_construction_raises_config_errors() -> None:
    with pytest.raises(ConfigError, match="finite"):
        SimPlant(clock=VirtualClock(), start_angle_rad=math.inf)
    with pytest.raises(ConfigError, match="PendulumParams"):
        SimPlant({"mass_kg": 1.0}, clock=VirtualClock())  # type: ignore[arg-type]


def test_torque_record_is_bounded_and_keeps_the_latest() -> None:
    with SimPlant(clock=VirtualClock(), record_limit=3) as plant:
        for torque in (0.1, 0.2, 0.3, 0.4):
            plant.apply(torque)
        assert plant.applied_torques_nm == (0.2, 0.3, 0.4)
