"""Configuration of the serial plant (link, watchdog, calibration) and open-error messages."""

from __future__ import annotations

import errno
import math
from dataclasses import dataclass, field

from ddpg_control.runtime.errors import PlantError
from ddpg_control.runtime.validation import require
from hardware.protocol import DEFAULT_BAUD_RATE

#: Reply timeout as a fraction of the control period, and its bounds in seconds.
REPLY_TIMEOUT_FRACTION = 0.5
REPLY_TIMEOUT_MIN_S = 0.0005
REPLY_TIMEOUT_MAX_S = 0.02


def reply_timeout_s(period_s: float) -> float:
    """How long a read waits for its reply: half a period, within [0.5 ms, 20 ms]."""
    return min(REPLY_TIMEOUT_MAX_S, max(REPLY_TIMEOUT_MIN_S, REPLY_TIMEOUT_FRACTION * period_s))


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


@dataclass(frozen=True, slots=True)
class SerialConfig:
    """How to talk to the device. Times in seconds, torques in N*m (host side)."""

    baud_rate: int = DEFAULT_BAUD_RATE
    reply_timeout_s: float = 0.02
    handshake_timeout_s: float = 0.25
    handshake_attempts: int = 3
    watchdog_timeout_s: float = 0.1
    torque_limit_nm: float | None = None  # None: the device's own limit
    max_missed_replies: int = 2
    clear_faults: bool = False
    stuck_sensor_s: float = 0.5  # 0 disables the stuck-sensor check
    calibration: Calibration = field(default_factory=Calibration)

    def __post_init__(self) -> None:
        require(self.baud_rate > 0, f"baud rate must be > 0, got {self.baud_rate}")
        for name in ("reply_timeout_s", "handshake_timeout_s", "watchdog_timeout_s"):
            value = getattr(self, name)
            require(math.isfinite(value) and value > 0, f"{name} must be > 0, got {value!r}")
        require(self.handshake_attempts >= 1, "handshake_attempts must be >= 1")
        require(self.max_missed_replies >= 1, "max_missed_replies must be >= 1")
        require(
            math.isfinite(self.stuck_sensor_s) and self.stuck_sensor_s >= 0,
            "stuck_sensor_s must be >= 0",
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
