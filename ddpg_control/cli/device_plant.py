"""The motor driver's command-line options, and building its plant from them (``run --device``,
``calibrate``): ``--driver`` picks a row of :data:`hardware.drivers.DRIVERS`, whose settings come
from the command line, then the device profile, then the driver's defaults.

Kept apart from :mod:`ddpg_control.cli.run` so that command stays one small branch per plant kind.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ddpg_control.cli.arguments import (
    finite_float,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    whole_number,
)
from ddpg_control.runtime.errors import ConfigError
from hardware.profile import PROFILE_DIR_ENV

if TYPE_CHECKING:
    from ddpg_control.runtime.contracts import Plant
    from hardware.drivers import DeviceSettings
    from hardware.profile import DeviceProfile

log = logging.getLogger(__name__)

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


def direction(text: str) -> int:
    """``--direction``: 1, or -1 for a device that counts clockwise as positive."""
    value = whole_number(text)
    if value not in (1, -1):
        raise argparse.ArgumentTypeError(f"must be 1 or -1, got {value}")
    return value


def driver_option(text: str) -> tuple[str, str]:
    """``--driver-option KEY=VALUE``: one driver-specific setting (checked by the driver)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value.strip()


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
    group.add_argument(
        "--driver",
        choices=driver_names(),
        default=None,
        help=f"the motor driver's protocol (default: the profile's, else ddpg). {_driver_help()}",
    )
    group.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="FILE",
        help="the device profile 'ddpg-control calibrate' wrote (default: the one saved for "
        f"--device's port in ${PROFILE_DIR_ENV} or ~/.config/ddpg-control/devices/, if any); "
        "options given here win over it",
    )
    group.add_argument(
        "--device-id",
        metavar="N",
        type=non_negative_int,
        default=None,
        help="the device's id on its bus (Dynamixel ID, moteus CAN id, ODrive axis); "
        "default: the profile's, else the driver's (1; ODrive 0)",
    )
    group.add_argument(
        "--driver-option",
        type=driver_option,
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


def find_profile(args: Any) -> DeviceProfile | None:
    """``--profile FILE``, else the profile saved for ``--device``'s port, else None."""
    from hardware.profile import DeviceProfile, profile_path_for_port

    given = getattr(args, "profile", None)
    if given is not None:
        return DeviceProfile.load(Path(given))
    saved = profile_path_for_port(args.device)
    if saved.is_file():
        log.info("using the device profile %s", saved)
        return DeviceProfile.load(saved)
    return None


def _pick(*values: Any) -> Any:
    return next(v for v in values if v is not None)


def device_settings(args: Any, period_s: float) -> DeviceSettings:
    """Resolve the driver and its settings: command line, then profile, then the driver's
    defaults. Checks that the driver's vendor package is installed."""
    from hardware.drivers import DeviceSettings, get_driver

    profile = find_profile(args)
    name = args.driver or (profile.driver if profile else "ddpg")
    spec = get_driver(name)
    if profile is not None and profile.driver != name:
        raise ConfigError(
            f"--driver {name} but the device profile is for {profile.driver}: drop --driver, "
            "or name another --profile"
        )
    spec.check_installed()
    given: dict[str, Any] = dict(profile.options) if profile else {}
    given.update(dict(getattr(args, "driver_option", []) or []))
    user_limit = getattr(args, "torque_limit_nm", None)
    profile_limit = profile.max_torque_nm if profile else None
    limits = [x for x in (user_limit, profile_limit) if x is not None]
    return DeviceSettings(
        driver=name,
        port=args.device,
        baud=_pick(args.baud, profile and profile.baud, spec.default_baud),
        device_id=_pick(args.device_id, profile and profile.device_id, spec.default_id),
        period_s=period_s,
        watchdog_ms=_pick(args.watchdog_ms, profile and profile.watchdog_ms, 100),
        upright_offset_rad=_pick(
            args.upright_offset_rad, profile.upright_offset_rad if profile else None, 0.0
        ),
        direction=_pick(args.direction, profile.direction if profile else None, 1),
        torque_scale=_pick(args.torque_scale, profile.torque_scale if profile else None, 1.0),
        torque_limit_nm=min(limits) if limits else None,
        stuck_sensor_s=args.stuck_sensor_s,
        clear_faults=args.clear_faults,
        options=spec.parse_options(given),
    )


def open_device_plant(args: Any, period_s: float, settings: DeviceSettings | None = None) -> Plant:
    """Open, configure and arm the motor driver at ``args.device`` through its ``--driver``
    (``settings``: already resolved by :func:`device_settings`)."""
    from hardware.drivers import get_driver, load

    if settings is None:
        settings = device_settings(args, period_s)
    plant: Plant = load(get_driver(settings.driver).plant)(settings)
    return plant
