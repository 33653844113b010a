"""The motor driver's command-line options (``run``, ``excite``, ``calibrate``); the driver is
built from them by :mod:`ddpg_control.pipeline.device`."""

from __future__ import annotations

import argparse
from pathlib import Path

from ddpg_control.cli.arguments import (
    add_device_id_argument,
    add_driver_argument,
    direction,
    finite_float,
    key_value,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
)
from hardware.profile import PROFILE_DIR_ENV


def _driver_help() -> str:
    from hardware.drivers import DRIVERS

    return "; ".join(f"{name}: {spec.summary}" for name, spec in DRIVERS.items())


def _baud_help() -> str:
    from hardware.drivers import DRIVERS

    return ", ".join(f"{name} {spec.default_baud}" for name, spec in DRIVERS.items())


def _driver_options_help() -> str:
    from hardware.drivers import DRIVERS

    parts = [
        f"{name}: "
        + ", ".join(f"{key} ({opt[2]}; default {opt[1]})" for key, opt in spec.options.items())
        for name, spec in DRIVERS.items()
        if spec.options
    ]
    return "; ".join(parts)


def add_device_arguments(parser: argparse.ArgumentParser) -> None:
    from hardware.drivers import driver_names

    group = parser.add_argument_group("motor driver (--device)")
    detail = f"default: the profile's, else ddpg. {_driver_help()}"
    add_driver_argument(group, driver_names(), detail, default=None)
    group.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="FILE",
        help="the device profile 'ddpg-control calibrate' wrote (default: the one saved for "
        f"--device's port in ${PROFILE_DIR_ENV} or ~/.config/ddpg-control/devices/, if any); "
        "options given here win over it",
    )
    detail = "default: the profile's, else the driver's (1; ODrive 0)"
    add_device_id_argument(group, detail, type=non_negative_int)
    group.add_argument(
        "--driver-option",
        type=key_value,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"a driver-specific setting, repeatable. {_driver_options_help()}",
    )
    group.add_argument(
        "--baud",
        metavar="BAUD",
        type=positive_int,
        default=None,
        help=f"baud rate (default: the profile's, else the driver's: {_baud_help()})",
    )
    group.add_argument(
        "--watchdog-ms",
        metavar="MS",
        type=positive_int,
        default=None,
        help="device watchdog: zero torque and a latched fault if no command arrives within "
        "this many ms (default: the profile's, else 100)",
    )
    group.add_argument(
        "--upright-offset-rad",
        metavar="RAD",
        type=finite_float,
        default=None,
        help="the angle in rad the device reads when the pendulum is upright "
        "(default: the profile's, else 0)",
    )
    group.add_argument(
        "--direction",
        type=direction,
        default=None,
        metavar="{1,-1}",
        help="-1 if the device counts clockwise as positive (default: the profile's, else 1)",
    )
    group.add_argument(
        "--torque-scale",
        metavar="SCALE",
        type=positive_float,
        default=None,
        help="device torque units per N*m, e.g. to correct a measured motor constant "
        "(default: the profile's, else 1)",
    )
    group.add_argument(
        "--stuck-sensor-s",
        metavar="S",
        type=non_negative_float,
        default=0.5,
        help="stop when the encoder reads exactly the same for this long while more than half "
        "of the torque limit is applied; raise it for a rig with much stiction, 0 disables "
        "(default: %(default)s)",
    )
    group.add_argument(
        "--clear-faults",
        action="store_true",
        help="clear a fault the device latched before this run (e.g. its watchdog tripped "
        "because the last host was killed)",
    )
