"""``ddpg-control excite --sim | --device PORT``: drive the joint with a safe excitation signal.

The first step of identifying a rig: a multisine (or chirp) torque, capped by ``--torque-nm``,
kept near hanging down by an angle envelope, sent through the same control loop, safety layer
and telemetry writer as ``run``. Its telemetry CSV is what ``ddpg-control identify`` fits.
Nothing here imports torch: it runs on the robot.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ddpg_control.cli.arguments import (
    add_duration_argument,
    add_output_argument,
    add_preset_argument,
    add_quiet_argument,
    add_rate_argument,
    add_runs_dir_argument,
    add_safety_arguments,
    add_seed_argument,
    add_start_state_arguments,
    add_target_arguments,
    add_virtual_time_argument,
    positive_float,
)
from ddpg_control.cli.device_options import add_device_arguments
from ddpg_control.cli.params_option import add_params_argument, params_from_args
from ddpg_control.cli.progress import StatusLine
from ddpg_control.cli.view_options import add_view_arguments, check_view_options, watched
from ddpg_control.pipeline.rig import rig_params
from ddpg_control.pipeline.runs import open_telemetry, telemetry_path
from ddpg_control.runtime.contracts import Clock, Plant
from ddpg_control.runtime.errors import ConfigError
from ddpg_control.runtime.excitation import SIGNALS, ExcitationConfig
from ddpg_control.runtime.safety import DEFAULT_MAX_VELOCITY_RAD_S

if TYPE_CHECKING:
    from hardware.drivers import DeviceSettings
    from sim.params import PendulumParams

#: Where excitation telemetry goes by default: <runs-dir>/excitation/<kind>-<time>.csv.
EXCITATION_DIR = "excitation"
DEFAULT_RATE_HZ = 50.0
HELP = "drive the joint with a safe excitation torque and record telemetry to identify it"
DESCRIPTION = (
    "Send a multisine or chirp torque (peak --torque-nm) near hanging down, through the "
    "control loop and safety layer of 'run', and write its telemetry CSV for "
    "'ddpg-control identify'. Beyond --envelope-rad from hanging down the torque only "
    "brakes; beyond 1.5 x --envelope-rad the run stops at zero torque. Every exit path "
    "sends zero torque."
)


def add_parser(subparsers: Any) -> None:
    defaults = ExcitationConfig()
    parser = subparsers.add_parser("excite", help=HELP, description=DESCRIPTION)
    add_target_arguments(parser)
    parser.add_argument(
        "--signal",
        choices=SIGNALS,
        default=defaults.signal,
        help="a multisine over the band (Schroeder phases), or a chirp sweeping it over the "
        "duration (default: %(default)s)",
    )
    parser.add_argument(
        "--torque-nm",
        type=positive_float,
        default=defaults.torque_nm,
        metavar="NM",
        help="peak torque, N*m; keep it below the limit, or the recording is saturated "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--envelope-rad",
        type=positive_float,
        default=defaults.envelope_rad,
        metavar="RAD",
        help="rad from hanging down beyond which the torque only brakes (default: %(default)s)",
    )
    add_duration_argument(parser, "30 identifies well", defaults.duration_s, type=positive_float)
    add_rate_argument(parser, DEFAULT_RATE_HZ)
    for bound, default in (("min", defaults.f_min_hz), ("max", defaults.f_max_hz)):
        parser.add_argument(
            f"--f-{bound}-hz",
            type=positive_float,
            default=default,
            metavar="HZ",
            help=f"the band's {'lowest' if bound == 'min' else 'highest'} frequency, Hz "
            "(default: %(default)s)",
        )
    add_seed_argument(parser, "the multisine's phases and the simulator's noise")
    add_safety_arguments(parser, DEFAULT_MAX_VELOCITY_RAD_S)
    add_output_argument(
        parser,
        "the telemetry CSV, or a folder for it",
        f"<runs-dir>/{EXCITATION_DIR}/<kind>-<time>.csv",
        type=Path,
    )
    add_runs_dir_argument(parser, "where the default telemetry folder goes")
    add_quiet_argument(parser)
    add_view_arguments(parser)
    sim = parser.add_argument_group("simulator (--sim)")
    add_preset_argument(sim, "the --params file, else default")
    add_params_argument(sim)
    add_start_state_arguments(sim, math.pi, "pi, hanging down", velocity=False)
    add_virtual_time_argument(sim)
    add_device_arguments(parser)
    parser.set_defaults(handler=run)


def _sim_params(args: argparse.Namespace) -> PendulumParams:
    """The simulated rig: --params, else --preset, stepped at least every millisecond."""
    from sim.params_file import with_fine_physics

    return with_fine_physics(rig_params(params_from_args(args), args.preset))


def _build_plant(
    args: argparse.Namespace,
    clock: Clock,
    period_s: float,
    params: PendulumParams | None,
    settings: DeviceSettings | None,
) -> Plant:
    if params is None:
        from ddpg_control.pipeline.device import open_device_plant

        device_plant: Plant = open_device_plant(args, period_s, settings)
        return device_plant
    from sim.plant import SimPlant

    sim_plant: Plant = SimPlant(
        params, clock=clock, start_angle_rad=args.start_angle_rad, seed=args.seed
    )
    return sim_plant


def run(args: argparse.Namespace) -> int:
    from ddpg_control.pipeline.device import device_settings
    from ddpg_control.runtime.control_loop import LoopConfig, StopRequest, run_loop, stop_on_signals
    from ddpg_control.runtime.excitation import Excitation
    from ddpg_control.runtime.safety import SafetyLimits
    from ddpg_control.runtime.timing import MonotonicClock, SimulatedClock

    if args.device is not None and args.virtual_time:
        raise ConfigError("--virtual-time applies to --sim only: a device runs in real time")
    check_view_options(args)
    period_s = 1.0 / args.rate_hz
    config = ExcitationConfig(
        signal=args.signal,
        torque_nm=args.torque_nm,
        envelope_rad=args.envelope_rad,
        duration_s=args.duration_s,
        period_s=period_s,
        f_min_hz=args.f_min_hz,
        f_max_hz=args.f_max_hz,
        seed=args.seed,
    )
    limits = SafetyLimits(
        max_torque_nm=args.torque_limit_nm, max_velocity_rad_s=args.max_velocity_rad_s
    )
    kind = "device" if args.device is not None else "sim"
    clock: Clock = SimulatedClock() if args.virtual_time else MonotonicClock()
    output = telemetry_path(args.output, Path(args.runs_dir) / EXCITATION_DIR, kind)
    # Everything that takes time happens before the plant is opened: an armed device's
    # watchdog trips if the first torque comes late.
    excitation = Excitation(config, args.torque_limit_nm or config.torque_nm)
    params = _sim_params(args) if args.device is None else None
    if params is not None:  # a device says its limit once opened
        excitation.check_limit(min(params.max_torque_nm, args.torque_limit_nm or math.inf))
    stop = StopRequest()
    status = None if args.quiet else StatusLine()
    loop_config = LoopConfig(
        period_s=period_s, duration_s=args.duration_s, limits=limits, warm_up_calls=0
    )
    # a bad --profile or a missing vendor package is refused before any file is written
    settings = device_settings(args, period_s) if args.device is not None else None
    telemetry = open_telemetry(output, args.virtual_time)
    try:
        plant = _build_plant(args, clock, period_s, params, settings)
    except BaseException:
        telemetry.close()
        raise
    try:
        limit = min(plant.max_torque_nm, args.torque_limit_nm or math.inf)
        excitation.check_limit(limit)
        print(
            f"exciting the {'simulator' if kind == 'sim' else args.device}: {args.signal} "
            f"{args.f_min_hz:g}-{args.f_max_hz:g} Hz, peak {args.torque_nm:g} N*m (limit "
            f"{limit:g}), envelope {args.envelope_rad:g} rad, {args.duration_s:g} s at "
            f"{args.rate_hz:g} Hz",
            file=sys.stderr,
        )
        with (
            telemetry,
            watched(
                args,
                telemetry,
                output,
                plant=plant,
                policy_max_torque_nm=excitation.max_torque_nm,
                config=loop_config,
                on_status=status,
                virtual_time=args.virtual_time,
            ) as watch,
            stop_on_signals(stop),
        ):
            result = run_loop(
                plant,
                excitation,
                clock,
                loop_config,
                telemetry=watch.sink,
                stop=stop,
                on_status=watch.on_status,
                observer=watch.observer,
            )
            watch.finish(result)
    except BaseException:
        plant.close()
        raise
    if status is not None:
        status.finish()
    print(f"== excitation summary ({result.torque_limit_nm:g} N*m torque limit) ==")
    for line in result.summary().lines(verdict=False):  # an excitation does not balance
        print("  " + line)
    if excitation.braked_ticks:
        print(f"  the envelope braked in {excitation.braked_ticks} of {result.ticks} ticks")
    print(f"telemetry: {output}")
    print(f"  identify it: ddpg-control identify {output}")
    print(f"exit: {result.reason.value} ({result.exit_code}): {result.message}")
    return result.exit_code
