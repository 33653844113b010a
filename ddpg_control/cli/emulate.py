"""``ddpg-control emulate``: a virtual motor driver on a pseudo-terminal or a loopback TCP port.

Prints the port to pass to ``run --device`` alone on the first line of stdout, then logs to
stderr. Runs until Ctrl-C / SIGTERM, ``--duration``, or (with ``--disconnect-after``) until the
injected disconnect has tripped the watchdog. The last log line is a summary with the last torque
command received, so scripts can check that the host left the motor at zero.
"""

from __future__ import annotations

import argparse
import logging
import math
import signal
import sys
import threading
import time
from typing import Any

from ddpg_control.cli.arguments import (
    finite_float,
    int_in_range,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    probability,
    tcp_port,
)
from ddpg_control.cli.params_option import add_params_argument, params_from_args
from ddpg_control.runtime.errors import ConfigError, first_line

log = logging.getLogger(__name__)


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "emulate",
        help="a virtual motor driver (pendulum physics behind the serial protocol)",
        description=(
            "Serve a virtual motor driver speaking hardware/PROTOCOL.md, with the PyBullet "
            "pendulum behind it in real time, a device watchdog and a torque limit. Prints the "
            "port path (or socket:// URL) on the first line; pass it to 'run --device'."
        ),
    )
    parser.add_argument(
        "--tcp",
        type=tcp_port,
        metavar="PORT",
        default=None,
        help="listen on 127.0.0.1:PORT instead of a pseudo-terminal (0: any free port)",
    )
    parser.add_argument("--duration", type=float, default=0.0, help="seconds; 0 = until Ctrl-C")
    parser.add_argument(
        "--start-angle", type=finite_float, default=math.pi, help="rad, 0 = upright (default: pi)"
    )
    parser.add_argument(
        "--max-torque",
        type=positive_float,
        default=2.0,
        help="device torque limit, N*m (default: 2)",
    )
    parser.add_argument("--seed", type=non_negative_int, default=0, help="seed for injected faults")
    add_params_argument(parser)
    parser.add_argument(
        "--counts-per-rev",
        type=positive_int,
        default=16384,
        help="encoder resolution the device reports in (default: %(default)s, a 14-bit "
        "encoder; 4096 matches the realistic preset's 12-bit one)",
    )
    parser.add_argument(
        "--protocol-version",
        type=int_in_range(0, 0xFF),
        default=1,
        help="pretend to speak another version (0..255)",
    )
    faults = parser.add_argument_group("fault injection")
    faults.add_argument(
        "--latency-ms", type=non_negative_float, default=0.0, help="delay every reply"
    )
    faults.add_argument(
        "--drop-rate", type=probability, default=0.0, help="drop this share of replies"
    )
    faults.add_argument(
        "--corrupt-rate", type=probability, default=0.0, help="flip a bit in this share of replies"
    )
    faults.add_argument(
        "--disconnect-after",
        type=non_negative_float,
        default=None,
        help="seconds after ARM: hang up",
    )
    faults.add_argument(
        "--stuck-after",
        type=non_negative_float,
        default=None,
        help="seconds after ARM: freeze the sensor",
    )
    add_driver_emulator_arguments(parser, faults)
    parser.set_defaults(handler=run)


def add_driver_emulator_arguments(parser: Any, faults: Any) -> None:
    """``--driver`` and the fault options every vendor emulator shares."""
    from hardware.drivers import DRIVERS, driver_names

    parser.add_argument(
        "--driver",
        choices=driver_names(),
        default="ddpg",
        help="which device to emulate: ddpg (this project's protocol, default) or a vendor's "
        "protocol on a pseudo-terminal",
    )
    parser.add_argument(
        "--device-id",
        type=int_in_range(0, 252),
        default=None,
        help="the emulated device's id on its bus (default: the driver's, 1 for most)",
    )
    faults.add_argument(
        "--silence-after",
        type=non_negative_float,
        default=None,
        help="vendor drivers: seconds after the device is first enabled, stop answering "
        "(the port stays open)",
    )
    kinds = "; ".join(f"{n}: {', '.join(s.faults)}" for n, s in DRIVERS.items() if s.faults)
    faults.add_argument(
        "--fault",
        choices=sorted({kind for spec in DRIVERS.values() for kind in spec.faults}),
        default=None,
        metavar="KIND",
        help=f"vendor drivers: the device fault to raise at --fault-after ({kinds})",
    )
    faults.add_argument(
        "--fault-after",
        type=non_negative_float,
        default=None,
        help="vendor drivers: seconds after the device is first enabled, raise --fault",
    )


