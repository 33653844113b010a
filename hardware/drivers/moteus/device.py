"""An emulated moteus as a pure state machine: the register protocol over a physics plant.

:class:`MoteusDevice` takes the data of a CAN-FD frame addressed to it and returns its reply
(or None when none was asked for). It does no I/O and reads time only from its ``now_s``
arguments. What it models, after docs/protocol/registers.md and
docs/troubleshooting/timeout-mode-11.md of github.com/mjbots/moteus:

* a frame that writes mode (0x000) starts a new command with every command register at its
  default; the registers after it in the frame fill it in;
* mode 0 (stopped) clears a fault or a timeout and leaves zero torque;
* mode 10 (position): torque = feedforward + kp_scale * kp * (position error) +
  kd_scale * kd * (velocity error), kd_scale at most kp_scale, clipped to the commanded maximum
  torque and the device's own (``servo.max_current_A``); a NaN position means "where it is";
* the watchdog: a position command is valid for its 0x027 watchdog timeout (0: the configured
  ``servo.default_timeout_s``, NaN: forever); then mode 11 (timeout), zero torque (a real
  moteus damps instead), until a stop;
* a fault (mode 1 and a code in 0x00f) leaves zero torque until a stop; only injected here.

Position is the multi-turn output angle in revolutions, 0 upright and positive
counter-clockwise, plus ``encoder_offset_rev`` (what calibration must find).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

from ddpg_control.runtime.contracts import Plant
from ddpg_control.runtime.errors import ConfigError
from hardware.drivers.moteus import multiplex as mp
from hardware.drivers.moteus.registers import (
    LIMITED_BY_COMMANDED_MAX_TORQUE,
    LIMITED_BY_MAX_CURRENT,
    SCALING,
    WRITABLE,
    Mode,
    Reg,
    describe_fault,
    is_nan_marker,
    to_raw,
)
from hardware.multi_turn import MultiTurn

log = logging.getLogger(__name__)

TWO_PI = 2.0 * math.pi


@dataclass(frozen=True, slots=True)
class MoteusDeviceConfig:
    """The emulated controller's configuration (what ``moteus_tool``/tview would set)."""

    can_id: int = 1
    max_torque_nm: float = 2.0  # servo.max_current_A times the torque constant
    default_timeout_s: float = 0.1  # servo.default_timeout_s
    kp_nm_per_rev: float = 4.0  # servo.pid_position.kp
    kd_nm_per_rev_s: float = 0.05  # servo.pid_position.kd
    encoder_offset_rev: float = 0.0
    voltage_v: float = 24.0
    temperature_c: float = 30.0

    def __post_init__(self) -> None:
        if not 1 <= self.can_id <= 126:
            raise ConfigError(f"moteus id must be 1..126, got {self.can_id}")
        if not (math.isfinite(self.max_torque_nm) and self.max_torque_nm > 0):
            raise ConfigError(f"moteus max torque must be > 0 N*m, got {self.max_torque_nm!r}")
        if not (math.isfinite(self.default_timeout_s) and self.default_timeout_s > 0):
            raise ConfigError(f"default timeout must be > 0 s, got {self.default_timeout_s!r}")


