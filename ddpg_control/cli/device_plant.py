"""The serial plant's command-line options, and building the plant from them (``run --device``).

Kept apart from :mod:`ddpg_control.cli.run` so that command stays one small branch per plant kind.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ddpg_control.cli.arguments import (
    finite_float,
    non_negative_float,
    positive_float,
    positive_int,
)
from hardware.protocol import DEFAULT_BAUD_RATE

if TYPE_CHECKING:
    from hardware.client import SerialConfig, SerialPlant

#: pyserial URL schemes that connect to a TCP host and port.
TCP_URL_SCHEMES = ("socket", "rfc2217")


def serial_port_or_url(text: str) -> str:
    """``--device``: a serial port path or a pyserial URL. A ``socket://`` or ``rfc2217://`` URL
    must name a TCP port 1..65535 after its host, e.g. ``socket://127.0.0.1:5000``."""
    if not text:
        raise argparse.ArgumentTypeError("needs a serial port or URL, e.g. /dev/ttyUSB0")
    scheme, sep, _ = text.partition("://")
    if sep and scheme.lower() in TCP_URL_SCHEMES:
        try:
            port = urlsplit(text).port
        except ValueError:  # not a number, or beyond 65535
            port = None
        if not port:
            raise argparse.ArgumentTypeError(
                f"{text!r} needs a TCP port 1..65535 after the host, e.g. {scheme}://127.0.0.1:5000"
            )
    return text


def add_device_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("motor driver (--device)")
    group.add_argument(
        "--baud",
        type=positive_int,
        default=DEFAULT_BAUD_RATE,
        help="baud rate (default: %(default)s)",
    )
    group.add_argument(
        "--watchdog-ms",
        type=positive_int,
        default=100,
        help="device watchdog: zero torque and a latched fault if no command arrives within "
        "this many ms (default: %(default)s)",
    )
    group.add_argument(
        "--upright-offset",
        type=finite_float,
        default=0.0,
        help="the angle in rad the device reads when the pendulum is upright (default: 0)",
    )
    group.add_argument(
        "--direction",
        type=int,
        choices=(1, -1),
        default=1,
        help="-1 if the device counts clockwise as positive (default: 1)",
    )
    group.add_argument(
        "--torque-scale",
        type=positive_float,
        default=1.0,
        help="device torque units per N*m, e.g. to correct a measured motor constant (default: 1)",
    )
    group.add_argument(
        "--stuck-sensor-s",
        type=non_negative_float,
        default=0.5,
        help="stop when the encoder reads exactly the same for this long while more than 5%% "
        "of the torque limit is applied; raise it for a rig with much stiction, 0 disables "
        "(default: %(default)s)",
    )
    group.add_argument(
        "--clear-faults",
        action="store_true",
        help="clear a fault the device latched before this run (e.g. its watchdog tripped "
        "because the last host was killed)",
    )


def serial_config(args: Any, period_s: float) -> SerialConfig:
    from hardware.client import Calibration, SerialConfig
    from hardware.serial_config import reply_timeout_s

    return SerialConfig(
        baud_rate=args.baud,
        reply_timeout_s=reply_timeout_s(period_s),
        watchdog_timeout_s=args.watchdog_ms / 1000.0,
        torque_limit_nm=args.max_torque,
        clear_faults=args.clear_faults,
        stuck_sensor_s=args.stuck_sensor_s,
        calibration=Calibration(
            upright_offset_rad=args.upright_offset,
            direction=args.direction,
            torque_scale=args.torque_scale,
        ),
    )


def open_device_plant(args: Any, period_s: float) -> SerialPlant:
    """Open, handshake and arm the motor driver at ``args.device``."""
    from hardware.client import SerialPlant

    return SerialPlant(args.device, serial_config(args, period_s)).open()
