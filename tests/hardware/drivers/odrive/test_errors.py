"""Error flags decoded to the firmware's names (values of firmware 0.5.6's enums.py)."""

from __future__ import annotations

from hardware.drivers.odrive.errors import (
    AxisError,
    MotorError,
    describe_errors,
    error_properties,
    flag_names,
)


def test_flags_are_named_and_unknown_bits_kept_in_hex() -> None:
    assert flag_names(0x840, AxisError) == "MOTOR_FAILED+WATCHDOG_TIMER_EXPIRED"
    assert flag_names(0x800000000, MotorError) == "UNBALANCED_PHASES"
    assert flag_names(0x4 | 0x2, MotorError) == "PHASE_INDUCTANCE_OUT_OF_RANGE+0x4"
    assert flag_names(0, AxisError) == "NONE"


def test_errors_are_read_from_every_component_of_the_chosen_axis_and_the_board() -> None:
    paths = [path for path, _ in error_properties(1)]
    assert paths == [
        "axis1.error",
        "axis1.motor.error",
        "axis1.encoder.error",
        "axis1.controller.error",
        "error",
    ]
    values = {"axis1.error": 0x40, "axis1.motor.error": 0x1000000, "error": 0x4}
    assert describe_errors(1, values) == (
        "axis1.error=MOTOR_FAILED axis1.motor.error=SYSTEM_LEVEL odrv.error=DC_BUS_OVER_VOLTAGE"
    )
    assert describe_errors(0, {}) == "no error flags set"
