"""The device side of the ODrive ASCII protocol as a pure state machine: the emulator's firmware.

:class:`OdriveDevice` models one axis of an ODrive v3.x on firmware 0.5.6 as far as a torque
controller needs: the ``c``, ``f``, ``u``, ``r``, ``w``, ``i`` and ``s*`` commands with the
firmware's replies (none for ``c``, ``u`` and a successful ``w``), the properties listed in
:attr:`OdriveDevice.properties`, the axis state machine (IDLE and CLOSED_LOOP_CONTROL; the
motor and encoder come up calibrated), the axis watchdog (``config.watchdog_timeout`` and
``config.enable_watchdog``: when enabled and not fed in time it latches
WATCHDOG_TIMER_EXPIRED, in any state, and the axis falls to IDLE), error flags that latch until
``sc`` or a write of 0, and the torque limit ``min(motor.config.torque_lim,
motor.config.current_lim * motor.config.torque_constant)``.

Torque reaches the physics only in CLOSED_LOOP_CONTROL with control_mode TORQUE_CONTROL. The
position, velocity and trajectory commands (``p``, ``q``, ``v``, ``t``) are answered as the
firmware answers them but leave the emulated motor at zero torque: only torque control is
emulated. Empty lines are skipped (the firmware answers them with ``unknown command``).

Positions are the physics angle (0 upright, counter-clockwise positive) in continuous turns,
velocities in turns/s. No I/O; time comes only from the ``now_s`` arguments.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

from ddpg_control.runtime.contracts import Plant
from ddpg_control.runtime.validation import require_positive
from hardware.drivers.odrive.ascii import READ_REPLY_MAX_CHARS
from hardware.drivers.odrive.errors import (
    AxisError,
    AxisState,
    ControllerError,
    ControlMode,
    EncoderError,
    MotorError,
    OdriveError,
)
from hardware.multi_turn import MultiTurn

log = logging.getLogger(__name__)

FIRMWARE_VERSION = (0, 5, 6)
HARDWARE_VERSION = (3, 6, 24)


@dataclass(frozen=True, slots=True)
class OdriveDeviceConfig:
    """The emulated ODrive's motor: torque constant (N*m/A, 8.27 / Kv) and current limit (A)."""

    torque_constant_nm_per_a: float = 0.04
    current_lim_a: float = 50.0
    vbus_voltage_v: float = 24.0
    firmware_version: tuple[int, int, int] = FIRMWARE_VERSION

    def __post_init__(self) -> None:
        require_positive("torque constant", self.torque_constant_nm_per_a)
        require_positive("current limit", self.current_lim_a)
        require_positive("bus voltage", self.vbus_voltage_v)


@dataclass(frozen=True, slots=True)
class Fault:
    """An error the emulator can inject: the axis flag and the component's flag under it."""

    axis_error: AxisError
    component: str  # "motor", "encoder", "controller" or "axis" (none below the axis)
    component_error: int
    board_error: OdriveError = OdriveError(0)  # the board's own ``error``


#: Injectable errors by name (``emulate --driver odrive --fault NAME``).
FAULTS = {
    "drv-fault": Fault(AxisError.MOTOR_FAILED, "motor", MotorError.DRV_FAULT),
    "encoder-no-response": Fault(AxisError.ENCODER_FAILED, "encoder", EncoderError.NO_RESPONSE),
    "overspeed": Fault(AxisError.CONTROLLER_FAILED, "controller", ControllerError.OVERSPEED),
    # the board disarms every axis with motor.error=SYSTEM_LEVEL (ODrive::disarm_with_error)
    "dc-bus-over-voltage": Fault(
        AxisError.MOTOR_FAILED, "motor", MotorError.SYSTEM_LEVEL, OdriveError.DC_BUS_OVER_VOLTAGE
    ),
}


class _Property:
    def __init__(
        self, kind: type, get: Callable[[], object], put: Callable[[object], None] | None = None
    ) -> None:
        self.kind = kind
        self.get = get
        self.put = put


