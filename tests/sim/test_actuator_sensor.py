"""Each actuator and sensor model against its closed form, alone and inside the simulator."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ddpg_control.runtime.timing import SimulatedClock
from sim.actuator import MotorResponse, Pushes, lag_gain, noisy_torque
from sim.bullet_pendulum import PendulumBody
from sim.params import PendulumParams, SimConfigError
from sim.pendulum_env import PyBulletPendulumEnv
from sim.plant import SimPlant
from sim.sensor import DelayLine, measure, quantize_angle


def test_motor_lag_step_response_is_one_minus_exp_at_every_step() -> None:
    params = PendulumParams(physics_substeps=50, motor_time_constant_s=0.005)
    motor = MotorResponse(params)
    dt = params.physics_dt_s
    for k in range(1, 41):
        produced = motor.step(1.5)
        assert produced == pytest.approx(1.5 * (1.0 - math.exp(-k * dt / 0.005)), rel=1e-12)


def test_motor_lag_off_passes_the_command_through_exactly() -> None:
    motor = MotorResponse(PendulumParams())
    assert lag_gain(0.0, 0.05) == 1.0
    assert [motor.step(u) for u in (0.3, -1.7, 2.0)] == [0.3, -1.7, 2.0]


def test_motor_lag_inside_the_simulator_matches_the_closed_form_velocity() -> None:
    # No gravity, no friction: the velocity is the integral of the produced torque / inertia.
    tau, dt, steps = 0.01, 0.001, 50
    params = PendulumParams(
        gravity_m_s2=0.0, physics_substeps=steps, motor_time_constant_s=tau, max_velocity_rad_s=50.0
    )
    body = PendulumBody(params)
    try:
        body.reset_state(0.0, 0.0)
        body.advance(1.0, steps)
        produced = [1.0 - math.exp(-k * dt / tau) for k in range(1, steps + 1)]
        expected = sum(produced) * dt / params.pivot_inertia_kg_m2
        assert body.state()[1] == pytest.approx(expected, rel=1e-5)
    finally:
        body.close()


def test_quantisation_rounds_to_the_nearest_count() -> None:
    counts = 4096
    step = 2 * math.pi / counts
    rng = np.random.default_rng(0)
    for angle in rng.uniform(-10, 10, 1000):
        read = quantize_angle(float(angle), counts)
        assert abs(read - angle) <= step / 2 + 1e-12
        assert read / step == pytest.approx(round(read / step), abs=1e-9)
    assert quantize_angle(3 * step + 0.49 * step, counts) == pytest.approx(3 * step)
    assert quantize_angle(0.1234, 0) == 0.1234


def test_delay_line_returns_the_state_exactly_n_pushes_earlier() -> None:
    line = DelayLine(3)
    line.reset(0.0, 0.0)
    seen = []
    for k in range(1, 10):
        line.push(float(k), -float(k))
        seen.append(line.delayed())
    assert seen[:3] == [(0.0, 0.0)] * 3
    assert seen[3:] == [(float(k - 3), -float(k - 3)) for k in range(4, 10)]


@pytest.mark.parametrize("delay_periods", [1, 3])
def test_env_observes_the_angle_exactly_n_control_steps_late(delay_periods: int) -> None:
    params = PendulumParams(measurement_delay_s=delay_periods * 0.05)
    env = PyBulletPendulumEnv(params=params)
    rng = np.random.default_rng(1)
    try:
        env.reset(seed=0)
        true_angles, seen = [env.state[0]], []
        for _ in range(30):
            obs, *_ = env.step(rng.uniform(-2, 2, 1).astype(np.float32))
            true_angles.append(env.state[0])
            seen.append(math.atan2(float(obs[1]), float(obs[0])))
        for k, angle in enumerate(seen, start=1):
            expected = true_angles[max(0, k - delay_periods)]
            assert math.remainder(angle - expected, 2 * math.pi) == pytest.approx(0.0, abs=1e-6)
    finally:
        env.close()


def test_plant_without_velocity_reports_nan_and_counts_only() -> None:
    params = PendulumParams(encoder_counts_per_rev=1024, reports_velocity=False)
    plant = SimPlant(params, clock=SimulatedClock(), start_angle_rad=2.0)
    try:
        reading = plant.read()
        assert math.isnan(reading.velocity_rad_s)
        count = 2 * math.pi / 1024
        assert reading.angle_rad / count == pytest.approx(round(reading.angle_rad / count))
    finally:
        plant.close()


def test_measure_adds_noise_only_when_on() -> None:
    rng = np.random.default_rng(0)
    assert measure(0.5, 1.0, PendulumParams(), rng) == (0.5, 1.0)
    noisy = PendulumParams(angle_noise_std_rad=0.01, velocity_noise_std_rad_s=0.1)
    samples = np.array([measure(0.5, 1.0, noisy, rng) for _ in range(4000)])
    assert samples.std(axis=0) == pytest.approx([0.01, 0.1], rel=0.1)


def test_stiction_holds_until_breakaway_then_coulomb_friction_brakes() -> None:
    # No gravity: the only torques are the motor's and friction.
    params = PendulumParams(
        gravity_m_s2=0.0, physics_substeps=50, joint_friction_nm=0.1, stiction_nm=0.3
    )
    body = PendulumBody(params)
    try:
        body.reset_state(0.0, 0.0)
        body.advance(0.25, 50)  # above Coulomb friction, below stiction: stays put
        assert abs(body.state()[1]) < 1e-9
        body.advance(0.35, 50)  # breaks away; then accelerates at (0.35 - 0.1) / I
        velocity_1 = body.state()[1]
        body.advance(0.35, 50)
        gained = body.state()[1] - velocity_1
        assert gained == pytest.approx(0.25 * 0.05 / params.pivot_inertia_kg_m2, rel=0.02)
    finally:
        body.close()


def test_torque_noise_is_drawn_per_command_and_a_stop_stays_zero() -> None:
    params = PendulumParams(torque_noise_std_nm=0.05)
    rng = np.random.default_rng(0)
    samples = np.array([noisy_torque(1.0, params, rng) for _ in range(4000)])
    assert samples.mean() == pytest.approx(1.0, abs=0.005)
    assert samples.std() == pytest.approx(0.05, rel=0.1)
    assert noisy_torque(0.0, params, rng) == 0.0
    assert noisy_torque(1.0, PendulumParams(), rng) == 1.0


def test_pushes_come_at_the_given_rate_with_the_given_torque_and_length() -> None:
    params = PendulumParams(
        physics_substeps=50, push_rate_hz=2.0, push_torque_nm=0.7, push_duration_s=0.01
    )
    pushes = Pushes(params)
    rng = np.random.default_rng(0)
    torques = np.array([pushes.step(rng) for _ in range(200_000)])  # 200 s of 1 ms steps
    assert set(np.round(np.abs(torques), 12)) == {0.0, 0.7}
    assert pushes.count == pytest.approx(2.0 * 200 * (1 - 2.0 * 0.01), rel=0.15)
    assert np.count_nonzero(torques) == pushes.count * 10
    assert Pushes(PendulumParams()).step(rng) == 0.0


def test_model_parameters_are_validated() -> None:
    with pytest.raises(SimConfigError, match="encoder_counts_per_rev"):
        PendulumParams(encoder_counts_per_rev=-1)
    with pytest.raises(SimConfigError, match="reports_velocity"):
        PendulumParams(reports_velocity=1)  # type: ignore[arg-type]
    with pytest.raises(SimConfigError, match="motor_time_constant_s"):
        PendulumParams(motor_time_constant_s=-0.1)
