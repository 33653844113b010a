"""MoteusPlant: an mjbots moteus controller as a ddpg_control Plant, through mjbots' own
``moteus`` package over an fdcanusb (or the controller's UART) serial path.

Lifecycle: the constructor stores its configuration; :meth:`MoteusPlant.open` locks the port,
starts one asyncio event loop on a dedicated thread (:mod:`.event_loop`), builds the vendor's
``moteus.Fdcanusb`` transport inside it (once, for the life of the plant) and a
``moteus.Controller``, queries the controller and refuses a latched fault or timeout unless told
to clear it, and sends a stop; :meth:`MoteusPlant.close` (or leaving the context, on every exit
path) sends ``set_stop``, closes the transport and stops the loop.

Per control tick :meth:`read` queries mode, position, velocity, torque and fault and waits for
the reply (within a deadline sized from the control period); :meth:`apply` queues a position-mode
command on the loop and returns at once (its ``OK`` is collected at the next read, which the
loop runs after it), and the command is a pure torque command: feed-forward torque,
``kp_scale = kd_scale = 0``, position NaN ("where it is", so a stray gain could not pull it
anywhere), ``maximum_torque`` the host's limit, and ``watchdog_timeout``: the moteus goes to
mode 11 (timeout) and stops driving when no command follows within it, e.g. when the host dies.

Units: moteus reports revolutions and revolutions/s at the output shaft and takes N*m; the
plant returns the project's convention (theta = 0 upright, CCW positive, rad) through
:class:`hardware.link.Calibration`.
"""

from __future__ import annotations

import concurrent.futures
import errno
import fcntl
import logging
import math
import os
import time
from typing import TYPE_CHECKING, Any

from ddpg_control.runtime.contracts import JointState, Plant
from ddpg_control.runtime.errors import ConfigError, PlantError, first_line
from ddpg_control.runtime.validation import require
from hardware.drivers.moteus.event_loop import make_event_loop
from hardware.drivers.moteus.registers import Mode, describe_fault, describe_mode
from hardware.link import DevicePlant, LinkConfig, LinkStats, open_error
from hardware.stuck_sensor import StuckSensorCheck

if TYPE_CHECKING:
    from hardware.drivers import DeviceSettings

log = logging.getLogger(__name__)

TWO_PI = 2.0 * math.pi
EXTRA = "moteus"

#: The moteus package's own register numbers (moteus.Register), fixed by the register map.
_MODE, _POSITION, _VELOCITY, _TORQUE, _FAULT = 0x000, 0x001, 0x002, 0x003, 0x00F

#: Reply timeout as a fraction of the control period, and its bounds in seconds. The vendor's
#: Python stack alone takes about a millisecond per transaction, so the floor is higher than
#: for our own protocol.
REPLY_TIMEOUT_FRACTION = 0.4
REPLY_TIMEOUT_MIN_S = 0.005
REPLY_TIMEOUT_MAX_S = 0.02

#: Which seam between the synchronous plant and the asyncio client (event_loop.py); chosen by
#: bench/moteus_seam.py, which measures both against the vendor's call made in a loop.
DEFAULT_EVENT_LOOP = "thread"

#: The moteus' own limit when the profile gives no ``max_torque_nm`` driver option (N*m).
DEFAULT_TORQUE_LIMIT_NM = 2.0
#: moteus' UART; an fdcanusb ignores it.
DEFAULT_MOTEUS_BAUD_RATE = 921_600


def reply_timeout_s(period_s: float) -> float:
    return min(REPLY_TIMEOUT_MAX_S, max(REPLY_TIMEOUT_MIN_S, REPLY_TIMEOUT_FRACTION * period_s))


def import_moteus() -> Any:
    try:
        import moteus
    except ImportError:
        raise ConfigError(
            f"--driver moteus needs the Python package 'moteus': "
            f"pip install 'ddpg-control[{EXTRA}]'"
        ) from None
    return moteus


