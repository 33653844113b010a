"""``ddpg-control calibrate --device PORT [--driver X]``: measure the rig once, save a profile.

With the motor limp (zero torque, re-sent every tick so the device watchdog stays quiet) and the
pendulum hanging still, it reads the raw angle for ``--duration-s``: the upright offset is that
angle plus pi. Then (unless ``--no-step``) it commands a small constant torque
``--step-torque-nm`` and
watches the pendulum swing about its new equilibrium: positive torque must turn the reading
positive (else motor and encoder disagree, which no direction setting fixes), and with
``--gravity-torque-nm`` (the pendulum's m*g*r, N*m, r the pivot-to-centre-of-mass distance) the
equilibrium angle ``phi`` gives the real torque ``m*g*r*sin(phi)``, hence the torque scale.
The result goes to ``--profile FILE`` or to the profile saved for the port, which ``run --device``
picks up. Any driver works: each contributes its own settings (``--driver-option``).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from pathlib import Path
from typing import Any

from ddpg_control.cli.arguments import (
    MEANINGS,
    add_device_torque_limit_argument,
    add_duration_argument,
    add_quiet_argument,
    non_negative_float,
    positive_float,
    serial_port_or_url,
)
from ddpg_control.cli.device_options import add_device_arguments
from ddpg_control.runtime.contracts import Plant, wrap_angle
from ddpg_control.runtime.errors import ConfigError, PlantError

#: The calibration reads and re-sends zero torque at this rate.
CALIBRATE_RATE_HZ = 100.0
#: The period the driver sizes its reply timeouts from: calibration is not timing-critical,
#: so replies may take as long as at 20 Hz (a loaded machine, a slow link).
CALIBRATE_REPLY_PERIOD_S = 0.05
#: Unanswered reads in a row calibrate tolerates (each costs one reply timeout, at most 20 ms
#: here, well inside the 100 ms device watchdog; zero torque is re-sent every tick).
CALIBRATE_MAX_MISSED_READS = 4
#: The hanging pendulum counts as still when its raw angle spans less than this.
STILL_SPAN_RAD = 0.05
#: The smallest equilibrium shift (rad) a torque step must produce to measure the scale.
MIN_STEP_SHIFT_RAD = 0.01


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "calibrate",
        allow_abbrev=False,  # an old option name is an error, not a prefix of a new one
        help="measure the motor driver's upright offset and torque scale; save a device profile",
        description=(
            "Connect to the motor driver with the motor limp, measure the hanging angle (upright "
            "offset = hanging + pi), step a small torque to check its sign and, given "
            "--gravity-torque-nm, measure the torque scale; save driver, id, baud, offsets, scale, "
            "limit and watchdog to a TOML profile that 'run --device' picks up."
        ),
    )
    parser.add_argument(
        "--device",
        type=serial_port_or_url,
        metavar="PORT",
        required=True,
        help=MEANINGS["--device"],
    )
    add_duration_argument(parser, "to read the hanging pendulum", 1.0, positive_float)
    parser.add_argument(
        "--step-torque-nm",
        metavar="NM",
        type=positive_float,
        default=0.3,
        help="the torque step in N*m, small enough to stay well below horizontal "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--step-duration-s",
        metavar="S",
        type=positive_float,
        default=2.0,
        help="how long to hold the torque step, seconds; cover at least one swing "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--no-step",
        action="store_true",
        help="only measure the upright offset; keep the torque scale as it is",
    )
    parser.add_argument(
        "--gravity-torque-nm",
        metavar="NM",
        type=non_negative_float,
        default=0.0,
        help="the pendulum's m*g*r in N*m (r: pivot to centre of mass), to measure the torque "
        "scale; 0 keeps the scale as it is (default: 0)",
    )
    detail = "to save in the profile; default: the profile's, if any"
    add_device_torque_limit_argument(parser, detail, None)
    add_quiet_argument(parser)
    add_device_arguments(parser)
    parser.set_defaults(handler=run)


def _hold(plant: Plant, torque_nm: float, seconds: float) -> list[float]:
    """Apply ``torque_nm`` (re-sent every tick) for ``seconds``; the angles read meanwhile."""
    angles = []
    period_s = 1.0 / CALIBRATE_RATE_HZ
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        angles.append(plant.read().angle_rad)
        plant.apply(torque_nm)
        time.sleep(period_s)
    return angles


def _progress(args: argparse.Namespace, message: str) -> None:
    if not args.quiet:
        print(message, file=sys.stderr)


def circular_mean(angles: list[float]) -> float:
    return math.atan2(
        sum(math.sin(a) for a in angles) / len(angles),
        sum(math.cos(a) for a in angles) / len(angles),
    )


def measure(plant: Plant, args: argparse.Namespace) -> tuple[float, float | None]:
    """(raw hanging angle, measured torque scale or None). The plant reads raw: offset 0,
    direction 1, torque scale 1."""
    _progress(args, f"reading the hanging pendulum for {args.duration_s:g} s: keep it still")
    rest = _hold(plant, 0.0, args.duration_s)
    hanging = circular_mean(rest)
    span = max(abs(wrap_angle(a - hanging)) for a in rest) * 2
    if span > STILL_SPAN_RAD:
        raise ConfigError(
            f"the pendulum moved {span:.3f} rad while it should hang still: let it settle and "
            "run calibrate again"
        )
    if args.no_step:
        return hanging, None
    step = min(args.step_torque_nm, 0.9 * plant.max_torque_nm)
    _progress(args, f"stepping {step:g} N*m for {args.step_duration_s:g} s")
    swing = [wrap_angle(a - hanging) for a in _hold(plant, step, args.step_duration_s)]
    plant.apply(0.0)
    _hold(plant, 0.0, 0.05)
    # Undamped, the pendulum swings between its start and twice its new equilibrium; the
    # middle of the extremes is the equilibrium (a little low with damping).
    shift = (max(swing) + min(swing)) / 2
    if abs(shift) < MIN_STEP_SHIFT_RAD:
        raise PlantError(
            f"a {step:g} N*m torque step moved the pendulum only {shift:+.4f} rad: is the motor "
            "powered and enabled? raise --step-torque-nm for a stiff rig"
        )
    if shift < 0:
        raise PlantError(
            f"a positive torque turned the reading negative ({shift:+.4f} rad): the motor and "
            "the encoder count in opposite directions; fix that on the device (its direction "
            "or drive-mode setting), no --direction can"
        )
    if not args.gravity_torque_nm:
        return hanging, None
    real_nm = args.gravity_torque_nm * math.sin(shift)
    return hanging, step / real_nm


def run(args: argparse.Namespace) -> int:
    from ddpg_control.pipeline.device import settings_from_profile
    from hardware.drivers import get_driver, load
    from hardware.profile import DeviceProfile, profile_path_for_port

    # Start from the profile being written, if it exists (a new --profile file starts from the
    # driver's defaults, never from the port's saved profile); one for another driver is
    # replaced, not merged.
    path = Path(args.profile) if args.profile is not None else profile_path_for_port(args.device)
    start = DeviceProfile.load(path) if path.is_file() else None
    if start is not None and args.driver is not None and start.driver != args.driver:
        _progress(
            args,
            f"{path} is a {start.driver} profile: calibrating {args.driver} anew replaces it",
        )
        start = None
    settings = settings_from_profile(args, CALIBRATE_REPLY_PERIOD_S, start)
    if args.device_torque_limit_nm is not None:
        settings = dataclasses.replace(settings, torque_limit_nm=args.device_torque_limit_nm)
    direction = settings.direction
    spec = get_driver(settings.driver)
    raw = dataclasses.replace(
        settings,
        upright_offset_rad=0.0,
        direction=1,
        torque_scale=1.0,
        stuck_sensor_s=0.0,
        max_missed_reads=CALIBRATE_MAX_MISSED_READS,
    )
    with load(spec.plant)(raw) as plant:
        hanging, measured_scale = measure(plant, args)
    upright = wrap_angle(hanging + math.pi)
    scale = measured_scale if measured_scale is not None else settings.torque_scale
    profile = DeviceProfile(
        driver=settings.driver,
        port=settings.port,
        baud=settings.baud,
        device_id=settings.device_id,
        upright_offset_rad=round(upright, 6),
        direction=direction,
        torque_scale=round(scale, 6),
        max_torque_nm=settings.torque_limit_nm,
        watchdog_ms=settings.watchdog_ms,
        options=dict(settings.options),
    )
    profile.save(path)
    print(f"upright offset {upright:+.4f} rad (hanging reads {hanging:+.4f})")
    if measured_scale is not None:
        print(f"torque scale {scale:.4f} device N*m per N*m (measured)")
    print(f"profile: {path}")
    print(f"  run with it: ddpg-control run --device {settings.port} --profile {path}")
    return 0
