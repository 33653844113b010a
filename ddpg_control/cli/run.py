"""``ddpg-control run --sim | --device PORT``: run the exported policy in the real-time loop.

The plant is built by one function per kind (:func:`build_sim_plant`, :func:`build_device_plant`);
everything else (loading the policy, the rate, safety limits, the loop, telemetry, the summary)
is shared. Heavy imports (onnxruntime, pybullet, pyserial) happen inside the functions, and
nothing on this path imports torch.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import logging
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ddpg_control.cli.arguments import add_runs_dir_argument, finite_float, non_negative_int
from ddpg_control.cli.device_plant import add_device_arguments, serial_port_or_url
from ddpg_control.cli.params_option import add_params_argument, params_from_args
from ddpg_control.pipeline.controllers import (
    CLASSICAL,
    classical_controller,
    describe_estimator,
    estimator_for,
    is_classical,
    observer_for,
)
from ddpg_control.pipeline.runs import latest_run
from ddpg_control.runtime.contracts import OBSERVATION_DIM, Clock, Plant
from ddpg_control.runtime.errors import ConfigError
from ddpg_control.runtime.run_layout import POLICY_FILE, TELEMETRY_DIR
from ddpg_control.runtime.safety import DEFAULT_MAX_VELOCITY_RAD_S

if TYPE_CHECKING:
    from ddpg_control.runtime.control_loop import LoopResult, LoopStatus
    from ddpg_control.runtime.telemetry_writer import TelemetryWriter
    from export.runtime import OnnxPolicy

log = logging.getLogger(__name__)

DEFAULT_DURATION_S = 15.0


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run the exported policy in the real-time control loop (simulator or device)",
        description=(
            "Run a policy.onnx at a fixed rate: read the joint, ask the policy, clip the torque "
            "(smallest of the policy's, --max-torque and the plant's limits), write it. Every exit "
            "(end of --duration, Ctrl-C, SIGTERM, an error, a plant fault, a safety stop) sends "
            "zero torque first. Prints a live status line, a timing summary at the end, and "
            f"writes a telemetry CSV under the run directory's {TELEMETRY_DIR}/ folder."
        ),
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--sim", action="store_true", help="run on the PyBullet pendulum in real time"
    )
    target.add_argument(
        "--device",
        type=serial_port_or_url,
        metavar="PORT",
        help="run on a motor driver at this serial port or URL",
    )
    parser.add_argument(
        "--policy",
        type=Path,
        default=None,
        help=f"the ONNX policy, or 'classical' for the energy-shaping + LQR controller designed "
        f"from the simulator preset's parameters (default: the latest run's {POLICY_FILE})",
    )
    add_runs_dir_argument(parser)
    parser.add_argument(
        "--duration",
        type=float,
        default=DEFAULT_DURATION_S,
        help="seconds to run; 0 runs until Ctrl-C (default: %(default)s)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="loop rate in Hz (default: the control period the policy was trained for)",
    )
    parser.add_argument(
        "--max-torque", type=float, default=None, help="your own torque limit in N*m (optional)"
    )
    parser.add_argument(
        "--slew-limit",
        type=float,
        default=None,
        help="largest torque change in N*m per second (default: none)",
    )
    parser.add_argument(
        "--max-velocity",
        type=float,
        default=DEFAULT_MAX_VELOCITY_RAD_S,
        help="stop when |velocity| exceeds this, rad/s (default: %(default)s)",
    )
    parser.add_argument(
        "--realtime",
        action="store_true",
        help="ask for SCHED_FIFO, a pinned CPU and a frozen garbage collector; says what it got",
    )
    parser.add_argument(
        "--telemetry",
        type=Path,
        default=None,
        help="telemetry CSV to write, or a folder for it "
        f"(default: <run dir>/{TELEMETRY_DIR}/<kind>-<time>.csv)",
    )
    parser.add_argument("--quiet", action="store_true", help="no live status line")
    sim = parser.add_argument_group("simulator (--sim)")
    sim.add_argument("--gui", action="store_true", help="show the PyBullet window")
    sim.add_argument(
        "--start-angle",
        type=finite_float,
        default=math.pi,
        help="start angle in rad, 0 = upright (default: pi, hanging down)",
    )
    sim.add_argument(
        "--start-velocity",
        type=finite_float,
        default=0.0,
        help="start velocity in rad/s (default: 0)",
    )
    sim.add_argument(
        "--preset",
        default=None,
        help="simulator preset, e.g. default or realistic (default: the policy's training "
        "environment's parameters when it was the PyBullet pendulum, else default)",
    )
    sim.add_argument(
        "--seed", type=non_negative_int, default=None, help="seed for the simulator's noise"
    )
    add_params_argument(sim)
    add_device_arguments(parser)
    sim.add_argument(
        "--virtual-time",
        action="store_true",
        help="run in simulated time, as fast as possible (for checks; timings read zero)",
    )
    parser.set_defaults(handler=run)


# --- plants: one builder per kind ---------------------------------------------------------


def _sim_params(args: argparse.Namespace, policy: OnnxPolicy) -> Any:
    from sim.params import PendulumParams, preset

    loaded = params_from_args(args)
    if loaded is not None:
        return loaded.params
    if args.preset is not None:
        return preset(args.preset)
    if is_classical(args.policy):
        return preset("default")
    env_params = dict(policy.metadata.env_params or {})
    if env_params:
        try:
            return PendulumParams.from_dict(env_params)
        except ConfigError as exc:
            log.info("policy's env params are not the PyBullet pendulum's (%s)", exc)
    return preset(policy.metadata.env_preset or "default")


def build_sim_plant(args: argparse.Namespace, clock: Clock, policy: OnnxPolicy) -> Plant:
    """The PyBullet pendulum, advanced in step with ``clock``."""
    from sim.plant import SimPlant

    plant: Plant = SimPlant(
        _sim_params(args, policy),
        clock=clock,
        start_angle_rad=args.start_angle,
        start_velocity_rad_s=args.start_velocity,
        render=args.gui,
        seed=args.seed,
    )
    return plant


def build_device_plant(args: argparse.Namespace, clock: Clock, policy: OnnxPolicy) -> Plant:
    """A motor driver on a serial port or pyserial URL: opened, handshaken and armed."""
    from ddpg_control.cli.device_plant import open_device_plant

    period_s = 1.0 / args.rate if args.rate else policy.control_period_s
    plant: Plant = open_device_plant(args, period_s)
    return plant


PlantBuilder = Callable[[argparse.Namespace, Clock, "OnnxPolicy"], Plant]


def _plant_kind(args: argparse.Namespace) -> tuple[str, PlantBuilder]:
    if args.device is not None:
        return "device", build_device_plant
    return "sim", build_sim_plant


# --- shared -------------------------------------------------------------------------------


def _period_s(args: argparse.Namespace, policy: OnnxPolicy) -> float:
    trained_s = policy.control_period_s
    if args.rate is None:
        return trained_s
    period_s = 1.0 / args.rate
    if not math.isclose(period_s, trained_s, rel_tol=1e-6):
        print(
            f"warning: --rate {args.rate:g} Hz differs from the {1.0 / trained_s:g} Hz "
            f"({trained_s:g} s period) the policy was trained for; it may not behave as trained",
            file=sys.stderr,
        )
    return period_s


def _telemetry_path(args: argparse.Namespace, kind: str, policy_path: Path) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    name = f"{kind}-{stamp}.csv"
    if args.telemetry is not None:
        given = Path(args.telemetry)
        return given / name if given.is_dir() or given.suffix == "" else given
    return policy_path.parent / TELEMETRY_DIR / name


def _open_telemetry(path: Path, virtual_time: bool) -> TelemetryWriter:
    """The telemetry file, opened before anything moves: a run that cannot be recorded does
    not start. In virtual time the loop waits for the disk rather than drop rows."""
    from ddpg_control.runtime.telemetry_writer import TelemetryWriter

    try:
        return TelemetryWriter(path, wait_when_behind=virtual_time).open()
    except OSError as exc:
        raise ConfigError(
            f"cannot write telemetry to {path} ({exc.strerror or exc}): name a writable file "
            "or folder with --telemetry"
        ) from None


class _StatusLine:
    """Live status on stderr: rewritten in place on a terminal, a line a second otherwise."""

    def __init__(self) -> None:
        self._tty = sys.stderr.isatty()
        self._last_line_s = -math.inf

    def __call__(self, s: LoopStatus) -> None:
        text = (
            f"t {s.elapsed_s:6.2f} s  rate {s.rate_hz:7.1f} Hz  lateness p99 "
            f"{s.lateness_p99_s * 1e6:7.1f} us  missed {s.missed_deadlines}  "
            f"angle {s.angle_rad:+6.3f} rad  torque {s.torque_nm:+6.3f} N*m"
        )
        if self._tty:
            print("\r" + text, end="", file=sys.stderr, flush=True)
        elif s.elapsed_s - self._last_line_s >= 1.0:
            self._last_line_s = s.elapsed_s
            print(text, file=sys.stderr, flush=True)

    def finish(self) -> None:
        if self._tty:
            print(file=sys.stderr)


def _report(result: LoopResult, telemetry_path: Path) -> None:
    print(f"== run summary ({result.torque_limit_nm:g} N*m torque limit) ==")
    for line in result.summary().lines():
        print("  " + line)
    print(f"telemetry: {telemetry_path}")
    print(f"  plot it: ddpg-control plot {telemetry_path}")
    print(f"exit: {result.reason.value} ({result.exit_code}): {result.message}")


def run(args: argparse.Namespace) -> int:
    from ddpg_control.runtime.control_loop import LoopConfig, StopRequest, run_loop, stop_on_signals
    from ddpg_control.runtime.safety import SafetyLimits
    from ddpg_control.runtime.timing import MonotonicClock, SimulatedClock, setup_realtime
    from export.runtime import OnnxPolicy

    if not (math.isfinite(args.duration) and args.duration >= 0):
        raise ConfigError(f"--duration must be >= 0 seconds (0: until Ctrl-C), got {args.duration}")
    if args.rate is not None and not (math.isfinite(args.rate) and args.rate > 0):
        raise ConfigError(f"--rate must be a positive number of Hz, got {args.rate}")
    limits = SafetyLimits(
        max_torque_nm=args.max_torque,
        slew_limit_nm_per_s=args.slew_limit,
        max_velocity_rad_s=args.max_velocity,
    )
    policy: Any
    if is_classical(args.policy):  # designed for the simulator's (nominal) parameters
        policy_path = Path(args.runs_dir) / CLASSICAL / CLASSICAL
        policy = classical_controller(_sim_params(args, None))  # type: ignore[arg-type]
    else:
        policy_path = args.policy or latest_run(args.runs_dir, containing=POLICY_FILE) / POLICY_FILE
        policy = OnnxPolicy.load(policy_path)
    config = LoopConfig(
        period_s=_period_s(args, policy), duration_s=args.duration or None, limits=limits
    )
    kind, build_plant = _plant_kind(args)
    clock: Clock = SimulatedClock() if args.virtual_time else MonotonicClock()
    telemetry_path = _telemetry_path(args, kind, policy_path)
    print(
        f"running {policy_path} on the {'simulator' if kind == 'sim' else args.device} at "
        f"{1.0 / config.period_s:g} Hz for "
        + (f"{config.duration_s:g} s" if config.duration_s else "ever (Ctrl-C stops)"),
        file=sys.stderr,
    )
    plant = build_plant(args, clock, policy)
    status = None if args.quiet else _StatusLine()
    sim_params = getattr(plant, "params", None)  # a device is assumed to report velocity
    reports_velocity = bool(getattr(sim_params, "reports_velocity", True))
    # From here on the plant and the telemetry file are closed on every path (run_loop closes
    # both itself; closing again is harmless).
    try:
        if isinstance(policy, OnnxPolicy):
            policy.check_plant(OBSERVATION_DIM, plant.max_torque_nm)
        estimator = estimator_for(policy, reports_velocity, config.period_s)
        print(f"observation: cos, sin, {describe_estimator(estimator)}", file=sys.stderr)
        stop = StopRequest()
        realtime = setup_realtime() if args.realtime else contextlib.nullcontext()
        with (
            _open_telemetry(telemetry_path, args.virtual_time) as telemetry,
            realtime as report,
            stop_on_signals(stop),
        ):
            if report is not None:
                print(report.describe(), file=sys.stderr)
            result = run_loop(
                plant,
                policy,
                clock,
                config,
                telemetry=telemetry,
                stop=stop,
                on_status=status,
                observer=observer_for(estimator),
            )
    except BaseException:
        plant.close()
        raise
    if status is not None:
        status.finish()
    _report(result, telemetry_path)
    return result.exit_code