class _PortLock:
    """An exclusive advisory lock on the serial port (the vendor's transport takes none), so a
    second program on the same port is refused with a clear message instead of stealing
    replies."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError as exc:
            raise open_error(self.path, exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            raise open_error(self.path, OSError(errno.EBUSY, f"locked: {exc}")) from None
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class MoteusPlant(DevicePlant):
    """A moteus controller on an fdcanusb serial path, as a Plant. Use it as a context manager."""

    def __init__(
        self,
        port: str,
        config: LinkConfig | None = None,
        *,
        max_torque_nm: float = DEFAULT_TORQUE_LIMIT_NM,
        event_loop: str = DEFAULT_EVENT_LOOP,
    ) -> None:
        self.port = port
        self.config = config or LinkConfig(baud_rate=DEFAULT_MOTEUS_BAUD_RATE)
        require(
            1 <= self.config.device_id <= 126,
            f"moteus id must be 1..126, got {self.config.device_id}",
        )
        require(
            math.isfinite(max_torque_nm) and max_torque_nm > 0,
            f"the moteus' max torque must be > 0 N*m, got {max_torque_nm!r}",
        )
        require(
            event_loop in ("thread", "inline"),
            f"event_loop must be 'thread' or 'inline', got {event_loop!r}",
        )
        #: The host's limit: the device's (``max_torque_nm``, device N*m) over the torque
        #: scale, or the link's own when that is smaller.
        self.torque_limit_nm = max_torque_nm / self.config.calibration.torque_scale
        if self.torque_limit_nm is not None:
            self.torque_limit_nm = min(self.torque_limit_nm, self.torque_limit_nm)
        self.stats = LinkStats()
        self._loop = make_event_loop(event_loop, f"moteus {port}")
        self._lock = _PortLock(port)
        self._transport: Any = None
        self._controller: Any = None
        self._connected = False
        self._commanding = False
        self._missed_in_a_row = 0
        self._last_problem = ""
        self._last_state: JointState | None = None
        self._stuck = StuckSensorCheck(self.config.stuck_sensor_s)
        self._last_torque_nm = 0.0
        self._pending_command: concurrent.futures.Future[Any] | None = None
        self._moteus: Any = None

    @property
    def name(self) -> str:
        return f"moteus id {self.config.device_id}"

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def max_torque_nm(self) -> float:
        return self.torque_limit_nm

    @property
    def is_open(self) -> bool:
        return self._connected

    def _connect(self) -> None:
        self._moteus = import_moteus()
        self._lock.acquire()

    def _set_up(self) -> None:
        """Start the loop, build the transport, check the mode, stop."""
        self._loop.start()
        self._loop.call(self._open_transport(self._moteus), 5.0)
        values = self._handshake()
        self._check_mode_at_open(values)
        self._stop_at_open()
        self._last_state = self._joint_state(values)
        self._connected = True

    async def _open_transport(self, moteus: Any) -> None:
        # The vendor's own timeouts only bound a transaction that hangs: they are fixed for the
        # life of the transport, so each call's deadline is ours (:meth:`_call`), sized for a
        # tick or for the handshake.
        timeout_s = self.config.setup_timeout_s
        try:
            self._transport = moteus.Fdcanusb(
                self.port,
                baudrate=self.config.baud_rate,
                command_timeout=timeout_s,
                response_timeout=timeout_s,
                max_retries=0,
            )
        except Exception as exc:  # serial.SerialException, OSError
            raise open_error(self.port, exc) from None
        resolution = moteus.QueryResolution()
        for unused in ("voltage", "temperature"):
            setattr(resolution, unused, moteus.multiplex.IGNORE)
        self._controller = moteus.Controller(
            id=self.config.device_id, transport=self._transport, query_resolution=resolution
        )

    def _handshake(self) -> dict[int, Any]:
        problem = "no reply"
        for _ in range(self.config.setup_attempts):
            try:
                result = self._call(self._controller.query(), self.config.setup_timeout_s)
            except Exception as exc:  # CallTimeout, the vendor's RuntimeError, serial errors
                problem = first_line(exc)
                continue
            if result is not None:
                values: dict[int, Any] = result.values
                return values
        raise PlantError(
            f"no moteus answered as id {self.config.device_id} on {self.port} ({problem}): is it "
            "powered, is the fdcanusb's CAN cable in and terminated, and is the id right "
            "(moteus_tool --info, or tview)?"
        )

    def _check_mode_at_open(self, values: dict[int, Any]) -> None:
        mode = int(values.get(_MODE, -1))
        if mode == Mode.STOPPED:
            return
        what = describe_mode(mode)
        if mode == Mode.FAULT:
            what += ", " + describe_fault(int(values.get(_FAULT, 0)))
        if not self.config.clear_faults:
            raise PlantError(
                f"{self.name} on {self.port} is in {what} from before this run: fix the cause, "
                "then pass --clear-faults to send it a stop first"
            )
        log.warning("%s was in %s; sending a stop (--clear-faults)", self.name, what)

    def _stop_at_open(self) -> None:
        problem = "no reply"
        for _ in range(self.config.setup_attempts):
            try:
                self._call(self._controller.set_stop(), self.config.setup_timeout_s)
                return
            except Exception as exc:  # CallTimeout, the vendor's RuntimeError
                problem = first_line(exc)
        raise PlantError(
            f"{self.name} on {self.port} answered a query but did not confirm a stop "
            f"({problem}): is another program talking to it?"
        )

    def stop(self) -> None:
        """Send ``set_stop`` (zero torque, mode 0) and wait briefly for it. Never raises."""
        self._commanding = False
        self._last_torque_nm = 0.0
        if self._controller is None or not self._loop.running:
            return
        try:
            self._call(self._controller.set_stop(), self.config.setup_timeout_s)
        except Exception as exc:
            log.warning("%s: could not confirm the stop: %s", self.name, first_line(exc))

    def close(self) -> None:
        """Stop, close the transport, stop the loop, unlock the port. Safe to call repeatedly."""
        if self._controller is not None:
            self.stop()
        if self._transport is not None and self._loop.running:
            transport, self._transport = self._transport, None
            try:
                self._loop.call(self._close_transport(transport), 1.0)
            except Exception as exc:
                log.warning("closing %s: %s", self.port, first_line(exc))
        self._loop.stop()
        self._lock.release()
        if self._connected:
            self._connected = False
            stats = self.stats
            log.log(
                logging.WARNING if stats.missing_replies else logging.INFO,
                "link %s: %d requests, %d missing replies",
                self.port,
                stats.requests,
                stats.missing_replies,
            )
        self._controller = None

    @staticmethod
    async def _close_transport(transport: Any) -> None:
        transport.close()

    # -- the control tick ----------------------------------------------------------------------

    def read(self) -> JointState:
        self._require_connected()
        self._collect_command()
        result = self._query()
        if result is None:
            assert self._last_state is not None  # the handshake's
            return self._last_state
        values: dict[int, Any] = result.values
        self._check_mode(values)
        state = self._joint_state(values)
        self._check_stuck(values, state.timestamp_s)
        self._last_state = state
        return state

    def _check_stuck(self, values: dict[int, Any], now_s: float) -> None:
        """Torque commanded but the encoder reads exactly the same: stuck sensor or blocked
        joint (moteus raises no fault for an encoder that stops counting)."""
        reading = (values.get(_POSITION), values.get(_VELOCITY))
        share = self._last_torque_nm / self.torque_limit_nm
        stuck_s = self._stuck.stuck_for_s(reading, share, now_s)
        if stuck_s is not None:
            raise PlantError(
                f"{self.name}: position and velocity stayed at {reading[0]!r} rev and "
                f"{reading[1]!r} rev/s for {stuck_s:.2f} s while {self._last_torque_nm:.2f} N*m "
                "was commanded: the encoder is stuck or the joint is blocked; check the encoder "
                "magnet and cable (--stuck-sensor-s)"
            )

    def _joint_state(self, values: dict[int, Any]) -> JointState:
        position_rad = float(values.get(_POSITION, math.nan)) * TWO_PI
        velocity_rad_s = float(values.get(_VELOCITY, math.nan)) * TWO_PI
        return self.config.calibration.joint_state(
            position_rad, velocity_rad_s, time.monotonic(), int(values.get(_FAULT, 0))
        )

    def apply(self, torque_nm: float) -> None:
        self._require_connected()
        cal, cfg = self.config.calibration, self.config
        limit = self.torque_limit_nm
        torque_nm = max(-limit, min(limit, torque_nm)) if math.isfinite(torque_nm) else 0.0
        self._last_torque_nm = torque_nm
        self._collect_command()
        command = self._controller.set_position(
            position=math.nan,
            velocity=0.0,
            feedforward_torque=cal.device_torque_nm(torque_nm),
            kp_scale=0.0,
            kd_scale=0.0,
            maximum_torque=cal.torque_scale * limit,
            watchdog_timeout=cfg.watchdog_timeout_s,
            query=False,
        )
        self.stats.requests += 1
        self._pending_command = self._loop.submit(command)
        self._commanding = True

    # -- helpers -------------------------------------------------------------------------------

    def _require_connected(self) -> None:
        if not self._connected:
            raise PlantError(f"{self.name} is not connected: call open() or use 'with' first")

    def _call(self, coroutine: Any, timeout_s: float) -> Any:
        return self._loop.call(coroutine, timeout_s)

    def _collect_command(self) -> None:
        """Account for the last command: a command that failed (no OK from the line) is counted
        as a missing reply; the next query decides whether the controller still answers."""
        pending, self._pending_command = self._pending_command, None
        if pending is None:
            return
        if not pending.done():
            self._pending_command = pending  # the next query runs after it
            return
        exc = pending.exception()
        if exc is None:
            self.stats.replies += 1
            return
        self.stats.missing_replies += 1
        self._last_problem = first_line(exc)
        log.debug("%s: a command went unconfirmed: %s", self.name, self._last_problem)

    def _query(self) -> Any:
        """One query; a missing reply is counted, too many in a row raise PlantError."""
        self.stats.requests += 1
        try:
            # Twice the reply timeout: the query may wait behind the command queued before it.
            result = self._call(self._controller.query(), 2 * self.config.reply_timeout_s)
        except Exception as exc:  # CallTimeout, the vendor's RuntimeError, serial errors
            result, self._last_problem = None, first_line(exc)
        else:
            if result is None:
                self._last_problem = "no reply frame"
        if result is not None:
            self._missed_in_a_row = 0
            self.stats.replies += 1
            return result
        self.stats.missing_replies += 1
        self._missed_in_a_row += 1
        if self._missed_in_a_row >= self.config.max_missed_replies:
            raise PlantError(
                f"{self.name} on {self.port} stopped answering ({self._missed_in_a_row} "
                f"queries in a row without a reply; last: {self._last_problem}): check its "
                "power, the CAN cable and termination"
            )
        return None

    def _check_mode(self, values: dict[int, Any]) -> None:
        mode = int(values.get(_MODE, -1))
        if mode == Mode.POSITION or (mode == Mode.STOPPED and not self._commanding):
            return
        if mode == Mode.FAULT:
            raise PlantError(
                f"{self.name} faulted: {describe_mode(mode)}, "
                f"{describe_fault(int(values.get(_FAULT, 0)))}"
            )
        if mode == Mode.TIMEOUT:
            raise PlantError(
                f"{self.name} went to {describe_mode(mode)}: no command reached it within its "
                f"{self.config.watchdog_timeout_s * 1000:.0f} ms watchdog"
            )
        raise PlantError(
            f"{self.name} is in {describe_mode(mode)}, not commanded by this host: is another "
            "program (tview, moteus_tool) talking to it?"
        )


def open_plant(settings: DeviceSettings) -> Plant:
    """The seam's entry point (hardware/drivers/__init__.py): open, check and stop the moteus."""
    options = settings.options
    return MoteusPlant(
        settings.port,
        settings.link(reply_timeout_s(settings.period_s)),
        max_torque_nm=float(options.get("max_torque_nm", DEFAULT_TORQUE_LIMIT_NM)),
        event_loop=str(options.get("event_loop", DEFAULT_EVENT_LOOP)),
    ).open()
