"""Command-line options of the serial plant, and building it from them (used by ``run --device``).

Kept here so the CLI's run command stays one small branch per plant kind.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from hardware.protocol import DEFAULT_BAUD_RATE

if TYPE_CHECKING:
    from hardware.client import SerialConfig, SerialPlant

#: Reply timeout as a fraction of the control period, and its bounds in seconds.
REPLY_TIMEOUT_FRACTION = 0.5
REPLY_TIMEOUT_MIN_S = 0.0005
REPLY_TIMEOUT_MAX_S = 0.02


def add_device_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("motor driver (--device)")
    group.add_argument(
        "--baud", type=int, default=DEFAULT_BAUD_RATE, help="baud rate (default: %(default)s)"
    )
    group.add_argument(
        "--watchdog-ms",
        type=int,
        default=100,
        help="device watchdog: zero torque and a latched fault if no command arrives within "
        "this many ms (default: %(default)s)",
    )
    group.add_argument(
        "--upright-offset",
        type=float,
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
        type=float,
        default=1.0,
        help="device torque units per N*m, e.g. to correct a measured motor constant (default: 1)",
    )
    group.add_argument(
        "--stuck-sensor-s",
        type=float,
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


def reply_timeout_s(period_s: float) -> float:
    """How long a read waits for its reply: half a period, within [0.5 ms, 20 ms]."""
    return min(REPLY_TIMEOUT_MAX_S, max(REPLY_TIMEOUT_MIN_S, REPLY_TIMEOUT_FRACTION * period_s))


def serial_config(args: Any, period_s: float) -> SerialConfig:
    from hardware.client import Calibration, SerialConfig

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
