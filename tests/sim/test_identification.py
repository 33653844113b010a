"""Identification against recordings of a known rig, made by the real loop on the real PyBullet
plant in virtual time; and every kind of bad recording refused with what to record instead."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ddpg_control.runtime.control_loop import LoopConfig, run_loop
from ddpg_control.runtime.excitation import Excitation, ExcitationConfig
from ddpg_control.runtime.timing import SimulatedClock
from sim.identification import (
    FITTED_FIELDS,
    Anchor,
    IdentificationError,
    Recording,
    identify,
    recording_from_columns,
)
from sim.params import PendulumParams
from sim.params_file import with_fine_physics
from sim.plant import SimPlant

#: Differs from the default by 20-50 % in every fitted field; latency is 4 physics steps.
RIG = with_fine_physics(
    PendulumParams(
        mass_kg=1.3,
        length_m=0.7,
        joint_damping_nm_s_rad=0.03,
        joint_friction_nm=0.07,
        torque_scale=0.8,
        torque_offset_nm=0.03,
        action_latency_s=0.004,
    )
)
BASE = with_fine_physics(PendulumParams())
PERIOD_S = 0.02


def record(params: PendulumParams, duration_s: float = 20.0, torque_nm: float = 1.5) -> dict:
    clock = SimulatedClock()
    plant = SimPlant(params, clock=clock, seed=3)
    excitation = Excitation(
        ExcitationConfig(duration_s=duration_s, period_s=PERIOD_S, torque_nm=torque_nm), 2.0
    )
    config = LoopConfig(period_s=PERIOD_S, duration_s=duration_s, warm_up_calls=0)
    result = run_loop(plant, excitation, clock, config)
    assert result.telemetry is not None and result.reason.value == "completed"
    return {name: result.telemetry[name].copy() for name in result.telemetry.columns}


@pytest.fixture(scope="module")
def rig_columns() -> dict:
    return record(RIG)


@pytest.fixture(scope="module")
def rig_recording(rig_columns: dict) -> Recording:
    return recording_from_columns("rig.csv", rig_columns)


def relative_errors(params: PendulumParams) -> dict[str, float]:
    return {
        name: abs(getattr(params, name) / getattr(RIG, name) - 1.0)
        for name in FITTED_FIELDS
        if name != "action_latency_s"
    }


def test_prediction_error_recovers_every_parameter_of_a_noise_free_rig(
    rig_recording: Recording,
) -> None:
    result = identify([rig_recording], base=BASE, anchor=Anchor(10.0, mass_kg=RIG.mass_kg))
    errors = relative_errors(result.params)
    assert max(errors.values()) < 0.01, errors
    assert abs(result.params.action_latency_s - RIG.action_latency_s) < RIG.physics_dt_s / 4
    assert result.fit.explained > 0.999
    # The pivot inertia and gravity torque the model is fitted in, too.
    inertia, _ = result.derived["pivot_inertia_kg_m2"]
    assert inertia == pytest.approx(RIG.pivot_inertia_kg_m2, rel=0.01)


def test_prediction_error_beats_filtered_derivatives_on_the_same_data(
    rig_recording: Recording,
) -> None:
    anchor = Anchor(10.0, mass_kg=RIG.mass_kg)
    ours = identify([rig_recording], base=BASE, anchor=anchor, horizon=10)
    theirs = identify([rig_recording], base=BASE, anchor=anchor, method="filtered-derivatives")
    ours_worst = max(relative_errors(ours.params).values())
    theirs_worst = max(relative_errors(theirs.params).values())
    assert ours_worst < theirs_worst / 3, (ours_worst, theirs_worst)


def test_without_a_mass_the_torque_scale_is_assumed_and_the_ratios_still_hold(
    rig_recording: Recording,
) -> None:
    result = identify([rig_recording], base=BASE, anchor=Anchor(10.0), horizon=10)
    p = result.params
    assert p.torque_scale == 1.0
    assert p.length_m == pytest.approx(RIG.length_m, rel=0.01)
    # Everything is scaled by 1 / 0.8 (a heavier pendulum with a true motor moves the same).
    assert p.mass_kg == pytest.approx(RIG.mass_kg / RIG.torque_scale, rel=0.01)
    assert p.joint_friction_nm == pytest.approx(RIG.joint_friction_nm / RIG.torque_scale, rel=0.02)


def with_changes(columns: dict, **changes: np.ndarray) -> dict:
    out = {k: v.copy() for k, v in columns.items()}
    out.update(changes)
    return out


def test_pure_noise_is_refused_not_fitted(rig_columns: dict) -> None:
    rng = np.random.default_rng(0)
    n = len(rig_columns["time_s"])
    noise = with_changes(
        rig_columns,
        angle_rad=math.pi + rng.normal(0.0, 0.3, n),
        velocity_rad_s=rng.normal(0.0, 1.0, n),
    )
    with pytest.raises(IdentificationError, match="not a pendulum answering its torque"):
        identify([recording_from_columns("noise.csv", noise)], base=BASE, anchor=Anchor(10.0))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("missing", "missing column"),
        ("short", "at least"),
        ("few_rows", "rows"),
        ("nan", "non-finite"),
        ("time_back", "does not increase"),
        ("flat", "hardly varies"),
        ("saturated", "saturated"),
        ("still", "barely moved"),
    ],
)
def test_bad_recordings_say_what_to_record_instead(
    rig_columns: dict, change: str, message: str
) -> None:
    c = rig_columns
    n = len(c["time_s"])
    if change == "missing":
        bad = {k: v for k, v in c.items() if k != "torque_sent_nm"}
    elif change == "short":
        bad = {k: v[:200] for k, v in c.items()}  # 4 s
    elif change == "few_rows":
        bad = {k: v[:50] for k, v in c.items()}
    elif change == "nan":
        velocity = c["velocity_rad_s"].copy()
        velocity[123] = np.nan
        bad = with_changes(c, velocity_rad_s=velocity)
    elif change == "time_back":
        t = c["time_s"].copy()
        t[500:] -= 5.0
        bad = with_changes(c, time_s=t)
    elif change == "flat":
        bad = with_changes(c, torque_cmd_nm=np.full(n, 0.2), torque_sent_nm=np.full(n, 0.2))
    elif change == "saturated":
        bad = with_changes(c, torque_sent_nm=np.clip(c["torque_cmd_nm"], -0.5, 0.5))
    else:  # still: the pendulum never moves (motor off), only sensor noise
        rng = np.random.default_rng(1)
        bad = with_changes(
            c,
            angle_rad=math.pi - 1e-3 + rng.normal(0.0, 1e-3, n),
            velocity_rad_s=rng.normal(0.0, 1e-3, n),
        )
    with pytest.raises(IdentificationError, match=message) as exc:
        recording_from_columns("bad.csv", bad)
    text = str(exc.value)
    assert "\n" not in text
    assert "record" in text or "pass each run" in text
