"""moteus' register map, as far as this driver and its emulator use it (docs/protocol/registers.md
in github.com/mjbots/moteus): register numbers, modes, fault codes and the integer scalings.

The plant speaks through the vendor's ``moteus`` package and needs none of this; the emulator
is the device side and takes its facts from here, never from the vendor's code.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass


class Reg(enum.IntEnum):
    MODE = 0x000
    POSITION = 0x001
    VELOCITY = 0x002
    TORQUE = 0x003
    VOLTAGE = 0x00D
    TEMPERATURE = 0x00E
    FAULT = 0x00F
    COMMAND_POSITION = 0x020
    COMMAND_VELOCITY = 0x021
    COMMAND_FEEDFORWARD_TORQUE = 0x022
    COMMAND_KP_SCALE = 0x023
    COMMAND_KD_SCALE = 0x024
    COMMAND_MAX_TORQUE = 0x025
    COMMAND_STOP_POSITION = 0x026
    COMMAND_TIMEOUT = 0x027
    COMMAND_VELOCITY_LIMIT = 0x028
    COMMAND_ACCEL_LIMIT = 0x029


class Mode(enum.IntEnum):
    STOPPED = 0
    FAULT = 1
    POSITION = 10
    TIMEOUT = 11


#: Every mode's name (0x000), for messages: a moteus' mode is what the user sees in tview.
MODE_NAMES = {
    0: "stopped",
    1: "fault",
    2: "preparing",
    3: "preparing",
    4: "preparing",
    5: "pwm",
    6: "voltage",
    7: "voltage foc",
    8: "voltage dq",
    9: "current",
    10: "position",
    11: "timeout",
    12: "zero velocity",
    13: "stay within",
    14: "measure inductance",
    15: "brake",
}

#: Fault codes (0x00f) reported with mode 1, and what to check.
FAULT_NAMES = {
    32: "calibration fault",
    33: "motor driver fault",
    34: "over voltage",
    35: "encoder fault",
    36: "motor not configured",
    37: "pwm cycle overrun",
    38: "over temperature",
    39: "outside limit",
    40: "under voltage",
    41: "config changed",
    42: "theta invalid",
    43: "position invalid",
    44: "driver enable fault",
    45: "stop position deprecated",
    46: "timing violation",
    47: "bemf feedforward no accel",
    48: "invalid limits",
    49: "position control error",
    50: "velocity control error",
}

#: Codes >= 96 in 0x00f during a healthy mode: what is limiting the output, not a fault.
LIMIT_NAMES = {
    96: "servo.max_velocity",
    97: "servo.max_power_W",
    98: "the maximum system voltage",
    99: "servo.max_current_A",
    100: "servo.fault_temperature",
    101: "servo.motor_fault_temperature",
    102: "the commanded maximum torque",
    103: "servopos.position_min/max",
}

LIMITED_BY_MAX_CURRENT = 99
LIMITED_BY_COMMANDED_MAX_TORQUE = 102


def describe_mode(mode: int) -> str:
    return f"mode {mode} ({MODE_NAMES.get(mode, 'unknown')})"


def describe_fault(code: int) -> str:
    name = FAULT_NAMES.get(code) or LIMIT_NAMES.get(code)
    return f"fault code {code} ({name})" if name else f"fault code {code}"


@dataclass(frozen=True, slots=True)
class Scaling:
    """Physical units per LSB when a register is read or written as int8, int16, int32."""

    int8: float
    int16: float
    int32: float

    def per_lsb(self, width: int) -> float:
        return (self.int8, self.int16, self.int32)[width]


INTEGER = Scaling(1.0, 1.0, 1.0)
POSITION_REV = Scaling(0.01, 0.0001, 0.00001)
VELOCITY_REV_S = Scaling(0.1, 0.00025, 0.00001)
TORQUE_NM = Scaling(0.5, 0.01, 0.001)
VOLTAGE_V = Scaling(0.5, 0.1, 0.001)
TEMPERATURE_C = Scaling(1.0, 0.1, 0.001)
TIME_S = Scaling(0.01, 0.001, 0.000001)
ACCEL_REV_S2 = Scaling(0.05, 0.001, 0.00001)
UNITLESS = Scaling(1.0 / 127.0, 1.0 / 32767.0, 1.0 / 2147483647.0)

SCALING: dict[int, Scaling] = {
    Reg.MODE: INTEGER,
    Reg.POSITION: POSITION_REV,
    Reg.VELOCITY: VELOCITY_REV_S,
    Reg.TORQUE: TORQUE_NM,
    Reg.VOLTAGE: VOLTAGE_V,
    Reg.TEMPERATURE: TEMPERATURE_C,
    Reg.FAULT: INTEGER,
    Reg.COMMAND_POSITION: POSITION_REV,
    Reg.COMMAND_VELOCITY: VELOCITY_REV_S,
    Reg.COMMAND_FEEDFORWARD_TORQUE: TORQUE_NM,
    Reg.COMMAND_KP_SCALE: UNITLESS,
    Reg.COMMAND_KD_SCALE: UNITLESS,
    Reg.COMMAND_MAX_TORQUE: TORQUE_NM,
    Reg.COMMAND_STOP_POSITION: POSITION_REV,
    Reg.COMMAND_TIMEOUT: TIME_S,
    Reg.COMMAND_VELOCITY_LIMIT: VELOCITY_REV_S,
    Reg.COMMAND_ACCEL_LIMIT: ACCEL_REV_S2,
}

#: Registers a host may write; the rest of SCALING are read only.
WRITABLE = frozenset(
    {Reg.MODE} | {r for r in Reg if Reg.COMMAND_POSITION <= r <= Reg.COMMAND_ACCEL_LIMIT}
)


def is_nan_marker(raw: int, width: int) -> bool:
    """The most negative integer of a width stands for NaN ("unset" / "use the default")."""
    return raw == -(1 << (8 * (1, 2, 4)[width] - 1))


def nan_marker(width: int) -> int:
    return -(1 << (8 * (1, 2, 4)[width] - 1))


def to_raw(value: float, width: int, scaling: Scaling) -> int:
    """A physical value as the integer of ``width`` (0 int8, 1 int16, 2 int32), saturated."""
    if not math.isfinite(value):
        return nan_marker(width)
    top = (1 << (8 * (1, 2, 4)[width] - 1)) - 1
    return max(-top, min(top, round(value / scaling.per_lsb(width))))