class OdriveDevice:
    """One ODrive axis (``axis0``) answering ASCII protocol commands over a physics plant."""

    AXIS_COUNT = 1

    def __init__(self, physics: Plant, config: OdriveDeviceConfig, start_s: float) -> None:
        self.config = config
        self._physics = physics
        self.state = AxisState.IDLE
        self.errors = {"board": 0, "axis": 0, "motor": 0, "encoder": 0, "controller": 0}
        self.control_mode = int(ControlMode.POSITION_CONTROL)  # the firmware's default
        self.input_torque_nm = 0.0
        self.input_pos_turns = 0.0  # stored only: position control is not emulated
        self.watchdog_timeout_s = 0.0
        self.enable_watchdog = False
        self.torque_constant = config.torque_constant_nm_per_a
        self.current_lim_a = config.current_lim_a
        self.torque_lim_nm = math.inf
        self.applied_torque_nm = 0.0
        self.closed_loop_at_s: float | None = None  # first entry, for fault schedules
        self.ignore_feeds = False  # fault injection: watchdog feeds are lost
        self._last_feed_s = start_s
        self._now_s = start_s
        self._multi_turn = MultiTurn()
        # what tests and the exit summary look at
        self.requests = 0
        self.torque_commands = 0
        self.last_torque_command_nm: float | None = None
        self.watchdog_trips = 0
        self.properties = self._property_table()

    # -- time ----------------------------------------------------------------------------------

    def tick(self, now_s: float) -> None:
        """Advance the physics to now and run the watchdog; call every millisecond or so."""
        self._advance(now_s)
        expired = now_s - self._last_feed_s > self.watchdog_timeout_s
        tripped = self.errors["axis"] & AxisError.WATCHDOG_TIMER_EXPIRED
        if self.enable_watchdog and expired and not tripped:
            self.watchdog_trips += 1
            log.warning(
                "watchdog: not fed for %.0f ms; WATCHDOG_TIMER_EXPIRED, axis IDLE",
                (now_s - self._last_feed_s) * 1000,
            )
            self.raise_error(Fault(AxisError.WATCHDOG_TIMER_EXPIRED, "axis", 0))
        self._update_torque()

    def _advance(self, now_s: float) -> None:
        self._now_s = now_s
        self._physics.read()

    def raise_error(self, fault: Fault) -> None:
        """Latch an error and disarm, as the firmware's checks do."""
        self.errors["axis"] |= fault.axis_error
        if fault.component != "axis":
            self.errors[fault.component] |= fault.component_error
        self.errors["board"] |= fault.board_error
        self._enter(AxisState.IDLE)

    def _enter(self, state: AxisState) -> None:
        if state == AxisState.CLOSED_LOOP_CONTROL and self.closed_loop_at_s is None:
            self.closed_loop_at_s = self._now_s
        self.state = state
        self._update_torque()

    def torque_limit_nm(self) -> float:
        return min(self.torque_lim_nm, self.current_lim_a * self.torque_constant)

    def _update_torque(self) -> None:
        torque = 0.0
        closed = self.state == AxisState.CLOSED_LOOP_CONTROL
        if closed and self.control_mode == ControlMode.TORQUE_CONTROL:
            limit = self.torque_limit_nm()
            torque = min(limit, max(-limit, self.input_torque_nm))
        if torque != self.applied_torque_nm:
            self.applied_torque_nm = torque
        self._physics.apply(torque)

    def _feed(self) -> None:
        if not self.ignore_feeds:
            self._last_feed_s = self._now_s

    # -- requests ------------------------------------------------------------------------------

    def handle(self, command: str, now_s: float) -> list[str]:
        """Process one request line (checksum already checked and stripped); return the reply
        lines (none for most set commands).

        The watchdog is not checked here but by the next :meth:`tick`, after every line that
        arrived with this one: an emulator process the machine kept waiting must not trip its
        watchdog on feeds that were sent in time and sat in the pty's buffer.
        """
        self.requests += 1
        self._advance(now_s)
        if not command:
            return []
        handler = {
            "c": self._torque,
            "f": self._feedback,
            "u": self._watchdog_feed,
            "r": self._read,
            "w": self._write,
            "s": self._system,
            "i": self._info,
            "p": self._other_mode,
            "q": self._other_mode,
            "v": self._other_mode,
            "t": self._other_mode,
        }.get(command[0])
        if handler is None:
            return ["unknown command"]
        replies = handler(command)
        self._update_torque()
        return replies

    def _axis_args(self, command: str, count: int) -> tuple[int, list[float]] | str:
        """``X axis a b ...``: the axis and up to ``count`` numbers, or the firmware's error."""
        fields = command[1:].split()
        try:
            axis = int(fields[0])
            values = [float(v) for v in fields[1 : 1 + count]]
        except (IndexError, ValueError):
            return "invalid command format"
        if axis < 0 or axis >= self.AXIS_COUNT:
            return f"invalid motor {axis}"
        return axis, values

    def _torque(self, command: str) -> list[str]:
        parsed = self._axis_args(command, 1)
        if isinstance(parsed, str) or not parsed[1]:
            return [parsed if isinstance(parsed, str) else "invalid command format"]
        torque = parsed[1][0]
        self.torque_commands += 1
        self.last_torque_command_nm = torque
        self.control_mode = int(ControlMode.TORQUE_CONTROL)
        self.input_torque_nm = torque if math.isfinite(torque) else 0.0
        self._feed()
        return []

    def _other_mode(self, command: str) -> list[str]:
        parsed = self._axis_args(command, 3)
        if isinstance(parsed, str) or not parsed[1]:
            return [parsed if isinstance(parsed, str) else "invalid command format"]
        modes = {"v": ControlMode.VELOCITY_CONTROL}
        self.control_mode = int(modes.get(command[0], ControlMode.POSITION_CONTROL))
        self._feed()
        return []

    def _feedback(self, command: str) -> list[str]:
        parsed = self._axis_args(command, 0)
        if isinstance(parsed, str):
            return [parsed]
        pos, vel = self.encoder_estimates()
        return [f"{pos:f} {vel:f}"]

    def _watchdog_feed(self, command: str) -> list[str]:
        parsed = self._axis_args(command, 0)
        if isinstance(parsed, str):
            return [parsed]
        self._feed()
        return []

    def _lookup(self, command: str) -> tuple[_Property, list[str]] | str:
        """``r``/``w`` PATH ...: the property at PATH and the fields, or the firmware's error."""
        fields = command.split()
        if len(fields) < 2:
            return "invalid command format"
        prop = self.properties.get(fields[1])
        return "invalid property" if prop is None else (prop, fields)

    def _read(self, command: str) -> list[str]:
        found = self._lookup(command)
        if isinstance(found, str):
            return [found]
        prop, _ = found
        value = prop.get()
        if prop.kind is float:
            text = f"{value:f}"
        elif prop.kind is bool:
            text = "1" if value else "0"
        else:
            text = str(int(value))  # type: ignore[call-overload]
        return [text[:READ_REPLY_MAX_CHARS]]

    def _write(self, command: str) -> list[str]:
        found = self._lookup(command)
        if isinstance(found, str):
            return [found]
        prop, fields = found
        if prop.put is None or len(fields) < 3:
            return ["not implemented"]
        try:
            value: object = float(fields[2]) if prop.kind is float else int(fields[2], 0)
        except ValueError:
            return ["not implemented"]
        prop.put(bool(value) if prop.kind is bool else value)
        return []

    def _system(self, command: str) -> list[str]:
        if command[1:2] == "c":
            self.clear_errors()
        elif command[1:2] == "r":
            self._enter(AxisState.IDLE)
        return []

    def _info(self, command: str) -> list[str]:
        return [
            "Hardware version: {}.{}-{}V".format(*HARDWARE_VERSION),
            "Firmware version: {}.{}.{}".format(*self.config.firmware_version),
            "Serial number: 3E8A0000EMUL",
        ]

    def clear_errors(self) -> None:
        for name in self.errors:
            self.errors[name] = 0
        self._feed()

    def _request_state(self, value: object) -> None:
        assert isinstance(value, int)
        if value == AxisState.CLOSED_LOOP_CONTROL:
            if any(self.errors.values()):
                self.errors["axis"] |= AxisError.INVALID_STATE  # the motor refuses to arm
                self._enter(AxisState.IDLE)
                return
            self._last_feed_s = self._now_s  # entering closed loop feeds the watchdog
            self._enter(AxisState.CLOSED_LOOP_CONTROL)
        elif value in (AxisState.IDLE, AxisState.UNDEFINED):
            self._enter(AxisState.IDLE)
        else:  # calibration and other sequences: already calibrated, done at once
            self._enter(AxisState.IDLE)

    def encoder_estimates(self) -> tuple[float, float]:
        """``pos_estimate`` (turns, continuous) and ``vel_estimate`` (turns/s) of the physics."""
        joint = self._physics.read()
        angle_rad = self._multi_turn.unwrap(joint.angle_rad)
        return angle_rad / (2.0 * math.pi), joint.velocity_rad_s / (2.0 * math.pi)

    def _attribute(self, kind: type, name: str) -> _Property:
        """A property that reads and writes this object's attribute ``name``."""

        def put(value: object) -> None:
            setattr(self, name, value)

        return _Property(kind, lambda: getattr(self, name), put)

    def _get_error(self, component: str) -> Callable[[], object]:
        return lambda: self.errors[component]

    def _set_error(self, component: str) -> Callable[[object], None]:
        def put(value: object) -> None:
            assert isinstance(value, int)
            self.errors[component] = value

        return put

    def _property_table(self) -> dict[str, _Property]:
        cfg = self.config
        table = {
            "vbus_voltage": _Property(float, lambda: cfg.vbus_voltage_v),
            "fw_version_major": _Property(int, lambda: cfg.firmware_version[0]),
            "fw_version_minor": _Property(int, lambda: cfg.firmware_version[1]),
            "fw_version_revision": _Property(int, lambda: cfg.firmware_version[2]),
            "hw_version_major": _Property(int, lambda: HARDWARE_VERSION[0]),
            "hw_version_minor": _Property(int, lambda: HARDWARE_VERSION[1]),
            "axis0.current_state": _Property(int, lambda: self.state),
            "axis0.requested_state": _Property(int, lambda: 0, self._request_state),
            "axis0.config.watchdog_timeout": self._attribute(float, "watchdog_timeout_s"),
            "axis0.config.enable_watchdog": self._attribute(bool, "enable_watchdog"),
            "axis0.controller.config.control_mode": self._attribute(int, "control_mode"),
            "axis0.controller.input_pos": self._attribute(float, "input_pos_turns"),
            "axis0.controller.input_torque": self._attribute(float, "input_torque_nm"),
            "axis0.motor.config.torque_constant": self._attribute(float, "torque_constant"),
            "axis0.motor.config.current_lim": self._attribute(float, "current_lim_a"),
            "axis0.motor.config.torque_lim": self._attribute(float, "torque_lim_nm"),
            "axis0.motor.is_calibrated": _Property(bool, lambda: True),
            "axis0.encoder.is_ready": _Property(bool, lambda: True),
            "axis0.encoder.pos_estimate": _Property(float, lambda: self.encoder_estimates()[0]),
            "axis0.encoder.vel_estimate": _Property(float, lambda: self.encoder_estimates()[1]),
            "axis0.motor.current_control.Iq_setpoint": _Property(
                float, lambda: self.applied_torque_nm / self.torque_constant
            ),
        }
        for component in ("board", "axis", "motor", "encoder", "controller"):
            path = {"board": "error", "axis": "axis0.error"}.get(
                component, f"axis0.{component}.error"
            )
            table[path] = _Property(int, self._get_error(component), self._set_error(component))
        return table
