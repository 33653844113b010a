"""The host end of a link to a motor driver, the same for every driver: its configuration
(:class:`LinkConfig`, with the :class:`Calibration` that maps the device's frame to the
project's convention), the lifecycle every driver's plant shares (:class:`DevicePlant`), its
counters and the one-line errors for a port that will not open."""

from __future__ import annotations

import errno
import logging
import math
from abc import abstractmethod
from dataclasses import dataclass, field
from typing import Any, Self

from ddpg_control.runtime.contracts import JointState, Plant, wrap_angle
from ddpg_control.runtime.errors import PlantError
from ddpg_control.runtime.validation import require

log = logging.getLogger(__name__)

#: The baud rate hardware/PROTOCOL.md recommends for this project's own driver; any works if
#: both ends agree. Each vendor driver has its own default in hardware/drivers/__init__.py.
DEFAULT_BAUD_RATE = 1_000_000

#: Reply timeout as a fraction of the control period, and its bounds in seconds.
REPLY_TIMEOUT_FRACTION = 0.5
REPLY_TIMEOUT_MIN_S = 0.0005
REPLY_TIMEOUT_MAX_S = 0.02


def reply_timeout_s(period_s: float) -> float:
    """How long a read waits for its reply: half a period, within [0.5 ms, 20 ms]."""
    return min(REPLY_TIMEOUT_MAX_S, max(REPLY_TIMEOUT_MIN_S, REPLY_TIMEOUT_FRACTION * period_s))


#: How long a loop may go on acting on its last state while the device does not answer, in
#: seconds, whatever the rate: two unanswered reads at 200 Hz. A loop stops after its
#: ``max_missed_reads`` unanswered reads in a row or after as many as fit in this time,
#: whichever is more: 2 at 200 Hz and below, 5 at 500 Hz, 10 at 1 kHz. So the last state drives
#: the torque for at most 12.5 ms at 200 Hz and 11 ms at 500 Hz (n periods plus a reply
#: timeout), and a faster loop does not stop on a stall of the link that a 200 Hz loop rides out.
SILENCE_ALLOWED_S = 0.01


def missed_reads_allowed(period_s: float, at_least: int) -> int:
    """Unanswered reads in a row a plant at ``period_s`` allows: ``at_least``, or as many as
    fit in :data:`SILENCE_ALLOWED_S` when that is more."""
    require(math.isfinite(period_s) and period_s > 0, f"period must be > 0 s, got {period_s!r}")
    return max(at_least, math.floor(SILENCE_ALLOWED_S / period_s + 1e-9))


@dataclass(frozen=True, slots=True)
class Calibration:
    """Maps the device's encoder frame to the project's convention (0 = upright, + = CCW).

    ``angle_rad = wrap(direction * (device_angle_rad - upright_offset_rad))``;
    ``device_torque_nm = direction * torque_scale * torque_nm``. ``upright_offset_rad`` is what the
    device reads (in radians) when the pendulum is held upright; see docs/hardware.md.
    """

    upright_offset_rad: float = 0.0
    direction: int = 1
    torque_scale: float = 1.0

    def __post_init__(self) -> None:
        require(math.isfinite(self.upright_offset_rad), "upright offset must be finite")
        require(self.direction in (1, -1), f"direction must be 1 or -1, got {self.direction!r}")
        require(
            math.isfinite(self.torque_scale) and self.torque_scale > 0,
            f"torque scale must be a finite number > 0, got {self.torque_scale!r}",
        )

    def joint_state(
        self,
        device_angle_rad: float,
        device_velocity_rad_s: float,
        timestamp_s: float,
        status: int = 0,
    ) -> JointState:
        """What the device reads (radians, rad/s in its own frame) in the project's convention."""
        return JointState(
            angle_rad=wrap_angle(self.direction * (device_angle_rad - self.upright_offset_rad)),
            velocity_rad_s=self.direction * device_velocity_rad_s,
            timestamp_s=timestamp_s,
            status=status,
        )

    def device_torque_nm(self, torque_nm: float) -> float:
        """A torque in the project's convention as the device's command."""
        return self.direction * self.torque_scale * torque_nm


