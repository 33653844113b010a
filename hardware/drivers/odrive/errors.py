"""ODrive firmware 0.5.x error flags and axis states, and their names for error messages.

Values as firmware 0.5.6 defines them (Firmware/odrive-interface.yaml, ODrive v3.x). Firmware
0.6 (ODrive Pro, S1, Micro) replaced the per-component errors by ``axis0.active_errors`` and
``axis0.disarm_reason`` with other values; this table is for 0.5 only, and
:class:`~hardware.drivers.odrive.plant.OdrivePlant` refuses any other firmware.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag


class AxisState(IntEnum):
    UNDEFINED = 0
    IDLE = 1
    STARTUP_SEQUENCE = 2
    FULL_CALIBRATION_SEQUENCE = 3
    MOTOR_CALIBRATION = 4
    ENCODER_INDEX_SEARCH = 6
    ENCODER_OFFSET_CALIBRATION = 7
    CLOSED_LOOP_CONTROL = 8
    LOCKIN_SPIN = 9
    ENCODER_DIR_FIND = 10
    HOMING = 11
    ENCODER_HALL_POLARITY_CALIBRATION = 12
    ENCODER_HALL_PHASE_CALIBRATION = 13


class ControlMode(IntEnum):
    VOLTAGE_CONTROL = 0
    TORQUE_CONTROL = 1
    VELOCITY_CONTROL = 2
    POSITION_CONTROL = 3


class OdriveError(IntFlag):
    """The board's own ``error`` (DC bus, brake resistor); it disarms every axis with
    ``motor.error=SYSTEM_LEVEL``."""

    CONTROL_ITERATION_MISSED = 0x1
    DC_BUS_UNDER_VOLTAGE = 0x2
    DC_BUS_OVER_VOLTAGE = 0x4
    DC_BUS_OVER_REGEN_CURRENT = 0x8
    DC_BUS_OVER_CURRENT = 0x10
    BRAKE_DEADTIME_VIOLATION = 0x20
    BRAKE_DUTY_CYCLE_NAN = 0x40
    INVALID_BRAKE_RESISTANCE = 0x80


class AxisError(IntFlag):
    INVALID_STATE = 0x1
    MOTOR_FAILED = 0x40
    SENSORLESS_ESTIMATOR_FAILED = 0x80
    ENCODER_FAILED = 0x100
    CONTROLLER_FAILED = 0x200
    WATCHDOG_TIMER_EXPIRED = 0x800
    MIN_ENDSTOP_PRESSED = 0x1000
    MAX_ENDSTOP_PRESSED = 0x2000
    ESTOP_REQUESTED = 0x4000
    HOMING_WITHOUT_ENDSTOP = 0x20000
    OVER_TEMP = 0x40000
    UNKNOWN_POSITION = 0x80000


class MotorError(IntFlag):
    PHASE_RESISTANCE_OUT_OF_RANGE = 0x1
    PHASE_INDUCTANCE_OUT_OF_RANGE = 0x2
    DRV_FAULT = 0x8
    CONTROL_DEADLINE_MISSED = 0x10
    MODULATION_MAGNITUDE = 0x80
    CURRENT_SENSE_SATURATION = 0x400
    CURRENT_LIMIT_VIOLATION = 0x1000
    MODULATION_IS_NAN = 0x10000
    MOTOR_THERMISTOR_OVER_TEMP = 0x20000
    FET_THERMISTOR_OVER_TEMP = 0x40000
    TIMER_UPDATE_MISSED = 0x80000
    CURRENT_MEASUREMENT_UNAVAILABLE = 0x100000
    CONTROLLER_FAILED = 0x200000
    I_BUS_OUT_OF_RANGE = 0x400000
    BRAKE_RESISTOR_DISARMED = 0x800000
    SYSTEM_LEVEL = 0x1000000
    BAD_TIMING = 0x2000000
    UNKNOWN_PHASE_ESTIMATE = 0x4000000
    UNKNOWN_PHASE_VEL = 0x8000000
    UNKNOWN_TORQUE = 0x10000000
    UNKNOWN_CURRENT_COMMAND = 0x20000000
    UNKNOWN_CURRENT_MEASUREMENT = 0x40000000
    UNKNOWN_VBUS_VOLTAGE = 0x80000000
    UNKNOWN_VOLTAGE_COMMAND = 0x100000000
    UNKNOWN_GAINS = 0x200000000
    CONTROLLER_INITIALIZING = 0x400000000
    UNBALANCED_PHASES = 0x800000000


class EncoderError(IntFlag):
    UNSTABLE_GAIN = 0x1
    CPR_POLEPAIRS_MISMATCH = 0x2
    NO_RESPONSE = 0x4
    UNSUPPORTED_ENCODER_MODE = 0x8
    ILLEGAL_HALL_STATE = 0x10
    INDEX_NOT_FOUND_YET = 0x20
    ABS_SPI_TIMEOUT = 0x40
    ABS_SPI_COM_FAIL = 0x80
    ABS_SPI_NOT_READY = 0x100
    HALL_NOT_CALIBRATED_YET = 0x200


class ControllerError(IntFlag):
    OVERSPEED = 0x1
    INVALID_INPUT_MODE = 0x2
    UNSTABLE_GAIN = 0x4
    INVALID_MIRROR_AXIS = 0x8
    INVALID_LOAD_ENCODER = 0x10
    INVALID_ESTIMATE = 0x20
    INVALID_CIRCULAR_RANGE = 0x40
    SPINOUT_DETECTED = 0x80


#: The error property of each component under ``axisN.``, with its flags, in report order.
AXIS_ERROR_PROPERTIES: tuple[tuple[str, type[IntFlag]], ...] = (
    ("error", AxisError),
    ("motor.error", MotorError),
    ("encoder.error", EncoderError),
    ("controller.error", ControllerError),
)


def error_properties(axis: int) -> tuple[tuple[str, type[IntFlag]], ...]:
    """Every error property to read for ``axis`` (full ASCII property paths) with its flags:
    the axis's own, its motor's, encoder's and controller's, then the board's ``error``."""
    under_axis = tuple((f"axis{axis}.{name}", flags) for name, flags in AXIS_ERROR_PROPERTIES)
    return (*under_axis, ("error", OdriveError))


def flag_names(value: int, flags: type[IntFlag]) -> str:
    """``value`` as ``NAME+NAME`` (unknown bits as hex), e.g. ``MOTOR_FAILED+WATCHDOG_...``."""
    names = [member.name for member in flags if member.name and value & member.value]
    unknown = value & ~sum(member.value for member in flags)
    if unknown:
        names.append(f"{unknown:#x}")
    return "+".join(names) if names else "NONE"


def describe_errors(axis: int, values: dict[str, int]) -> str:
    """One line naming every error set, e.g. ``axis0.error=MOTOR_FAILED axis0.motor.error=...``.

    ``values`` maps the property paths of :func:`error_properties` to what the device read; the
    board's own ``error`` is shown as ``odrv.error``.
    """
    parts = []
    for path, flags in error_properties(axis):
        value = values.get(path, 0)
        if value:
            label = "odrv.error" if path == "error" else path
            parts.append(f"{label}={flag_names(value, flags)}")
    return " ".join(parts) if parts else "no error flags set"


def state_name(value: int) -> str:
    try:
        return AxisState(value).name
    except ValueError:
        return f"state {value}"
