"""OdrivePlant: an ODrive axis on firmware 0.5.x, driven in torque mode over its ASCII protocol.

Lifecycle (:class:`hardware.link.DevicePlant`, as every driver's): the constructor stores the
configuration; :meth:`OdrivePlant.open` (or entering the context) opens the port with an
exclusive lock, checks the firmware (0.5.x), refuses or clears errors latched before this run,
reads the torque limit (``min(torque_lim, current_lim * torque_constant)``) and sets
``control_mode`` TORQUE_CONTROL, ``input_torque`` 0 and ``config.watchdog_timeout``. The first
:meth:`read` or :meth:`apply` feeds and enables the watchdog (``config.enable_watchdog``),
requests CLOSED_LOOP_CONTROL and waits until the axis reports it: so the axis is powered only
once the loop runs and feeds the watchdog every tick, and whatever the host does between
``open()`` and its first tick cannot trip it. :meth:`OdrivePlant.close` (every exit
path) sends ``c axis 0``, requests IDLE, disables the watchdog (else it would trip in IDLE and
latch an error for the next run) and closes the port. If the host dies without that, the
ODrive's own watchdog trips within ``watchdog_timeout_s`` and the axis falls to IDLE.

Every request carries the protocol's checksum, so the device ignores a damaged line and the
host drops a damaged reply. Writes have no reply on this firmware: set-up reads each value back.

Per control tick :meth:`read` sends ``f axis`` and ``r axisN.current_state`` in one write and
waits for both replies; a state other than CLOSED_LOOP_CONTROL reads the axis, motor, encoder
and controller errors and raises PlantError naming the flags. :meth:`apply` sends ``c axis
torque`` (no reply; it feeds the watchdog). Positions are in turns and torques in N*m on the
device; :class:`~hardware.link.Calibration` maps them to the project's convention.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import serial

from ddpg_control.runtime.contracts import JointState, Plant
from ddpg_control.runtime.errors import PlantError
from ddpg_control.runtime.validation import require
from hardware.drivers.odrive.ascii import (
    ChecksumError,
    LineSplitter,
    decode_reply,
    encode_request,
    parse_feedback,
)
from hardware.drivers.odrive.errors import (
    AxisState,
    ControlMode,
    describe_errors,
    error_properties,
    state_name,
)
from hardware.link import DevicePlant, LinkConfig, reply_timeout_s
from hardware.stuck_sensor import StuckSensorCheck

if TYPE_CHECKING:
    from hardware.drivers import DeviceSettings

log = logging.getLogger(__name__)

#: ODrive's UART default (``config.uart_baudrate``); USB CDC ignores the baud rate.
DEFAULT_ODRIVE_BAUD_RATE = 115200
#: Unanswered reads in a row the plant allows at least (a read is two requests).
MISSED_REPLIES = 3
#: The firmware line this driver speaks.
SUPPORTED_FIRMWARE = (0, 5)
#: Replies the firmware sends when it rejects a request.
FIRMWARE_REJECTIONS = ("invalid", "unknown command", "not implemented")
TURN_RAD = 2.0 * math.pi
#: A request still unanswered after this long is given up, and the input flushed.
ABANDON_AFTER_S = 0.5
#: At open, the line must stay this quiet before the first request (at most DRAIN_MAX_S).
QUIET_S = 0.05
DRAIN_MAX_S = 1.0


IDENTIFY_ATTEMPTS = 3


def _looks_like_version(replies: list[str]) -> bool:
    """Three integers, then a number with a decimal point (the replies to the version reads)."""
    *version, voltage = replies
    return all(text.isdigit() for text in version) and "." in voltage


def _reply_shape(command: str) -> int:
    """How many fields the reply to ``command`` has: ``f`` -> ``pos vel``, ``r`` -> a value."""
    return 2 if command.startswith("f") else 1


@dataclass(slots=True)
class _Waiting:
    """A request waiting for its reply line."""

    fields: int
    sent_s: float
    text: str | None = None
    done: bool = False

    def fits(self, text: str) -> bool:
        return text.startswith(FIRMWARE_REJECTIONS) or len(text.split()) == self.fields


class OdrivePlant(DevicePlant):
    """One ODrive axis in torque control, as a Plant. Use it as a context manager."""

    def __init__(
        self, url: str, config: LinkConfig | None = None, *, closed_loop_timeout_s: float = 1.0
    ) -> None:
        self.url = url
        self.config = config or LinkConfig(
            baud_rate=DEFAULT_ODRIVE_BAUD_RATE, device_id=0, max_missed_replies=MISSED_REPLIES
        )
        require(
            self.config.device_id in (0, 1),
            f"an ODrive has axis 0 and axis 1, not {self.config.device_id}: "
            "pass --device-id 0 or 1",
        )
        self.closed_loop_timeout_s = closed_loop_timeout_s
        self.firmware: tuple[int, int, int] | None = None
        self._port: Any = None
        self._lines = LineSplitter(b"\n")
        self._waiting: deque[_Waiting] = deque()
        self._closed_loop = False
        self._stuck = StuckSensorCheck(self.config.stuck_sensor_s)
        self._last_torque_nm = 0.0
        self.requests = 0
        self.missing_replies = 0
        self.bad_replies = 0

    @property
    def axis(self) -> int:
        return self.config.device_id

    @property
    def _axis(self) -> str:
        return f"axis{self.axis}"

    # -- lifecycle -----------------------------------------------------------------------------

    def _set_up(self) -> None:
        """Check the ODrive, set torque mode and the watchdog timeout (the first tick enters
        closed loop)."""
        self._write(b"\n")  # end whatever partial line the device holds
        self._drain()
        self.firmware = self._check_firmware()
        self._check_errors()
        self._device_limit_nm = self._torque_limit()
        self._configure()

    def stop(self) -> None:
        """Command zero torque (``c axis 0``). Never raises."""
        if self._port is None or self.firmware is None:
            return
        self._last_torque_nm = 0.0
        try:
            self._send(f"c {self.axis} 0")
        except PlantError as exc:
            log.warning("could not send zero torque: %s", exc)

    def close(self) -> None:
        """Zero torque, IDLE, watchdog off, close the port. Safe to call repeatedly."""
        if self._port is None:
            return
        if self.firmware is not None:  # only a device that answered is told anything
            self.stop()
            axis = self._axis
            try:
                self._send(f"w {axis}.requested_state {int(AxisState.IDLE)}")
                self._send(f"w {axis}.config.enable_watchdog 0")
                state = self._read_int(f"{axis}.current_state")
                if state != AxisState.IDLE:
                    log.warning("the ODrive reports %s after IDLE was requested", state_name(state))
            except PlantError as exc:
                log.warning("could not confirm IDLE: %s", exc)
            self._settle()
        try:
            self._port.close()
        except (serial.SerialException, OSError) as exc:
            log.warning("closing %s: %s", self.url, exc)
        self._port = None
        self._closed_loop = False
        log.log(
            logging.WARNING if self.missing_replies or self.bad_replies else logging.INFO,
            "link %s: %d requests, %d missing and %d bad replies",
            self.url,
            self.requests,
            self.missing_replies,
            self.bad_replies,
        )

    # -- the control tick ----------------------------------------------------------------------

    def read(self) -> JointState:
        if not self._closed_loop:
            self._enter_closed_loop()
        axis = self.axis
        replies = self._transact(
            [f"f {axis}", f"r {self._axis}.current_state"], self.config.reply_timeout_s
        )
        parsed = self._parse_tick(replies) if replies is not None else None
        if parsed is None:
            return self._missed_read(
                f"the ODrive on {self.url}",
                f"requests in a row without a valid reply within {self.config.reply_timeout_s} s",
                "check the cable and power; its watchdog sets the axis IDLE",
            )
        self._missed_in_a_row = 0
        (pos_turns, vel_turns_s), state = parsed
        if state != AxisState.CLOSED_LOOP_CONTROL:
            raise self._fault(state)
        if not (math.isfinite(pos_turns) and math.isfinite(vel_turns_s)):
            raise PlantError(f"the ODrive reports a non-finite position or velocity {replies!r}")
        now_s = time.monotonic()
        self._check_stuck(pos_turns, vel_turns_s, now_s)
        self._last_state = self.config.calibration.joint_state(
            pos_turns * TURN_RAD, vel_turns_s * TURN_RAD, now_s
        )
        return self._last_state

    def apply(self, torque_nm: float) -> None:
        if not math.isfinite(torque_nm):
            raise PlantError(f"refusing to send a non-finite torque {torque_nm!r}")
        if not self._closed_loop:
            self._enter_closed_loop()
        device_nm = self.config.calibration.device_torque_nm(torque_nm)
        limit = self._device_limit_nm
        self._last_torque_nm = min(limit, max(-limit, device_nm))
        self._send(f"c {self.axis} {self._last_torque_nm:.6f}")

    def _check_stuck(self, pos_turns: float, vel_turns_s: float, now_s: float) -> None:
        """Torque applied but the encoder reads exactly the same: stuck sensor or blocked joint."""
        share = self._last_torque_nm / self._device_limit_nm
        stuck_s = self._stuck.stuck_for_s((pos_turns, vel_turns_s), share, now_s)
        if stuck_s is not None:
            raise PlantError(
                f"the ODrive encoder has read exactly {pos_turns} turns for "
                f"{stuck_s:.2f} s while {self._last_torque_nm:.2f} N*m is "
                "commanded: the encoder is stuck or the joint is blocked; check the encoder"
            )

    # -- set-up --------------------------------------------------------------------------------

    def _check_firmware(self) -> tuple[int, int, int]:
        """Read the firmware version. ``vbus_voltage`` (printed with a decimal point, unlike the
        three integers) is read after it, so a stale reply that slipped in shows as a shift."""
        names = ("fw_version_major", "fw_version_minor", "fw_version_revision", "vbus_voltage")
        replies = None
        for _ in range(IDENTIFY_ATTEMPTS):
            replies = self._transact([f"r {n}" for n in names], self.config.setup_timeout_s)
            if replies is None or _looks_like_version(replies):
                break
            log.debug("identification replies out of step: %r; draining", replies)
            self._drain()
        if replies is None:
            raise PlantError(
                f"no valid reply from an ODrive on {self.url} (baud {self.config.baud_rate}): "
                "check the port, the baud rate (config.uart_a_baudrate, 115200 by default), "
                "that the UART is enabled in ASCII mode and wired host TX -> GPIO2, host RX -> "
                "GPIO1, GND -> GND, or use its USB port; see docs/hardware.md"
            )
        if not _looks_like_version(replies):
            raise PlantError(
                f"the device on {self.url} does not answer like an ODrive: {replies!r}"
            )
        major, minor, revision = (int(text) for text in replies[:3])
        log.info("ODrive on %s: firmware %d.%d.%d", self.url, major, minor, revision)
        if (major, minor) != SUPPORTED_FIRMWARE:
            raise PlantError(
                f"the ODrive on {self.url} runs firmware {major}.{minor}.{revision}; this driver "
                "speaks the 0.5.x interface (ODrive v3.x: axis.error, motor.error, ...). "
                "Firmware 0.6 reports active_errors and disarm_reason instead: flash 0.5.6 "
                "or use another driver"
            )
        return major, minor, revision

    def _read_errors(self) -> dict[str, int]:
        names = [path for path, _ in error_properties(self.axis)]
        replies = self._transact([f"r {name}" for name in names], self.config.setup_timeout_s)
        if replies is None:
            raise PlantError(f"the ODrive on {self.url} did not answer the error reads")
        try:
            return {name: int(text) for name, text in zip(names, replies, strict=True)}
        except ValueError:
            raise PlantError(f"the ODrive sent unreadable error values {replies!r}") from None

    def _check_errors(self) -> None:
        errors = self._read_errors()
        if not any(errors.values()):
            return
        text = describe_errors(self.axis, errors)
        if not self.config.clear_faults:
            raise PlantError(
                f"the ODrive reports errors from before this run ({text}): find the cause (a "
                "watchdog error means the last host stopped without setting IDLE), then run "
                "again with --clear-faults"
            )
        log.warning("clearing ODrive errors %s", text)
        self._send("sc")
        errors = self._read_errors()
        if any(errors.values()):
            raise PlantError(
                f"the ODrive errors persist after clearing: {describe_errors(self.axis, errors)}"
            )

    def _torque_limit(self) -> float:
        motor = f"{self._axis}.motor.config"
        constant = self._read_float(f"{motor}.torque_constant")
        current_lim = self._read_float(f"{motor}.current_lim")
        torque_lim = self._read_float(f"{motor}.torque_lim")
        device_nm = min(torque_lim, current_lim * constant)
        if not (math.isfinite(device_nm) and device_nm > 0):
            raise PlantError(
                f"the ODrive's torque limit is {device_nm!r} N*m (torque_constant {constant}, "
                f"current_lim {current_lim}, torque_lim {torque_lim}): set "
                "motor.config.torque_constant to 8.27 / Kv and a current_lim with odrivetool"
            )
        log.info(
            "ODrive torque limit %.3f N*m (torque_constant %.4f N*m/A, current_lim %.1f A)",
            device_nm,
            constant,
            current_lim,
        )
        cfg = self.config
        if cfg.torque_limit_nm is not None:
            return min(device_nm, cfg.torque_limit_nm * cfg.calibration.torque_scale)
        return device_nm

    def _configure(self) -> None:
        """Torque mode, zero input torque and the watchdog timeout, each read back (writes
        have no reply)."""
        axis = self._axis
        self._send(f"w {axis}.controller.config.control_mode {int(ControlMode.TORQUE_CONTROL)}")
        self._send(f"w {axis}.controller.input_torque 0")
        self._send(f"w {axis}.config.watchdog_timeout {self.config.watchdog_timeout_s:.6f}")
        mode = self._read_int(f"{axis}.controller.config.control_mode")
        watchdog = self._read_float(f"{axis}.config.watchdog_timeout")
        if (
            mode != ControlMode.TORQUE_CONTROL
            or abs(watchdog - self.config.watchdog_timeout_s) > 1e-4
        ):
            raise PlantError(
                f"the ODrive did not take the settings (control_mode {mode}, watchdog_timeout "
                f"{watchdog}): is another program writing to it?"
            )

    def _enter_closed_loop(self) -> None:
        """Feed and enable the watchdog, request CLOSED_LOOP_CONTROL and wait for it."""
        axis, n = self._axis, self.axis
        self._send(f"u {n}")
        self._send(f"w {axis}.config.enable_watchdog 1")
        self._send(f"w {axis}.requested_state {int(AxisState.CLOSED_LOOP_CONTROL)}")
        deadline = time.monotonic() + self.closed_loop_timeout_s
        while True:
            self._send(f"u {n}")
            state = self._read_int(f"{axis}.current_state")
            if state == AxisState.CLOSED_LOOP_CONTROL:
                self._closed_loop = True
                return
            if time.monotonic() > deadline:
                break
            if state == AxisState.IDLE and self._read_int(f"{axis}.error"):
                break  # refused (the state machine takes a moment to leave IDLE otherwise)
            time.sleep(0.01)
        errors = self._read_errors()
        raise PlantError(
            f"the ODrive did not enter closed-loop control (it is in {state_name(state)}): "
            f"{describe_errors(n, errors)}. Calibrate the motor and encoder with odrivetool "
            "first (docs/hardware.md)"
        )

    def _fault(self, state: int) -> PlantError:
        try:
            errors = self._read_errors()
        except PlantError as exc:
            return PlantError(
                f"the ODrive left closed-loop control ({state_name(state)}) and its errors "
                f"could not be read ({exc}); torque is zero"
            )
        if any(errors.values()):
            return PlantError(
                f"ODrive fault: {describe_errors(self.axis, errors)} (axis "
                f"{state_name(state)}, torque zero). Fix the cause, then run again with "
                "--clear-faults"
            )
        return PlantError(
            f"the ODrive left closed-loop control ({state_name(state)}) with no error set: was "
            "it rebooted or set IDLE by another program? Torque is zero"
        )

    # -- link ----------------------------------------------------------------------------------

    def _parse_tick(self, replies: list[str]) -> tuple[tuple[float, float], int] | None:
        try:
            return parse_feedback(replies[0]), int(replies[1])
        except ValueError:
            for text in replies:
                if text.startswith(FIRMWARE_REJECTIONS):
                    raise PlantError(
                        f"the ODrive rejected a request ({text!r}): is axis "
                        f"{self.axis} present on this board?"
                    ) from None
            self.bad_replies += 1
            return None

    def _read_float(self, name: str) -> float:
        text = self._read_property(name)
        try:
            return float(text)
        except ValueError:
            raise PlantError(f"the ODrive answered {text!r} to 'r {name}'") from None

    def _read_int(self, name: str) -> int:
        text = self._read_property(name)
        try:
            return int(text)
        except ValueError:
            raise PlantError(f"the ODrive answered {text!r} to 'r {name}'") from None

    def _read_property(self, name: str) -> str:
        replies = self._transact([f"r {name}"], self.config.setup_timeout_s)
        if replies is None:
            raise PlantError(
                f"the ODrive on {self.url} did not answer 'r {name}' within "
                f"{self.config.setup_timeout_s} s: check the cable and power"
            )
        return replies[0]

    def _send(self, command: str) -> None:
        self._write(encode_request(command))
        self.requests += 1

    def _write(self, data: bytes) -> None:
        try:
            self._port.write(data)
        except (serial.SerialException, OSError) as exc:
            raise self._lost(exc) from None

    def _lost(self, exc: BaseException) -> PlantError:
        return PlantError(
            f"lost the connection to the ODrive on {self.url} ({exc}): was it unplugged or "
            "powered off? Its watchdog sets the axis IDLE"
        )

    def _settle(self) -> None:
        """Wait (at most ABANDON_AFTER_S) for the replies still owed, so none is left on the
        line for the next host to take as its own. Never raises."""
        deadline = time.monotonic() + ABANDON_AFTER_S
        try:
            while any(not r.done for r in self._waiting) and time.monotonic() < deadline:
                for line in self._lines.feed(self._port.read(max(1, self._port.in_waiting))):
                    self._on_reply(line)
        except (serial.SerialException, OSError) as exc:
            log.debug("settling %s: %s", self.url, exc)

    def _drain(self) -> None:
        """Read until the line has been quiet for QUIET_S (at most DRAIN_MAX_S), then drop it
        all: replies a previous host left in flight must not answer this one's first reads."""
        deadline = time.monotonic() + DRAIN_MAX_S
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < QUIET_S and time.monotonic() < deadline:
            try:
                if self._port.read(max(1, self._port.in_waiting)):
                    quiet_since = time.monotonic()
            except (serial.SerialException, OSError) as exc:
                raise self._lost(exc) from None
        self._resync()

    def _resync(self) -> None:
        """Drop whatever is in flight, so a late reply is not taken for the next one."""
        try:
            self._port.reset_input_buffer()
        except (serial.SerialException, OSError) as exc:
            raise self._lost(exc) from None
        self._lines.reset()
        self._waiting.clear()

    def _transact(self, commands: list[str], timeout_s: float) -> list[str] | None:
        """Send ``commands`` in one write; return their replies (one line each), or None when
        they did not all arrive intact within ``timeout_s``.

        The device answers in order but a line it could not read gets no reply, so replies are
        matched to a queue of every request still waiting for one: a late reply goes to its own
        (abandoned) request, and a reply whose shape (``pos vel`` or one value) does not fit the
        oldest waiting request means that request was lost on the way.
        """
        now = time.monotonic()
        if self._waiting and now - self._waiting[0].sent_s > ABANDON_AFTER_S:
            self.missing_replies += sum(1 for r in self._waiting if r.text is None)
            self._waiting.clear()
            self._resync()
        self._write(b"".join(encode_request(c) for c in commands))
        self.requests += len(commands)
        mine = [_Waiting(_reply_shape(c), now) for c in commands]
        self._waiting.extend(mine)
        deadline = now + timeout_s
        port = self._port
        while not all(r.done for r in mine):
            try:
                chunk = port.read(max(1, port.in_waiting))
            except (serial.SerialException, OSError) as exc:
                raise self._lost(exc) from None
            for line in self._lines.feed(chunk):
                self._on_reply(line)
            if not all(r.done for r in mine) and time.monotonic() >= deadline:
                self.missing_replies += sum(1 for r in mine if not r.done)
                return None
        if any(r.text is None for r in mine):
            return None
        return [r.text for r in mine if r.text is not None]

    def _on_reply(self, line: bytes) -> None:
        try:
            text: str | None = decode_reply(line, with_checksum=True)
        except ChecksumError as exc:
            log.debug("%s", exc)
            self.bad_replies += 1
            text = None
        while self._waiting:
            request = self._waiting.popleft()
            if text is None or request.fits(text):
                request.text, request.done = text, True
                return
            request.done = True  # the device never got this one: no reply will come
            self.missing_replies += 1
        self.bad_replies += 1  # a reply nobody waits for


def open_plant(settings: DeviceSettings) -> Plant:
    """``run --device PORT --driver odrive``: the ODrive axis opened in torque-mode closed loop."""
    link = settings.link(reply_timeout_s(settings.period_s), min_missed_replies=MISSED_REPLIES)
    plant: Plant = OdrivePlant(settings.port, link).open()
    return plant
