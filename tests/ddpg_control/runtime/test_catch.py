"""The LQR catch: its verified region, its hysteresis, and the loop with it on the simulator (in
virtual time): inside the region the LQR holds, outside it the policy acts, and the safety
layer still clips what either asks."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from ddpg_control.runtime.catch import (
    CatchRegion,
    CatchTelemetry,
    LqrCatch,
    _closed_loop_holds,
    catch_record_path,
    level_set_states,
    rig_model,
)
from ddpg_control.runtime.classical import PendulumModel
from ddpg_control.runtime.contracts import Observation, make_observation
from ddpg_control.runtime.control_loop import LoopConfig, run_loop
from ddpg_control.runtime.errors import ConfigError
from ddpg_control.runtime.safety import SafetyLimits
from ddpg_control.runtime.telemetry import TelemetryRecorder
from ddpg_control.runtime.timing import SimulatedClock
from sim.params import PendulumParams
from sim.plant import SimPlant

PERIOD_S = 0.05
MODEL = PendulumModel(
    mass_kg=1.0, length_m=1.0, gravity_m_s2=10.0, max_torque_nm=2.0, period_s=PERIOD_S
)


@pytest.fixture(scope="module")
def region() -> CatchRegion:
    return LqrCatch(lambda _: 0.0, MODEL).region


def _pushing(_: Observation) -> float:
    """A policy that would tip the pendulum over: full torque one way."""
    return 2.0


def _never(_: Observation) -> float:
    raise AssertionError("the policy was asked inside the catch region")


def _run(
    record_path: Path,
    catch: LqrCatch,
    angle_rad: float,
    velocity_rad_s: float = 0.0,
    seconds: float = 8.0,
    limits: SafetyLimits | None = None,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The loop on the nominal simulator from this state: its telemetry, and the record of
    which controller acted each tick (1 = LQR), also written to ``record_path``."""
    clock = SimulatedClock()
    plant = SimPlant(
        PendulumParams(),
        clock=clock,
        start_angle_rad=angle_rad,
        start_velocity_rad_s=velocity_rad_s,
    )
    recorder = TelemetryRecorder()
    sink = CatchTelemetry(recorder, catch, record_path)
    config = LoopConfig(
        period_s=PERIOD_S, duration_s=seconds, limits=limits or SafetyLimits(), warm_up_calls=0
    )
    run_loop(plant, catch, clock, config, telemetry=sink)
    return recorder.freeze().columns, np.frombuffer(bytes(sink._acted), dtype=np.uint8)


def test_the_verified_level_is_the_edge_of_what_the_clipped_lqr_holds(
    region: CatchRegion,
) -> None:
    from ddpg_control.runtime.classical import upright_lqr

    gain, p = upright_lqr(MODEL)
    level = region.leave_level
    assert region.enter_level == pytest.approx(level / 2)
    assert _closed_loop_holds(MODEL, gain, p, level_set_states(p, level), level)
    assert not _closed_loop_holds(MODEL, gain, p, level_set_states(p, 1.5 * level), 1.5 * level)
    # at rest, the LQR takes over within a quarter radian of upright: its torque limit (2 N*m
    # against gravity's 5 N*m horizontal) allows no more than asin(0.4) = 0.41 rad
    at_rest_rad = math.sqrt(region.enter_level / p[0, 0])
    assert 0.2 < at_rest_rad < math.asin(0.4)


def test_from_states_inside_the_region_the_lqr_holds_the_simulated_rig_within_0_02_rad(
    region: CatchRegion,
    tmp_path: Path,
) -> None:
    """States drawn inside the entry level, on PyBullet's pendulum (not the verification's own
    integrator): the policy is never asked and the pendulum settles within 0.02 rad."""
    rng = np.random.default_rng(0)
    root = np.linalg.inv(np.linalg.cholesky(region.p).T)
    for _ in range(4):
        direction = rng.normal(size=2)
        z = direction / np.linalg.norm(direction) * math.sqrt(region.enter_level * rng.uniform())
        angle, velocity = root @ z
        catch = LqrCatch(_never, MODEL, region=region)
        columns, acted = _run(tmp_path / "c.csv", catch, float(angle), float(velocity), seconds=4.0)
        assert acted.all() and catch.handovers == 1
        settled = columns["time_s"] >= 2.0
        assert np.abs(columns["angle_rad"][settled]).max() < 0.02


def test_the_lqr_holds_within_0_02_rad_against_a_policy_that_would_tip_it_over(
    region: CatchRegion,
    tmp_path: Path,
) -> None:
    catch = LqrCatch(_pushing, MODEL, region=region)
    columns, acted = _run(tmp_path / "c.csv", catch, 0.01)
    assert acted.all()
    assert np.abs(columns["angle_rad"]).max() < 0.02


