"""The control claim: the default-trained, exported policy swings the PyBullet pendulum up from
hanging down and holds it within 0.1 rad of upright for the last 5 s of a 15 s run, in at least
19 of 20 runs with randomised start states. Run in virtual time (the real loop, the real
onnxruntime policy, the real PyBullet plant; only the clock is simulated), so it takes seconds.
The same holds on the realistic preset (1 kHz physics, friction and stiction, damping, motor lag,
torque and sensor noise, latency, a 12-bit encoder read late and no velocity reported: the
policy sees the velocity estimator it was trained with) for a policy trained there with domain
randomisation.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from ddpg_control.pipeline.controllers import estimator_for, observer_for
from ddpg_control.runtime.control_loop import ExitReason, LoopConfig, run_loop
from ddpg_control.runtime.telemetry import HOLD_WINDOW_S, UPRIGHT_TOLERANCE_RAD
from ddpg_control.runtime.timing import SimulatedClock
from export.runtime import OnnxPolicy
from sim.params import PendulumParams, preset
from sim.plant import SimPlant

RUNS = 20
REQUIRED = 19
DURATION_S = 15.0


def swing_up_successes(policy: OnnxPolicy, params: PendulumParams, seed: int) -> list[bool]:
    """Run ``RUNS`` episodes from randomised hanging-down starts; True where it held upright."""
    rng = np.random.default_rng(seed)
    estimator = estimator_for(policy, params.reports_velocity, params.control_period_s)
    held = []
    for run in range(RUNS):
        start_angle = math.pi + rng.uniform(-0.5, 0.5)
        start_velocity = rng.uniform(-1.0, 1.0)
        clock = SimulatedClock()
        plant = SimPlant(
            params,
            clock=clock,
            start_angle_rad=start_angle,
            start_velocity_rad_s=start_velocity,
            seed=seed * 1000 + run,
        )
        config = LoopConfig(period_s=policy.control_period_s, duration_s=DURATION_S)
        # the velocity estimator the policy was trained with, as `run` applies it
        result = run_loop(plant, policy, clock, config, observer=observer_for(estimator))
        assert result.reason is ExitReason.COMPLETED, result.message
        assert plant.applied_torques_nm[-1] == 0.0
        summary = result.summary()
        assert summary.ticks == round(DURATION_S / policy.control_period_s)
        t = result.telemetry["time_s"]
        last = result.telemetry["angle_rad"][t >= t[-1] - HOLD_WINDOW_S]
        assert summary.holding_upright == bool(np.all(np.abs(last) < UPRIGHT_TOLERANCE_RAD))
        held.append(summary.holding_upright)
    return held


def test_default_policy_swings_up_and_holds_in_19_of_20_runs(exported_policy: Path) -> None:
    policy = OnnxPolicy.load(exported_policy)
    held = swing_up_successes(policy, preset("default"), seed=1)
    assert sum(held) >= REQUIRED, f"held upright in {sum(held)} of {RUNS} runs"


@pytest.mark.slow
def test_randomized_policy_holds_on_realistic_preset_in_19_of_20_runs(
    randomized_realistic_policy: Path,
) -> None:
    policy = OnnxPolicy.load(randomized_realistic_policy)
    held = swing_up_successes(policy, preset("realistic"), seed=1)
    assert sum(held) >= REQUIRED, f"held upright in {sum(held)} of {RUNS} runs"