class _WallClock:
    def now(self) -> float:
        return time.monotonic()

    def sleep_until(self, deadline_s: float) -> None:
        time.sleep(max(0.0, deadline_s - time.monotonic()))


def run(args: argparse.Namespace) -> int:
    from hardware.device import DeviceConfig, VirtualDevice
    from hardware.emulator import Emulator, EmulatorConfig, FaultInjection
    from sim.params import PendulumParams
    from sim.plant import SimPlant

    if not (math.isfinite(args.duration) and args.duration >= 0):
        raise ConfigError(f"--duration must be >= 0 s, got {args.duration}")
    if args.driver != "ddpg" or args.fault or args.silence_after is not None:
        return run_driver_emulator(args)
    faults = FaultInjection(
        reply_latency_s=args.latency_ms / 1000.0,
        drop_reply_probability=args.drop_rate,
        corrupt_reply_probability=args.corrupt_rate,
        disconnect_after_s=args.disconnect_after,
        stuck_sensor_after_s=args.stuck_after,
    )
    device_config = DeviceConfig(
        max_torque_nm=args.max_torque,
        protocol_version=args.protocol_version,
        counts_per_rev=args.counts_per_rev,
    )
    # Pendulum-v1 physics, stepped every millisecond so it runs smoothly in real time.
    params = PendulumParams(max_torque_nm=args.max_torque, physics_substeps=50)
    loaded = params_from_args(args)
    if loaded is not None:  # the rig's physics, stepped at least every millisecond
        from sim.params_file import with_fine_physics

        params = with_fine_physics(loaded.params).with_changes(max_torque_nm=args.max_torque)
    clock = _WallClock()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with SimPlant(params, clock=clock, start_angle_rad=args.start_angle) as physics:
        device = VirtualDevice(physics, device_config, clock.now())
        emulator = Emulator(
            device,
            EmulatorConfig(tcp_port=args.tcp, device=device_config, faults=faults, seed=args.seed),
        )
        try:
            port = emulator.open()
        except OSError as exc:
            if args.tcp is None:
                raise ConfigError(f"cannot open a pseudo-terminal: {first_line(exc)}") from None
            raise ConfigError(
                f"cannot listen on 127.0.0.1:{args.tcp} ({first_line(exc)}): pick another "
                "--tcp port, or --tcp 0 for any free one"
            ) from None
        print(port, flush=True)
        if args.duration:
            timer = threading.Timer(args.duration, stop.set)
            timer.daemon = True
            timer.start()
        try:
            emulator.serve(stop)
        finally:
            emulator.close()
            stop.set()
        print(f"emulator: {emulator.summary()}", file=sys.stderr, flush=True)
    return 0


#: ``emulate`` options that only this project's own emulator (``--driver ddpg``) has.
DDPG_ONLY = {
    "tcp": None,
    "protocol_version": 1,
    "drop_rate": 0.0,
    "corrupt_rate": 0.0,
    "disconnect_after": None,
    "stuck_after": None,
}


def run_driver_emulator(args: argparse.Namespace) -> int:
    """``emulate --driver X``: the driver's own emulator on a pseudo-terminal."""
    from hardware.drivers import EmulatorOptions, get_driver, load

    spec = get_driver(args.driver)
    for name, default in DDPG_ONLY.items():
        if getattr(args, name) != default:
            raise ConfigError(
                f"--{name.replace('_', '-')} is an option of --driver ddpg only; "
                f"--driver {spec.name} injects --silence-after, --fault and --latency-ms"
            )
    if args.fault is not None and args.fault not in spec.faults:
        raise ConfigError(
            f"--fault {args.fault!r}: --driver {spec.name} can raise "
            + (", ".join(spec.faults) or "no device fault")
        )
    if (args.fault is None) != (args.fault_after is None):
        raise ConfigError("--fault and --fault-after go together")
    spec.check_installed()
    options = EmulatorOptions(
        max_torque_nm=args.max_torque,
        start_angle_rad=args.start_angle,
        device_id=spec.default_id if args.device_id is None else args.device_id,
        baud=spec.default_baud,
        seed=args.seed,
        reply_latency_s=args.latency_ms / 1000.0,
        silence_after_s=args.silence_after,
        fault=args.fault,
        fault_after_s=args.fault_after,
    )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    if args.duration:
        timer = threading.Timer(args.duration, stop.set)
        timer.daemon = True
        timer.start()

    def announce(port: str) -> None:
        print(port, flush=True)

    try:
        summary = load(spec.emulator)(options, stop, announce)
    except OSError as exc:
        raise ConfigError(f"cannot open a pseudo-terminal: {first_line(exc)}") from None
    print(f"emulator: {summary}", file=sys.stderr, flush=True)
    return 0
