"""The device side of hardware/PROTOCOL.md as a pure state machine: the emulator's firmware.

:class:`DdpgDevice` answers requests, enforces the torque limit and runs the watchdog over a
physics plant passed in (anything implementing ``ddpg_control.runtime.contracts.Plant``, e.g. the
simulator's real-time pendulum). It does no I/O and reads time only from the ``now_s`` arguments,
so it is tested without a port and ported to firmware line by line.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from ddpg_control.runtime.contracts import Plant
from ddpg_control.runtime.errors import ConfigError
from hardware.drivers.ddpg.protocol import (
    PROTOCOL_MINOR,
    PROTOCOL_VERSION,
    Arm,
    ClearFault,
    Disarm,
    Fault,
    Hello,
    HelloReply,
    Message,
    MessageType,
    Nack,
    NackCode,
    Query,
    RawFrame,
    State,
    Status,
    Torque,
)
from hardware.multi_turn import MultiTurn

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DdpgDeviceConfig:
    """What the virtual driver reports in HELLO and enforces."""

    max_torque_nm: float = 2.0
    counts_per_rev: int = 16384  # a 14-bit magnetic encoder (AS5047-class)
    watchdog_min_ms: int = 10
    watchdog_max_ms: int = 1000
    firmware_version: tuple[int, int, int] = (0, 1, 0)
    protocol_version: int = PROTOCOL_VERSION

    def __post_init__(self) -> None:
        if not (math.isfinite(self.max_torque_nm) and self.max_torque_nm > 0):
            raise ConfigError(f"device max torque must be > 0 N*m, got {self.max_torque_nm!r}")
        if self.counts_per_rev <= 0:
            raise ConfigError(f"counts per revolution must be > 0, got {self.counts_per_rev}")
        if not 0 < self.watchdog_min_ms <= self.watchdog_max_ms <= 0xFFFF:
            raise ConfigError(
                f"watchdog range {self.watchdog_min_ms}..{self.watchdog_max_ms} ms is invalid"
            )


class DdpgDevice:
    """A one-joint motor driver: protocol state machine, torque limit, watchdog."""

    def __init__(self, physics: Plant, config: DdpgDeviceConfig, start_s: float) -> None:
        self.config = config
        self._physics = physics
        self._start_s = start_s
        self.armed = False
        self.faults = 0
        self.torque_limited = False
        self.torque_limit_nm = 0.0
        self.watchdog_timeout_s = 0.0
        self.applied_torque_nm = 0.0
        self.armed_at_s: float | None = None  # first ARM, for fault injection schedules
        self._last_feed_s = start_s
        # what tests and the exit summary look at
        self.requests = 0
        self.torque_commands = 0
        self.last_torque_command_nm: float | None = None
        self.watchdog_trips = 0
        self._multi_turn = MultiTurn()
        self.frozen_sample: tuple[int, float] | None = None  # set to simulate a stuck sensor

    # -- time ----------------------------------------------------------------------------------

    def tick(self, now_s: float) -> None:
        """Advance the physics to now and run the watchdog; call every millisecond or so.

        The physics advances here, not only when a request samples it, so the pendulum moves
        while nobody asks and a request never waits for a long backlog of physics steps.
        """
        self._physics.read()
        self._watchdog(now_s)

    def _watchdog(self, now_s: float) -> None:
        # in whole microseconds, as a device's clock counts (and the C core compares)
        silent_us = round((now_s - self._last_feed_s) * 1e6)
        if self.armed and silent_us > round(self.watchdog_timeout_s * 1e6):
            self.watchdog_trips += 1
            log.warning(
                "watchdog: no TORQUE for %.0f ms; torque zero, fault latched",
                (now_s - self._last_feed_s) * 1000,
            )
            self._fault(Fault.WATCHDOG)

    def _fault(self, fault: Fault) -> None:
        self.faults |= fault
        self._disarm()

    def _disarm(self) -> None:
        self.armed = False
        self.torque_limited = False
        self._set_torque(0.0)

    def _set_torque(self, torque_nm: float) -> None:
        self.applied_torque_nm = torque_nm
        self._physics.apply(torque_nm)

    # -- requests ------------------------------------------------------------------------------

    def handle(self, message: Message | RawFrame, now_s: float) -> Message | None:
        """Process one request and return the reply (None: a frame of another version)."""
        self.requests += 1
        self._watchdog(now_s)  # the physics advances when the request applies or samples it
        if isinstance(message, RawFrame):
            return self._raw(message)
        if isinstance(message, Hello):
            return self.hello()
        if isinstance(message, Arm):
            nack = self._arm(message, now_s)
            if nack is not None:
                return nack
        elif isinstance(message, Torque):
            self.torque_commands += 1
            self.last_torque_command_nm = message.torque_nm
            self.torque_limited = False
            if not math.isfinite(message.torque_nm):  # zero, stays armed, watchdog not fed
                self._set_torque(0.0)
                return Nack(MessageType.TORQUE, NackCode.BAD_ARGUMENT)
            if self.armed:
                self._last_feed_s = now_s
                limit = self.torque_limit_nm
                clipped = min(limit, max(-limit, message.torque_nm))
                self.torque_limited = clipped != message.torque_nm
                self._set_torque(clipped)
            else:  # disarmed or faulted: zero, and the STATE without ARMED says so
                self._set_torque(0.0)
        elif isinstance(message, Disarm):
            self._disarm()
        elif isinstance(message, ClearFault):
            self.faults = 0
            self._disarm()
        elif not isinstance(message, Query):  # a device -> host type sent to the device
            return Nack(_type_code(message), NackCode.UNKNOWN_TYPE)
        return self.sample(now_s)

    def _raw(self, frame: RawFrame) -> Message | None:
        """A CRC-valid frame that is no message of ours (PROTOCOL.md section 2, step 4)."""
        if frame.version != self.config.protocol_version:
            if frame.message_type == MessageType.HELLO and not frame.payload:
                return self.hello()  # HELLO never changes: answered in any version
            return None
        if frame.message_type in _REQUESTS:  # a known request with a wrong payload length
            return Nack(frame.message_type, NackCode.BAD_ARGUMENT)
        return Nack(frame.message_type, NackCode.UNKNOWN_TYPE)

    def hello(self) -> HelloReply:
        cfg = self.config
        return HelloReply(
            cfg.protocol_version,
            PROTOCOL_MINOR,
            *cfg.firmware_version,
            cfg.max_torque_nm,
            cfg.counts_per_rev,
            cfg.watchdog_min_ms,
            cfg.watchdog_max_ms,
        )

    def _arm(self, message: Arm, now_s: float) -> Nack | None:
        cfg = self.config
        limit = message.torque_limit_nm
        valid = cfg.watchdog_min_ms <= message.watchdog_timeout_ms <= cfg.watchdog_max_ms and (
            math.isfinite(limit) and 0 < limit <= cfg.max_torque_nm * (1 + 1e-6)
        )
        if not valid:
            return Nack(MessageType.ARM, NackCode.BAD_ARGUMENT)
        if self.faults:
            return Nack(MessageType.ARM, NackCode.FAULTED)
        self.armed = True
        self.torque_limited = False
        self.torque_limit_nm = min(limit, cfg.max_torque_nm)
        self.watchdog_timeout_s = message.watchdog_timeout_ms / 1000.0
        self._last_feed_s = now_s
        if self.armed_at_s is None:
            self.armed_at_s = now_s
        self._set_torque(0.0)
        log.info("armed: watchdog %d ms, limit %.3f N*m", message.watchdog_timeout_ms, limit)
        return None

    def sample(self, now_s: float) -> State:
        """The STATE reply: the physics read now, in encoder counts."""
        joint = self._physics.read()
        angle_rad = self._multi_turn.unwrap(joint.angle_rad)
        counts = round(angle_rad * self.config.counts_per_rev / (2.0 * math.pi))
        velocity = float(joint.velocity_rad_s)
        if self.frozen_sample is not None:
            counts, velocity = self.frozen_sample
        status = (
            (Status.ARMED if self.armed else 0)
            | (Status.FAULT if self.faults else 0)
            | (Status.TORQUE_LIMITED if self.torque_limited else 0)
        )
        stamp_us = round((now_s - self._start_s) * 1e6) & 0xFFFFFFFF
        counts = max(-(2**31), min(2**31 - 1, counts))
        return State(counts, velocity, self.applied_torque_nm, stamp_us, int(status), self.faults)


_REQUESTS = frozenset(
    (
        MessageType.HELLO,
        MessageType.ARM,
        MessageType.TORQUE,
        MessageType.QUERY,
        MessageType.DISARM,
        MessageType.CLEAR_FAULT,
    )
)


def _type_code(message: Message) -> int:
    names = {HelloReply: MessageType.HELLO_REPLY, State: MessageType.STATE}
    return int(names.get(type(message), MessageType.NACK))
