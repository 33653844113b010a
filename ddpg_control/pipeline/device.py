"""The motor driver a command drives (``run --device``, ``excite --device``, ``calibrate``):
``--driver`` picks a row of :data:`hardware.drivers.DRIVERS`, whose settings come from the command
line, then the device profile, then the driver's defaults. The options themselves are
:mod:`ddpg_control.cli.device_options`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ddpg_control.runtime.errors import ConfigError

if TYPE_CHECKING:
    from ddpg_control.runtime.contracts import Plant
    from hardware.drivers import DeviceSettings
    from hardware.profile import DeviceProfile

log = logging.getLogger(__name__)


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
    return settings_from_profile(args, period_s, find_profile(args))


def settings_from_profile(
    args: Any, period_s: float, profile: DeviceProfile | None
) -> DeviceSettings:
    """As :func:`device_settings`, starting from ``profile`` (None: the driver's defaults)
    rather than from the one :func:`find_profile` picks."""
    from hardware.drivers import DeviceSettings, get_driver

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