@dataclass(slots=True)
class PositionCommand:
    """The command registers 0x020.. as a position-mode frame leaves them (physical units)."""

    position_rev: float = 0.0
    velocity_rev_s: float = 0.0
    feedforward_torque_nm: float = 0.0
    kp_scale: float = 1.0
    kd_scale: float = 1.0
    max_torque_nm: float = math.nan
    timeout_s: float = 0.0
    extra: dict[int, float] = field(default_factory=dict)

    def set(self, register: int, value: float) -> None:
        names: dict[int, str] = {
            Reg.COMMAND_POSITION: "position_rev",
            Reg.COMMAND_VELOCITY: "velocity_rev_s",
            Reg.COMMAND_FEEDFORWARD_TORQUE: "feedforward_torque_nm",
            Reg.COMMAND_KP_SCALE: "kp_scale",
            Reg.COMMAND_KD_SCALE: "kd_scale",
            Reg.COMMAND_MAX_TORQUE: "max_torque_nm",
            Reg.COMMAND_TIMEOUT: "timeout_s",
        }
        if register in names:
            setattr(self, names[register], value)
        else:
            self.extra[register] = value

    def get(self, register: int) -> float:
        values: dict[int, float] = {
            Reg.COMMAND_POSITION: self.position_rev,
            Reg.COMMAND_VELOCITY: self.velocity_rev_s,
            Reg.COMMAND_FEEDFORWARD_TORQUE: self.feedforward_torque_nm,
            Reg.COMMAND_KP_SCALE: self.kp_scale,
            Reg.COMMAND_KD_SCALE: self.kd_scale,
            Reg.COMMAND_MAX_TORQUE: self.max_torque_nm,
            Reg.COMMAND_TIMEOUT: self.timeout_s,
        }
        return values.get(register, self.extra.get(register, math.nan))


def _decode(write: mp.Write) -> float:
    if write.width == mp.FLOAT:
        return float(write.raw)
    raw = int(write.raw)
    if is_nan_marker(raw, write.width):
        return math.nan
    return raw * SCALING[write.register].per_lsb(write.width)