def test_outside_the_region_the_policy_acts(region: CatchRegion, tmp_path: Path) -> None:
    catch = LqrCatch(lambda _: 0.0, MODEL, region=region)  # hanging down, left alone
    columns, acted = _run(tmp_path / "c.csv", catch, math.pi, seconds=2.0)
    assert not acted.any() and catch.handovers == 0
    assert np.all(columns["torque_cmd_nm"] == 0.0)


def test_hysteresis_takes_over_below_the_entry_level_and_hands_back_only_above_the_verified(
    region: CatchRegion,
) -> None:
    catch = LqrCatch(lambda _: 0.5, MODEL, region=region)
    p00 = region.p[0, 0]
    between = math.sqrt(0.75 * region.leave_level / p00)  # at rest, between the two levels
    inside = math.sqrt(0.25 * region.leave_level / p00)
    outside = math.sqrt(1.1 * region.leave_level / p00)
    assert catch(make_observation(between, 0.0)) == 0.5  # the policy keeps it
    assert catch(make_observation(inside, 0.0)) != 0.5 and catch.lqr_active
    assert catch(make_observation(between, 0.0)) != 0.5 and catch.lqr_active  # the LQR keeps it
    assert catch(make_observation(outside, 0.0)) == 0.5 and not catch.lqr_active
    assert catch.handovers == 2


def test_the_safety_layer_still_clips_what_the_lqr_asks(
    region: CatchRegion, tmp_path: Path
) -> None:
    """Pushed up from between the two levels by a policy clipped to the user's 1.5 N*m, the
    pendulum enters the region near its edge, where the LQR asks for its full 2 N*m: the user's
    limit holds on every tick, before and after the handover."""
    start = -math.sqrt(0.6 * region.leave_level / region.p[0, 0])  # at rest, between the levels
    catch = LqrCatch(_pushing, MODEL, region=region)
    columns, acted = _run(
        tmp_path / "c.csv", catch, start, seconds=3.0, limits=SafetyLimits(max_torque_nm=1.5)
    )
    assert not acted[0] and acted[-1]
    lqr_asked = np.abs(columns["torque_cmd_nm"][acted == 1])
    assert 1.5 < lqr_asked.max() <= MODEL.max_torque_nm  # the LQR asked for more ...
    assert np.abs(columns["torque_sent_nm"]).max() <= 1.5  # ... and nothing more went out
    assert abs(columns["angle_rad"][-1]) < 0.02


def test_the_record_beside_the_telemetry_says_which_controller_acted_each_tick(
    region: CatchRegion, tmp_path: Path
) -> None:
    catch = LqrCatch(lambda _: 0.0, MODEL, region=region)
    path = catch_record_path(tmp_path / "sim-1.csv")
    assert path.name == "sim-1.controller.csv"
    sink = CatchTelemetry(TelemetryRecorder(), catch, path)
    for tick, angle in enumerate([math.pi, 0.01, 0.01]):
        catch(make_observation(angle, 0.0))
        sink.record(tick * PERIOD_S, angle, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    sink.close()
    assert path.read_text() == "time_s,controller\n0,0\n0.05,1\n0.1,1\n"
    assert sink.describe() == ("catch: policy 1 ticks (33.3%), lqr 2 ticks (66.7%); 1 handovers")


def test_the_model_comes_from_either_way_a_rig_is_recorded() -> None:
    params = PendulumParams(mass_kg=1.5, joint_damping_nm_s_rad=0.1).to_dict()
    model = rig_model(params, 0.01)
    assert model is not None
    assert (model.mass_kg, model.damping_nm_s_rad, model.period_s) == (1.5, 0.1, 0.01)
    gym = {"dt": 0.05, "g": 9.81, "l": 1.0, "m": 1.0, "max_speed": 8.0, "max_torque": 2.0}
    model = rig_model(gym, 0.05)
    assert model is not None and model.gravity_m_s2 == 9.81
    assert rig_model({}, 0.05) is None
    assert rig_model({"m": 1.0, "l": 1.0, "g": True, "max_torque": 2.0}, 0.05) is None


def test_a_rig_its_lqr_cannot_hold_is_refused() -> None:
    weak = PendulumModel(
        mass_kg=1.0, length_m=1.0, gravity_m_s2=10.0, max_torque_nm=0.01, period_s=0.5
    )
    with pytest.raises(ConfigError, match="cannot help"):
        LqrCatch(lambda _: 0.0, weak)
    with pytest.raises(ConfigError, match="enter <= leave"):
        CatchRegion(np.eye(2), 2.0, 1.0)
