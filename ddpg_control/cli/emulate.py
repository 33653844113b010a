"""``ddpg-control emulate``: a virtual motor driver on a pseudo-terminal or a loopback TCP port.

Any registered driver (``--driver``, default ``ddpg``) is served through the registry
(:mod:`hardware.drivers`). Prints the port to pass to ``run --device`` alone on the first line of
stdout, then logs to stderr. Runs until Ctrl-C / SIGTERM, ``--duration-s``, or (after an injected
``disconnect``) until the device's watchdog has tripped. The last log line is a summary with the
last torque command received, so scripts can check that the host left the motor at zero.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import signal
import sys
import threading
from typing import Any

from ddpg_control.cli.arguments import (
    add_device_id_argument,
    add_device_torque_limit_argument,
    add_driver_argument,
    add_duration_argument,
    add_seed_argument,
    add_start_state_arguments,
    int_in_range,
    kind_at_seconds,
    non_negative_float,
    positive_int,
    probability,
    tcp_port,
)
from ddpg_control.cli.params_option import add_params_argument, params_from_args
from ddpg_control.runtime.errors import ConfigError

#: The emulator options a driver may or may not honour (``DriverSpec.emulator_options``).
EMULATOR_SETTINGS = {"counts_per_rev": "--counts-per-rev", "protocol_version": "--protocol-version"}


def _faults_help() -> str:
    from hardware.drivers import DRIVERS

    return "; ".join(f"{name}: {', '.join(spec.fault_kinds)}" for name, spec in DRIVERS.items())


def add_parser(subparsers: Any) -> None:
    from hardware.drivers import driver_names

    parser = subparsers.add_parser(
        "emulate",
        allow_abbrev=False,  # an old option name is an error, not a prefix of a new one
        help="a virtual motor driver (pendulum physics behind a driver's serial protocol)",
        description=(
            "Serve a virtual motor driver (this project's hardware/PROTOCOL.md by default, or a "
            "vendor's protocol with --driver), with the PyBullet pendulum behind it in real "
            "time, a device watchdog and a torque limit. Prints the port path (or socket:// "
            "URL) on the first line; pass it to 'run --device'."
        ),
    )
    add_driver_argument(parser, driver_names(), "default: %(default)s", default="ddpg")
    parser.add_argument(
        "--tcp",
        type=tcp_port,
        metavar="PORT",
        default=None,
        help="listen on 127.0.0.1:PORT instead of a pseudo-terminal (0: any free port)",
    )
    add_duration_argument(parser, "to serve; 0 = until Ctrl-C", 0.0, non_negative_float)
    add_start_state_arguments(parser, math.pi, "pi, hanging down", velocity=False)
    add_device_torque_limit_argument(parser, "the emulated device's; default: %(default)s", 2.0)
    detail = "the emulated device's; default: the driver's, 1 for most"
    add_device_id_argument(parser, detail, type=int_in_range(0, 252))
    add_seed_argument(parser, "the injected link faults")
    add_params_argument(parser)
    parser.add_argument(
        "--counts-per-rev",
        metavar="N",
        type=positive_int,
        default=None,
        help="ddpg: the encoder resolution the device reports in (default: 16384, a 14-bit "
        "encoder; 4096 matches the realistic preset's 12-bit one)",
    )
    parser.add_argument(
        "--protocol-version",
        metavar="V",
        type=int_in_range(0, 0xFF),
        default=None,
        help="ddpg: pretend to speak another protocol version (0..255; default: 1)",
    )
    faults = parser.add_argument_group("fault injection")
    faults.add_argument(
        "--latency-ms", metavar="MS", type=non_negative_float, default=0.0, help="delay every reply"
    )
    faults.add_argument(
        "--drop-rate", metavar="P", type=probability, default=0.0, help="drop this share of replies"
    )
    faults.add_argument(
        "--corrupt-rate",
        metavar="P",
        type=probability,
        default=0.0,
        help="flip a bit in this share of replies",
    )
    faults.add_argument(
        "--fault",
        type=kind_at_seconds,
        action="append",
        default=[],
        metavar="KIND[@SECONDS]",
        help="inject fault KIND SECONDS after the device is first enabled (default 0); "
        f"repeatable. Each driver's kinds: {_faults_help()}",
    )
    parser.set_defaults(handler=run)


def emulator_options(args: argparse.Namespace) -> Any:
    """The driver's EmulatorOptions from the command line; one-line errors for what the chosen
    driver cannot do."""
    from hardware.drivers import EmulatorOptions, get_driver
    from hardware.emulator import LinkImpairments, ScheduledFault

    spec = get_driver(args.driver)
    for kind, _ in args.fault:
        if kind not in spec.fault_kinds:
            raise ConfigError(
                f"--fault {kind}: --driver {spec.name} injects {', '.join(spec.fault_kinds)}"
            )
    for name, option in EMULATOR_SETTINGS.items():
        if getattr(args, name) is not None and name not in spec.emulator_options:
            raise ConfigError(f"{option} is not a setting of --driver {spec.name}'s device")
    params = None
    loaded = params_from_args(args)
    if loaded is not None:  # the rig's physics, stepped at least every millisecond
        from sim.params_file import with_fine_physics

        params = with_fine_physics(loaded.params)
        params = params.with_changes(max_torque_nm=args.device_torque_limit_nm)
    options = EmulatorOptions(
        device_torque_limit_nm=args.device_torque_limit_nm,
        start_angle_rad=args.start_angle_rad,
        device_id=spec.default_id if args.device_id is None else args.device_id,
        seed=args.seed,
        tcp_port=args.tcp,
        link=LinkImpairments(
            reply_latency_s=args.latency_ms / 1000.0,
            drop_reply_probability=args.drop_rate,
            corrupt_reply_probability=args.corrupt_rate,
        ),
        faults=tuple(ScheduledFault(kind, at_s) for kind, at_s in args.fault),
        params=params,
    )
    settings = {name: getattr(args, name) for name in EMULATOR_SETTINGS}
    return dataclasses.replace(options, **settings)


def run(args: argparse.Namespace) -> int:
    from hardware.drivers import get_driver, load
    from hardware.emulator import freeze_startup_objects

    spec = get_driver(args.driver)
    options = emulator_options(args)
    spec.check_installed()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    if args.duration_s:
        timer = threading.Timer(args.duration_s, stop.set)
        timer.daemon = True
        timer.start()

    def announce(port: str) -> None:
        freeze_startup_objects()
        print(port, flush=True)

    summary = load(spec.emulator)(options, stop, announce)
    print(f"emulator: {summary}", file=sys.stderr, flush=True)
    return 0