class MoteusDevice:
    """One moteus on the bus: registers, modes, watchdog, over a physics plant."""

    def __init__(self, physics: Plant, config: MoteusDeviceConfig, start_s: float) -> None:
        self.config = config
        self._physics = physics
        self.mode = int(Mode.STOPPED)
        self.fault = 0
        self.command = PositionCommand()
        self.applied_torque_nm = 0.0
        self.position_rev = 0.0
        self.velocity_rev_s = 0.0
        #: Fault injection: the encoder stops counting (position and velocity freeze).
        self.encoder_frozen = False
        self._last_command_s = start_s
        self._multi_turn = MultiTurn()
        # what tests and the exit summary look at
        self.first_enabled_s: float | None = None
        self.frames = 0
        self.position_commands = 0
        self.stops = 0
        self.last_feedforward_torque_nm: float | None = None
        self.last_command = "none"  # "position" or "stop": what the host sent last
        self.watchdog_trips = 0

    # -- time ----------------------------------------------------------------------------------

    def tick(self, now_s: float) -> None:
        """Sample the physics, run the watchdog and the position loop; call every millisecond."""
        joint = self._physics.read()
        angle_rad = self._multi_turn.unwrap(joint.angle_rad)
        if self.encoder_frozen:
            self.velocity_rev_s = 0.0
        else:
            self.position_rev = angle_rad / TWO_PI + self.config.encoder_offset_rev
            self.velocity_rev_s = joint.velocity_rad_s / TWO_PI
        if self.mode == Mode.POSITION:
            timeout_s = self.command.timeout_s or self.config.default_timeout_s
            if math.isfinite(timeout_s) and now_s - self._last_command_s > timeout_s:
                self.watchdog_trips += 1
                log.warning(
                    "watchdog: no command for %.0f ms; mode 11 (timeout), zero torque",
                    (now_s - self._last_command_s) * 1000,
                )
                self.enter(Mode.TIMEOUT)
                return
            self._set_torque(self._position_loop())

    def _position_loop(self) -> float:
        cmd, cfg = self.command, self.config
        target = cmd.position_rev if math.isfinite(cmd.position_rev) else self.position_rev
        velocity = cmd.velocity_rev_s if math.isfinite(cmd.velocity_rev_s) else 0.0
        kp_scale = cmd.kp_scale if math.isfinite(cmd.kp_scale) else 1.0
        kd_scale = min(cmd.kd_scale if math.isfinite(cmd.kd_scale) else 1.0, kp_scale)
        feedforward = cmd.feedforward_torque_nm if math.isfinite(cmd.feedforward_torque_nm) else 0
        torque = (
            feedforward
            + kp_scale * cfg.kp_nm_per_rev * (target - self.position_rev)
            + kd_scale * cfg.kd_nm_per_rev_s * (velocity - self.velocity_rev_s)
        )
        limit, code = cfg.max_torque_nm, LIMITED_BY_MAX_CURRENT
        if math.isfinite(cmd.max_torque_nm) and abs(cmd.max_torque_nm) < limit:
            limit, code = abs(cmd.max_torque_nm), LIMITED_BY_COMMANDED_MAX_TORQUE
        clipped = max(-limit, min(limit, torque))
        self.fault = code if clipped != torque else 0
        return clipped

    def _set_torque(self, torque_nm: float) -> None:
        self.applied_torque_nm = torque_nm
        self._physics.apply(torque_nm)

    def enter(self, mode: Mode, fault: int = 0) -> None:
        """Leave every command behind: stopped, fault (with its code) or timeout; zero torque."""
        self.mode = int(mode)
        self.fault = fault
        self.command = PositionCommand()
        self._set_torque(0.0)
        if mode == Mode.FAULT:
            log.warning("fault injection: mode 1 (fault), %s", describe_fault(fault))

    # -- frames --------------------------------------------------------------------------------

    def handle(self, data: bytes, now_s: float) -> bytes:
        """Process one frame addressed to this device; return its reply (multiplex data)."""
        self.frames += 1
        self.tick(now_s)
        items = mp.parse_request(data)  # MultiplexError propagates: the frame is ignored
        errors: list[mp.RegisterError] = []
        new_command: PositionCommand | None = None
        new_mode: int | None = None
        reads: list[mp.Read] = []
        for item in items:
            if isinstance(item, mp.Read):
                reads.append(item)
                continue
            if item.register not in WRITABLE:
                known = item.register in SCALING
                code = mp.ERROR_NOT_WRITABLE if known else mp.ERROR_UNKNOWN_REGISTER
                errors.append(mp.RegisterError(item.register, code, on_write=True))
                continue
            value = _decode(item)
            if item.register == Reg.MODE:
                if value not in (Mode.STOPPED, Mode.POSITION):
                    errors.append(mp.RegisterError(0, mp.ERROR_NOT_WRITABLE, on_write=True))
                    continue
                new_mode, new_command = int(value), PositionCommand()
            elif new_command is not None:
                new_command.set(item.register, value)
            else:
                self.command.set(item.register, value)
        if new_mode is not None and new_command is not None:
            self._command(new_mode, new_command, now_s)
        values = [(read, self._read(read)) for read in reads if read.register in SCALING]
        errors += [
            mp.RegisterError(read.register, mp.ERROR_UNKNOWN_REGISTER, on_write=False)
            for read in reads
            if read.register not in SCALING
        ]
        return mp.encode_reply(values, errors)

    def _command(self, mode: int, command: PositionCommand, now_s: float) -> None:
        self.last_command = "stop" if mode == Mode.STOPPED else "position"
        if mode == Mode.STOPPED:
            self.stops += 1
            self.enter(Mode.STOPPED)
            return
        self.position_commands += 1
        self.last_feedforward_torque_nm = command.feedforward_torque_nm
        if self.mode in (Mode.FAULT, Mode.TIMEOUT):
            return  # only a stop leaves these
        if self.first_enabled_s is None:
            self.first_enabled_s = now_s
        self.mode = int(Mode.POSITION)
        self.command = command
        self._last_command_s = now_s
        self._set_torque(self._position_loop())

    def _read(self, read: mp.Read) -> int | float:
        register = read.register
        values: dict[int, float] = {
            Reg.MODE: float(self.mode),
            Reg.POSITION: self.position_rev,
            Reg.VELOCITY: self.velocity_rev_s,
            Reg.TORQUE: self.applied_torque_nm,
            Reg.VOLTAGE: self.config.voltage_v,
            Reg.TEMPERATURE: self.config.temperature_c,
            Reg.FAULT: float(self.fault),
        }
        value = values[register] if register in values else self.command.get(register)
        if read.width == mp.FLOAT:
            return value
        return to_raw(value, read.width, SCALING[register])
