"""``ddpg-control excite --sim | --device PORT``: drive the joint with a safe excitation signal.

The first step of identifying a rig: a multisine (or chirp) torque, capped by ``--torque``,
kept near hanging down by an angle envelope, sent through the same control loop, safety layer
and telemetry writer as ``run``. Its telemetry CSV is what ``ddpg-control identify`` fits.
Nothing here imports torch: it runs on the robot.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ddpg_control.cli.arguments import (
    add_runs_dir_argument,
    finite_float,
    non_negative_int,
    positive_float,
)
from ddpg_control.cli.device_plant import add_device_arguments, serial_port_or_url
from ddpg_control.cli.params_option import add_params_argument, params_from_args
from ddpg_control.runtime.contracts import Clock, Plant
from ddpg_control.runtime.errors import ConfigError
from ddpg_control.runtime.excitation import SIGNALS, ExcitationConfig
from ddpg_control.runtime.safety import DEFAULT_MAX_VELOCITY_RAD_S

if TYPE_CHECKING:
    from hardware.drivers import DeviceSettings
    from sim.params import PendulumParams

#: Where excitation telemetry goes by default: <runs-dir>/excitation/<kind>-<time>.csv.
EXCITATION_DIR = "excitation"


def add_parser(subparsers: Any) -> None:
    defaults = ExcitationConfig()
    parser = subparsers.add_parser(
        "excite",
        help="drive the joint with a safe excitation torque and record telemetry to identify it",
        description=(
            "Send a multisine or chirp torque (peak --torque) near hanging down, through the "
            "control loop and safety layer of 'run', and write its telemetry CSV for "
            "'ddpg-control identify'. Beyond --envelope rad from hanging down the torque only "
            "brakes; beyond 1.5 x --envelope the run stops at zero torque. Every exit path "
            "sends zero torque."
        ),
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--sim", action="store_true", help="excite the PyBullet pendulum")
    target.add_argument(
        "--device", type=serial_port_or_url, metavar="PORT", help="excite the motor driver here"
    )
    parser.add_argument(
        "--signal",
        choices=SIGNALS,
        default=defaults.signal,
        help="a multisine over the band (Schroeder phases), or a chirp sweeping it over the "
        "duration (default: %(default)s)",
    )
    parser.add_argument(
        "--torque",
        type=positive_float,
        default=defaults.torque_nm,
        help="peak torque, N*m; keep it below the limit, or the recording is saturated "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--envelope",
        type=positive_float,
        default=defaults.envelope_rad,
        help="rad from hanging down beyond which the torque only brakes (default: %(default)s)",
    )
    parser.add_argument(
        "--duration",
        type=positive_float,
        default=defaults.duration_s,
        help="seconds (30 identifies well; default: %(default)s)",
    )
    parser.add_argument(
        "--rate", type=positive_float, default=50.0, help="loop rate, Hz (default: %(default)s)"
    )
    parser.add_argument(
        "--f-min",
        type=positive_float,
        default=defaults.f_min_hz,
        help="lowest frequency, Hz (default: %(default)s)",
    )
    parser.add_argument(
        "--f-max",
        type=positive_float,
        default=defaults.f_max_hz,
        help="highest frequency, Hz (default: %(default)s)",
    )
    parser.add_argument(
        "--signal-seed",
        type=non_negative_int,
        default=0,
        help="seed of the multisine's phase shift (default: %(default)s)",
    )
    parser.add_argument(
        "--max-torque",
        type=positive_float,
        default=None,
        help="your own torque limit, N*m (optional)",
    )
    parser.add_argument(
        "--max-velocity",
        type=positive_float,
        default=DEFAULT_MAX_VELOCITY_RAD_S,
        help="stop when |velocity| exceeds this, rad/s (default: %(default)s)",
    )
    parser.add_argument(
        "--telemetry",
        type=Path,
        default=None,
        help="telemetry CSV to write, or a folder for it "
        f"(default: <runs-dir>/{EXCITATION_DIR}/<kind>-<time>.csv)",
    )
    add_runs_dir_argument(parser, help="where the default telemetry folder goes")
    parser.add_argument("--quiet", action="store_true", help="no live status line")
    sim = parser.add_argument_group("simulator (--sim)")
    sim.add_argument("--preset", default="default", help="simulator preset (default: %(default)s)")
    add_params_argument(sim)
    sim.add_argument(
        "--start-angle",
        type=finite_float,
        default=math.pi,
        help="start angle in rad, 0 = upright (default: pi)",
    )
    sim.add_argument(
        "--seed", type=non_negative_int, default=None, help="seed for the simulator's noise"
    )
    sim.add_argument(
        "--virtual-time",
        action="store_true",
        help="run in simulated time, as fast as possible",
    )
    add_device_arguments(parser)
    parser.set_defaults(handler=run)


def _sim_params(args: argparse.Namespace) -> PendulumParams:
    """The simulated rig: --params, else --preset, stepped at least every millisecond."""
    from sim.params import preset
    from sim.params_file import with_fine_physics

    loaded = params_from_args(args)
    return with_fine_physics(loaded.params if loaded is not None else preset(args.preset))


def _build_plant(
    args: argparse.Namespace,
    clock: Clock,
    period_s: float,
    params: PendulumParams | None,
    settings: DeviceSettings | None,
) -> Plant:
    if params is None:
        from ddpg_control.cli.device_plant import open_device_plant

        device_plant: Plant = open_device_plant(args, period_s, settings)
        return device_plant
    from sim.plant import SimPlant

    sim_plant: Plant = SimPlant(
        params, clock=clock, start_angle_rad=args.start_angle, seed=args.seed
    )
    return sim_plant


def _telemetry_path(args: argparse.Namespace, kind: str) -> Path:
    name = f"{kind}-{_dt.datetime.now().strftime('%Y%m%d-%H%M%S-%f')}.csv"
    if args.telemetry is not None:
        given = Path(args.telemetry)
        return given / name if given.is_dir() or given.suffix == "" else given
    return Path(args.runs_dir) / EXCITATION_DIR / name


def run(args: argparse.Namespace) -> int:
    from ddpg_control.cli.device_plant import device_settings
    from ddpg_control.cli.run import _open_telemetry, _StatusLine
    from ddpg_control.runtime.control_loop import LoopConfig, StopRequest, run_loop, stop_on_signals
    from ddpg_control.runtime.excitation import Excitation
    from ddpg_control.runtime.safety import SafetyLimits
    from ddpg_control.runtime.timing import MonotonicClock, SimulatedClock

    if args.device is not None and args.virtual_time:
        raise ConfigError("--virtual-time applies to --sim only: a device runs in real time")
    period_s = 1.0 / args.rate
    config = ExcitationConfig(
        signal=args.signal,
        torque_nm=args.torque,
        envelope_rad=args.envelope,
        duration_s=args.duration,
        period_s=period_s,
        f_min_hz=args.f_min,
        f_max_hz=args.f_max,
        seed=args.signal_seed,
    )
    limits = SafetyLimits(max_torque_nm=args.max_torque, max_velocity_rad_s=args.max_velocity)
    kind = "device" if args.device is not None else "sim"
    clock: Clock = SimulatedClock() if args.virtual_time else MonotonicClock()
    telemetry_path = _telemetry_path(args, kind)
    # Everything that takes time happens before the plant is opened: an armed device's
    # watchdog trips if the first torque comes late.
    excitation = Excitation(config, args.max_torque or config.torque_nm)
    params = _sim_params(args) if args.device is None else None
    if params is not None:  # a device says its limit once opened
        excitation.check_limit(min(params.max_torque_nm, args.max_torque or math.inf))
    stop = StopRequest()
    status = None if args.quiet else _StatusLine()
    loop_config = LoopConfig(
        period_s=period_s, duration_s=args.duration, limits=limits, warm_up_calls=0
    )
    # a bad --profile or a missing vendor package is refused before any file is written
    settings = device_settings(args, period_s) if args.device is not None else None
    telemetry = _open_telemetry(telemetry_path, args.virtual_time)
    try:
        plant = _build_plant(args, clock, period_s, params, settings)
    except BaseException:
        telemetry.close()
        raise
    try:
        limit = min(plant.max_torque_nm, args.max_torque or math.inf)
        excitation.check_limit(limit)
        print(
            f"exciting the {'simulator' if kind == 'sim' else args.device}: {args.signal} "
            f"{args.f_min:g}-{args.f_max:g} Hz, peak {args.torque:g} N*m (limit {limit:g}), "
            f"envelope {args.envelope:g} rad, {args.duration:g} s at {args.rate:g} Hz",
            file=sys.stderr,
        )
        with telemetry, stop_on_signals(stop):
            result = run_loop(
                plant,
                excitation,
                clock,
                loop_config,
                telemetry=telemetry,
                stop=stop,
                on_status=status,
            )
    except BaseException:
        plant.close()
        raise
    if status is not None:
        status.finish()
    print(f"== excitation summary ({result.torque_limit_nm:g} N*m torque limit) ==")
    for line in result.summary().lines():
        print("  " + line)
    if excitation.braked_ticks:
        print(f"  the envelope braked in {excitation.braked_ticks} of {result.ticks} ticks")
    print(f"telemetry: {telemetry_path}")
    print(f"  identify it: ddpg-control identify {telemetry_path}")
    print(f"exit: {result.reason.value} ({result.exit_code}): {result.message}")
    return result.exit_code