@dataclass(frozen=True, slots=True)
class LinkConfig:
    """How a plant talks to its device, for every driver. Times in seconds, torques in N*m
    (host side). ``device_id`` is the device's id on its bus (moteus CAN id, ODrive axis);
    ``setup_*`` bound each request made while opening (handshake, configuration)."""

    baud_rate: int = DEFAULT_BAUD_RATE
    device_id: int = 1
    reply_timeout_s: float = 0.02
    setup_timeout_s: float = 0.25
    setup_attempts: int = 3
    watchdog_timeout_s: float = 0.1
    torque_limit_nm: float | None = None  # None: the device's own limit
    max_missed_replies: int = 2
    clear_faults: bool = False
    stuck_sensor_s: float = 0.5  # 0 disables the stuck-sensor check
    calibration: Calibration = field(default_factory=Calibration)

    def __post_init__(self) -> None:
        require(self.baud_rate > 0, f"baud rate must be > 0, got {self.baud_rate}")
        require(self.device_id >= 0, f"device id must be >= 0, got {self.device_id}")
        for name in ("reply_timeout_s", "setup_timeout_s", "watchdog_timeout_s"):
            value = getattr(self, name)
            require(math.isfinite(value) and value > 0, f"{name} must be > 0, got {value!r}")
        require(self.setup_attempts >= 1, "setup_attempts must be >= 1")
        require(self.max_missed_replies >= 1, "max_missed_replies must be >= 1")
        require(
            math.isfinite(self.stuck_sensor_s) and self.stuck_sensor_s >= 0,
            f"stuck_sensor_s must be >= 0, got {self.stuck_sensor_s!r}",
        )
        if self.torque_limit_nm is not None:
            require(
                math.isfinite(self.torque_limit_nm) and self.torque_limit_nm > 0,
                f"torque limit must be > 0 N*m, got {self.torque_limit_nm!r}",
            )


@dataclass(slots=True)
class LinkStats:
    """Counters of the command/reply link."""

    requests: int = 0
    replies: int = 0
    stale_replies: int = 0  # arrived after their request was given up
    missing_replies: int = 0  # never arrived
    nacks: int = 0


def open_error(url: str, exc: BaseException) -> PlantError:
    """Turn a pyserial open failure into an error that says what to do."""
    code = getattr(exc, "errno", None)
    text = str(exc)
    if code in (errno.ENOENT, errno.ENODEV, errno.ENXIO) or "No such file" in text:
        return PlantError(
            f"serial port {url} does not exist: is the driver plugged in and powered? "
            "List ports with 'ls /dev/ttyUSB* /dev/ttyACM*' or 'python -m serial.tools.list_ports'"
        )
    if code in (errno.EACCES, errno.EPERM) or "Permission denied" in text:
        return PlantError(
            f"permission denied opening {url}: add yourself to the dialout group "
            "('sudo usermod -aG dialout $USER', then log out and in) or install the udev rule "
            "in docs/hardware.md"
        )
    if code in (errno.EBUSY, errno.EAGAIN) or "lock" in text.lower():
        return PlantError(
            f"serial port {url} is busy: another program holds it (another ddpg-control, a "
            "serial monitor, ModemManager); close it and try again"
        )
    return PlantError(f"could not open {url}: {exc}")


def open_serial(url: str, config: LinkConfig) -> Any:
    """``url`` opened with pyserial (any of its URLs) and an exclusive lock, reads waiting at
    most the reply timeout; a one-line PlantError that says what to do when it will not open."""
    import serial

    try:
        return serial.serial_for_url(
            url,
            baudrate=config.baud_rate,
            timeout=config.reply_timeout_s,
            write_timeout=max(0.1, config.reply_timeout_s),
            exclusive=True,
        )
    except (serial.SerialException, OSError, ValueError) as exc:
        raise open_error(url, exc) from None


class DevicePlant(Plant):
    """The lifecycle of every driver's plant (as ros2_control's hardware components): the
    constructor only stores its configuration; :meth:`open` (or entering the context) connects
    and sets the device up, and closes again if any of that fails; ``close()`` (or leaving the
    context, on any exit path) leaves zero torque and the device disarmed, and never raises.
    By default the port is ``url`` opened by :func:`open_serial` into ``_port``."""

    url: str
    config: LinkConfig
    _port: Any = None
    _missed_in_a_row: int = 0
    _last_state: JointState | None = None
    #: The torque limit in device N*m, known once the device is set up.
    _device_limit_nm: float = 0.0

    @property
    def max_torque_nm(self) -> float:
        """The plant's limit in N*m: the device's, through the calibration's torque scale."""
        if not self._device_limit_nm:
            raise self._not_open()
        return self._device_limit_nm / self.config.calibration.torque_scale

    @property
    def is_open(self) -> bool:
        return self._port is not None

    def _connect(self) -> None:
        """Open the port (or the vendor's transport)."""
        self._port = open_serial(self.url, self.config)

    @abstractmethod
    def _set_up(self) -> None:
        """Check, configure and arm the device; ``close()`` follows if this raises."""

    def open(self) -> Self:
        self._connect()
        try:
            self._set_up()
        except BaseException:
            self.close()
            raise
        return self

    def __enter__(self) -> Self:
        return self if self.is_open else self.open()

    def _not_open(self) -> PlantError:
        return PlantError(f"{type(self).__name__} is not open: call open() or use 'with' first")

    def _missed_read(self, who: str, what: str, advice: str) -> JointState:
        """A read without a valid reply: the last state again; or, after ``max_missed_replies``
        in a row (or before any state), PlantError "WHO stopped answering (N WHAT): ADVICE"."""
        self._missed_in_a_row += 1
        if self._missed_in_a_row >= self.config.max_missed_replies or self._last_state is None:
            raise PlantError(f"{who} stopped answering ({self._missed_in_a_row} {what}): {advice}")
        log.debug("%s: no reply; reusing the last state", who)
        return self._last_state
