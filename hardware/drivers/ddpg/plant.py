"""DdpgPlant: the motor driver of hardware/PROTOCOL.md as a ddpg_control Plant.

Lifecycle (as ros2_control's hardware components): the constructor only stores its
configuration; :meth:`DdpgPlant.open` (or entering the context) opens the port with an exclusive
lock, handshakes, checks versions and limits, and arms; :meth:`DdpgPlant.close` (or leaving
the context, on any exit path) sends zero torque, disarms and closes the port. Zero torque on the
way out protects the motor and the rig; if the host dies without it, the device watchdog does it.

Per control tick the loop calls :meth:`read` (QUERY, then wait for the STATE with that sequence
number) and :meth:`apply` (TORQUE, not waited for: its reply is collected during the next read).
Replies that arrive after their request was given up are counted as stale, requests that never
got a reply as missing. ``max_missed_replies`` unanswered reads in a row raise PlantError, so a
device that stops answering ends the loop within about 12 ms at 200 Hz and above (two periods
and a reply timeout below that; ``hardware.link.missed_reads_allowed``).

Any pyserial URL works: ``/dev/ttyUSB0``, ``socket://127.0.0.1:5555``, ``rfc2217://host:port``.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import serial

from ddpg_control.runtime.contracts import JointState, Plant
from ddpg_control.runtime.errors import PlantError
from hardware.drivers.ddpg.protocol import (
    PROTOCOL_VERSION,
    Arm,
    ClearFault,
    Disarm,
    Fault,
    FrameDecoder,
    Hello,
    HelloReply,
    Message,
    Nack,
    NackCode,
    Packet,
    Query,
    RawFrame,
    State,
    Status,
    Torque,
    encode,
)
from hardware.link import DevicePlant, LinkConfig, LinkStats, reply_timeout_s
from hardware.stuck_sensor import StuckSensorCheck

if TYPE_CHECKING:
    from hardware.drivers import DeviceSettings

log = logging.getLogger(__name__)

#: How far one read of the port may wait past its deadline before its timeout is shortened.
READ_WAIT_SLACK_S = 0.0001


def _describe_faults(faults: int) -> str:
    names = [f.name for f in Fault if faults & f and f.name]
    return "+".join(names) if names else f"{faults:#04x}"


def _nack_name(code: int) -> str:
    try:
        return NackCode(code).name
    except ValueError:
        return f"code {code}"


class DdpgPlant(DevicePlant):
    """A motor driver speaking hardware/PROTOCOL.md, as a Plant. Use it as a context manager."""

    def __init__(self, url: str, config: LinkConfig | None = None) -> None:
        self.url = url
        self.config = config or LinkConfig()
        self.stats = LinkStats()
        self.device: HelloReply | None = None
        self._port: Any = None
        self._decoder = FrameDecoder()
        self._seq = 0
        self._outstanding: OrderedDict[int, str] = OrderedDict()
        self._armed = False
        self._time_base_us = 0
        self._last_stamp_us: int | None = None
        self._stuck = StuckSensorCheck(self.config.stuck_sensor_s)

    # -- lifecycle -----------------------------------------------------------------------------

    def _set_up(self) -> None:
        """Handshake, clear or refuse latched faults, arm."""
        self.device = self._handshake()
        self._arm()

    def stop(self) -> None:
        """Command zero torque and wait briefly for the device to confirm. Never raises."""
        if self._port is None or self.device is None:
            return
        try:
            seq = self._send(Torque(0.0))
            self._await(seq, self.config.reply_timeout_s, check_state=False)
        except PlantError as exc:
            log.warning("could not confirm zero torque: %s", exc)

    def close(self) -> None:
        """Zero torque, disarm, close the port. Safe to call repeatedly."""
        if self._port is None:
            return
        if self.device is not None:  # only a device that answered HELLO is told anything
            self.stop()
            self._armed = False
            try:
                seq = self._send(Disarm())
                self._await(seq, self.config.reply_timeout_s, check_state=False)
            except PlantError as exc:
                log.warning("could not confirm disarm: %s", exc)
        try:
            self._port.close()
        except (serial.SerialException, OSError) as exc:
            log.warning("closing %s: %s", self.url, exc)
        self._port = None
        stats, decoder = self.stats, self._decoder.stats
        troubled = stats.missing_replies or stats.stale_replies or decoder.dropped
        log.log(
            logging.WARNING if troubled else logging.INFO,
            "link %s: %d requests, %d missing and %d late replies, %d bad frames dropped",
            self.url,
            stats.requests,
            stats.missing_replies,
            stats.stale_replies,
            decoder.dropped,
        )

    # -- the control tick ----------------------------------------------------------------------

    def read(self) -> JointState:
        seq = self._send(Query())
        reply = self._await(seq, self.config.reply_timeout_s)
        if reply is None:
            return self._missed_read(
                f"the device on {self.url}",
                f"requests in a row without a reply within {self.config.reply_timeout_s} s",
                "check the cable and power; the device watchdog zeroes the torque",
            )
        self._missed_in_a_row = 0
        assert self._last_state is not None
        return self._last_state

    def apply(self, torque_nm: float) -> None:
        if not math.isfinite(torque_nm):
            raise PlantError(f"refusing to send a non-finite torque {torque_nm!r}")
        device_nm = self.config.calibration.device_torque_nm(torque_nm)
        limit = self._device_limit_nm
        self._send(Torque(min(limit, max(-limit, device_nm))))

    # -- internals -----------------------------------------------------------------------------

    def _handshake(self) -> HelloReply:
        cfg = self.config
        self._reset_input()
        for attempt in range(cfg.setup_attempts):
            seq = self._send(Hello())
            reply = self._await(seq, cfg.setup_timeout_s, check_state=False)
            if isinstance(reply, HelloReply):
                return self._check_device(reply)
            log.debug("no HELLO reply (attempt %d)", attempt + 1)
        if self._decoder.foreign_version is not None:
            raise PlantError(
                f"protocol version mismatch: the device on {self.url} speaks protocol version "
                f"{self._decoder.foreign_version}, this ddpg-control speaks {PROTOCOL_VERSION}; "
                "update the firmware or ddpg-control so they match"
            )
        noise = self._decoder.stats.garbage_bytes + self._decoder.stats.dropped
        hint = (
            f"received {noise} bytes of noise: the baud rate is likely wrong"
            if noise
            else "received nothing"
        )
        raise PlantError(
            f"no valid reply to HELLO from {self.url} after {cfg.setup_attempts} attempts "
            f"({hint}). Check the port, the baud rate (using {cfg.baud_rate}) and that the device "
            "runs firmware that speaks hardware/PROTOCOL.md"
        )

    def _check_device(self, hello: HelloReply) -> HelloReply:
        cfg = self.config
        log.info(
            "device on %s: protocol %d.%d, firmware %d.%d.%d, %.3f N*m, %d counts/rev, "
            "watchdog %d..%d ms",
            self.url,
            hello.protocol_major,
            hello.protocol_minor,
            hello.firmware_major,
            hello.firmware_minor,
            hello.firmware_patch,
            hello.max_torque_nm,
            hello.counts_per_rev,
            hello.watchdog_min_ms,
            hello.watchdog_max_ms,
        )
        if hello.protocol_major != PROTOCOL_VERSION:
            raise PlantError(
                f"protocol version mismatch: device reports {hello.protocol_major}, "
                f"host speaks {PROTOCOL_VERSION}; update the firmware or ddpg-control"
            )
        if not (math.isfinite(hello.max_torque_nm) and hello.max_torque_nm > 0):
            raise PlantError(f"device reports an invalid torque limit {hello.max_torque_nm!r}")
        if hello.counts_per_rev <= 0:
            raise PlantError("device reports 0 encoder counts per revolution")
        watchdog_ms = round(cfg.watchdog_timeout_s * 1000)
        if not hello.watchdog_min_ms <= watchdog_ms <= hello.watchdog_max_ms:
            raise PlantError(
                f"watchdog timeout {watchdog_ms} ms is outside the device's range "
                f"{hello.watchdog_min_ms}..{hello.watchdog_max_ms} ms; choose another"
            )
        wanted = hello.max_torque_nm
        if cfg.torque_limit_nm is not None:
            wanted = cfg.torque_limit_nm * cfg.calibration.torque_scale
        self._device_limit_nm = min(wanted, hello.max_torque_nm)
        return hello

    def _arm(self) -> None:
        state = self._request(Query(), check_state=False)
        if isinstance(state, State) and state.faults:
            names = _describe_faults(state.faults)
            if not self.config.clear_faults:
                raise PlantError(
                    f"the device reports a latched fault ({names}) from before this run: "
                    "find the cause (a watchdog fault means the last host stopped without "
                    "disarming), then run again with --clear-faults"
                )
            log.warning("clearing latched device fault %s", names)
            self._request(ClearFault(), check_state=False)
        watchdog_ms = round(self.config.watchdog_timeout_s * 1000)
        reply = self._request(Arm(watchdog_ms, self._device_limit_nm), check_state=False)
        if isinstance(reply, Nack):
            raise PlantError(f"the device refused to arm ({_nack_name(reply.code)})")
        if not (isinstance(reply, State) and reply.status & Status.ARMED):
            raise PlantError(f"the device did not arm: {reply}")
        self._armed = True
        self._on_state(reply)

    def _request(self, message: Message, *, check_state: bool) -> Message:
        """Send a set-up request (all are idempotent) until it is answered."""
        cfg = self.config
        for _ in range(cfg.setup_attempts):
            seq = self._send(message)
            reply = self._await(seq, cfg.setup_timeout_s, check_state=check_state)
            if reply is not None:
                return reply
        raise PlantError(
            f"the device on {self.url} did not answer {type(message).__name__} "
            f"({cfg.setup_attempts} attempts of {cfg.setup_timeout_s} s): check the "
            "cable and power"
        )

    def _send(self, message: Message) -> int:
        self._seq = (self._seq + 1) & 0xFFFF
        seq = self._seq
        frame = encode(message, seq)
        try:
            self._port.write(frame)
        except (serial.SerialException, OSError) as exc:
            raise self._lost(exc) from None
        self._outstanding[seq] = type(message).__name__
        while len(self._outstanding) > 64:
            self._outstanding.popitem(last=False)
            self.stats.missing_replies += 1
        self.stats.requests += 1
        return seq

    def _lost(self, exc: BaseException) -> PlantError:
        return PlantError(
            f"lost the connection to the device on {self.url} ({exc}): was it unplugged or "
            "powered off? The device watchdog zeroes the torque"
        )

    def _reset_input(self) -> None:
        try:
            self._port.reset_input_buffer()
        except (serial.SerialException, OSError) as exc:
            raise self._lost(exc) from None
        self._decoder.reset()

    def _await(self, seq: int, timeout_s: float, *, check_state: bool = True) -> Message | None:
        """Read until the reply to ``seq`` arrives (returned) or ``timeout_s`` passes (None)."""
        deadline = time.monotonic() + timeout_s
        port = self._port
        while True:
            try:
                self._bound_read_wait(deadline - time.monotonic())
                chunk = port.read(max(port.in_waiting, self._decoder.bytes_wanted()))
            except (serial.SerialException, OSError) as exc:
                raise self._lost(exc) from None
            for packet in self._decoder.feed(chunk):
                reply = self._on_packet(packet, check_state)
                if packet.seq == seq and reply is not None:
                    return reply
            if time.monotonic() >= deadline:
                if self._outstanding.pop(seq, None) is not None:
                    self.stats.missing_replies += 1
                return None

    def _bound_read_wait(self, remaining_s: float) -> None:
        """One port read waits at most the reply timeout and never past the caller's deadline.

        A read returns early with any frame (a late reply to an earlier request, say); the
        next one must not wait a whole reply timeout again. The port's timeout is changed only
        when that would oversleep by more than READ_WAIT_SLACK_S, so a tick on time pays
        nothing.
        """
        wait_s = min(self.config.reply_timeout_s, max(0.0, remaining_s))
        if abs(self._port.timeout - wait_s) > READ_WAIT_SLACK_S:
            self._port.timeout = wait_s

    def _on_packet(self, packet: Packet, check_state: bool) -> Message | None:
        if packet.seq not in self._outstanding:
            self.stats.stale_replies += 1
            return None
        while True:  # requests sent before this one that are still unanswered are missing
            oldest, _ = self._outstanding.popitem(last=False)
            if oldest == packet.seq:
                break
            self.stats.missing_replies += 1
        self.stats.replies += 1
        message = packet.message
        if isinstance(message, RawFrame):  # only a device's decoder keeps these
            return None
        if isinstance(message, Nack):
            self.stats.nacks += 1
            if check_state:
                raise PlantError(
                    f"the device rejected a command ({_nack_name(message.code)} for type "
                    f"{message.rejected_type:#04x}); it has zeroed the torque"
                )
        elif isinstance(message, State) and check_state:
            self._on_state(message)
        return message

    def _on_state(self, state: State) -> None:
        if state.status & Status.FAULT or state.faults:
            raise PlantError(
                f"device fault: {_describe_faults(state.faults)} (torque is zero). Fix the cause, "
                "then run again with --clear-faults"
            )
        if self._armed and not state.status & Status.ARMED:
            raise PlantError("the device disarmed itself (reset or power loss?); torque is zero")
        if not math.isfinite(state.velocity_rad_s):
            raise PlantError(f"device reports a non-finite velocity {state.velocity_rad_s!r}")
        assert self.device is not None
        raw_rad = state.position_counts * (2.0 * math.pi / self.device.counts_per_rev)
        last_us = self._last_stamp_us
        if last_us is not None and last_us - state.timestamp_us > 2**31:
            self._time_base_us += 2**32  # the u32 device clock wrapped
        self._last_stamp_us = state.timestamp_us
        timestamp_s = (self._time_base_us + state.timestamp_us) * 1e-6
        self._check_stuck(state, timestamp_s)
        # status: 0 while healthy; faults raise above anyway
        self._last_state = self.config.calibration.joint_state(
            raw_rad, state.velocity_rad_s, timestamp_s, state.faults
        )

    def _check_stuck(self, state: State, timestamp_s: float) -> None:
        """Torque applied but the sensor reads exactly the same: stuck sensor or blocked joint."""
        raw = (state.position_counts, state.velocity_rad_s)
        stuck_s = self._stuck.stuck_for_s(raw, state.torque_nm / self._device_limit_nm, timestamp_s)
        if stuck_s is not None:
            raise PlantError(
                f"the encoder has read exactly {state.position_counts} counts for "
                f"{stuck_s:.2f} s while {state.torque_nm:.2f} N*m is "
                "applied: the sensor is stuck or the joint is blocked; check the encoder"
            )


def open_plant(settings: DeviceSettings) -> Plant:
    """The seam's entry point (hardware/drivers/__init__.py): open, handshake and arm."""
    link = settings.link(reply_timeout_s(settings.period_s))
    return DdpgPlant(settings.port, link).open()
