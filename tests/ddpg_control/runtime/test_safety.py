import math

import pytest

from ddpg_control.runtime.contracts import JointState
from ddpg_control.runtime.errors import ConfigError, SafetyStop
from ddpg_control.runtime.safety import SafetyLayer, SafetyLimits


class RecordingMotor:
    """The smallest plant: remembers every torque it was given."""

    max_torque_nm = 5.0

    def __init__(self) -> None:
        self.torques: list[float] = []

    def apply(self, torque_nm: float) -> None:
        self.torques.append(torque_nm)

    def stop(self) -> None:
        self.torques.append(0.0)


def layer(policy: float = 2.0, plant: float = 5.0, **limits: float) -> SafetyLayer:
    return SafetyLayer.for_loop(policy, plant, 0.01, SafetyLimits(**limits))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("policy", "plant", "user", "expected"),
    [(2.0, 5.0, None, 2.0), (2.0, 1.5, None, 1.5), (2.0, 5.0, 0.5, 0.5), (1.0, 3.0, 4.0, 1.0)],
)
def test_limit_is_the_smallest_of_policy_plant_and_user(
    policy: float, plant: float, user: float | None, expected: float
) -> None:
    safety = SafetyLayer.for_loop(policy, plant, 0.01, SafetyLimits(max_torque_nm=user))
    assert safety.torque_limit_nm == expected
    assert safety.filter(100.0) == expected
    assert safety.filter(-100.0) == -expected
    assert safety.filter(expected / 2) == expected / 2


def test_slew_limit_bounds_the_change_per_tick_and_stop_is_immediate() -> None:
    motor = RecordingMotor()
    safety = layer(slew_limit_nm_per_s=10.0)  # 0.1 N*m per 10 ms tick
    for _ in range(5):
        safety.apply(motor, 2.0)  # type: ignore[arg-type]
    assert motor.torques == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5])
    safety.stop(motor)  # type: ignore[arg-type]
    assert motor.torques[-1] == 0.0
    safety.apply(motor, -2.0)  # type: ignore[arg-type]
    assert motor.torques[-1] == pytest.approx(-0.1)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_torque_stops_and_reaches_no_plant(bad: float) -> None:
    motor = RecordingMotor()
    with pytest.raises(SafetyStop, match="non-finite torque"):
        layer().apply(motor, bad)  # type: ignore[arg-type]
    assert motor.torques == []


@pytest.mark.parametrize(
    ("angle", "velocity", "match"),
    [
        (math.nan, 0.0, "non-finite"),
        (0.0, math.inf, "non-finite"),
        (0.0, 25.0, "envelope"),
        (0.0, -25.0, "envelope"),
    ],
)
def test_bad_readings_stop(angle: float, velocity: float, match: str) -> None:
    with pytest.raises(SafetyStop, match=match):
        layer().check_state(JointState(angle, velocity, 0.0))


def test_readings_inside_the_envelope_pass() -> None:
    layer(max_velocity_rad_s=30.0).check_state(JointState(3.0, -29.9, 0.0))


@pytest.mark.parametrize(
    "limits",
    [
        {"max_torque_nm": 0.0},
        {"max_torque_nm": -1.0},
        {"max_torque_nm": math.nan},
        {"slew_limit_nm_per_s": 0.0},
        {"max_velocity_rad_s": math.inf},
    ],
)
def test_bad_limits_are_refused(limits: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        SafetyLimits(**limits)  # type: ignore[arg-type]


def test_bad_policy_or_plant_limit_is_refused() -> None:
    with pytest.raises(ConfigError, match="plant's torque limit"):
        SafetyLayer.for_loop(2.0, math.nan, 0.01, SafetyLimits())
    with pytest.raises(ConfigError, match="policy's torque limit"):
        SafetyLayer.for_loop(0.0, 2.0, 0.01, SafetyLimits())
