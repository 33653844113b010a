"""``ddpg-control run --sim | --device PORT``: run the exported policy in the real-time loop.

The plant is built by one function per kind (:func:`build_sim_plant`, :func:`build_device_plant`);
everything else (loading the policy, the rate, safety limits, the loop, telemetry, the summary)
is shared. Heavy imports (onnxruntime, pybullet, pyserial) happen inside the functions, and
nothing on this path imports torch.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ddpg_control.cli.arguments import (
    add_duration_argument,
    add_output_argument,
    add_policy_argument,
    add_preset_argument,
    add_quiet_argument,
    add_rate_argument,
    add_runs_dir_argument,
    add_safety_arguments,
    add_seed_argument,
    add_start_state_arguments,
    add_target_arguments,
    add_virtual_time_argument,
    non_negative_float,
    positive_float,
)
from ddpg_control.cli.device_options import add_device_arguments
from ddpg_control.cli.params_option import add_params_argument, params_from_args
from ddpg_control.cli.progress import StatusLine
from ddpg_control.cli.view_options import add_view_arguments, check_view_options, watched
from ddpg_control.pipeline.controllers import (
    CLASSICAL,
    classical_controller,
    describe_estimator,
    estimator_for,
    is_classical,
    observer_for,
)
from ddpg_control.pipeline.rig import rig_params
from ddpg_control.pipeline.runs import open_telemetry, run_file, telemetry_path
from ddpg_control.runtime.contracts import OBSERVATION_DIM, Clock, Plant
from ddpg_control.runtime.run_layout import POLICY_FILE, TELEMETRY_DIR
from ddpg_control.runtime.safety import DEFAULT_MAX_VELOCITY_RAD_S

if TYPE_CHECKING:
    from ddpg_control.runtime.control_loop import LoopResult

log = logging.getLogger(__name__)

DEFAULT_DURATION_S = 15.0
HELP = "run the exported policy in the real-time control loop (simulator or device)"
DESCRIPTION = (
    "Run a policy.onnx at a fixed rate: read the joint, ask the policy, clip the torque "
    "(smallest of the policy's, --torque-limit-nm and the plant's limits), write it. Every exit "
    "(end of --duration-s, Ctrl-C, SIGTERM, an error, a plant fault, a safety stop) sends "
    "zero torque first. Prints a live status line, a timing summary at the end, and "
    f"writes a telemetry CSV under the run directory's {TELEMETRY_DIR}/ folder."
)


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("run", help=HELP, description=DESCRIPTION)
    add_target_arguments(parser)
    add_policy_argument(
        parser,
        "a run directory or an ONNX policy",
        f"the latest run's {POLICY_FILE}",
        classical=True,
    )
    add_runs_dir_argument(parser)
    add_duration_argument(
        parser, "0 runs until Ctrl-C", DEFAULT_DURATION_S, type=non_negative_float
    )
    add_rate_argument(parser, None, "the control period the policy was trained for")
    add_safety_arguments(parser, DEFAULT_MAX_VELOCITY_RAD_S)
    parser.add_argument(
        "--slew-limit-nm-s",
        type=positive_float,
        default=None,
        metavar="NM_S",
        help="largest torque change in N*m per second (default: none)",
    )
    parser.add_argument(
        "--realtime",
        action="store_true",
        help="ask for SCHED_FIFO, a pinned CPU and a frozen garbage collector; says what it got",
    )
    add_output_argument(
        parser,
        "the telemetry CSV, or a folder for it",
        f"<run dir>/{TELEMETRY_DIR}/<kind>-<time>.csv",
        type=Path,
    )
    add_quiet_argument(parser)
    add_view_arguments(parser)
    sim = parser.add_argument_group("simulator (--sim)")
    sim.add_argument("--gui", action="store_true", help="show the PyBullet window")
    add_start_state_arguments(sim, math.pi, "pi, hanging down", velocity=True)
    add_preset_argument(
        sim,
        "the --params file, else the policy's training rig when it was the PyBullet "
        "pendulum, else default",
    )
    add_seed_argument(sim, "the simulator's noise", default=None)
    add_params_argument(sim)
    add_virtual_time_argument(sim)
    add_device_arguments(parser)
    parser.add_argument(
        "--catch",
        choices=("lqr",),
        default=None,
        help="hand over to an LQR near upright, inside the region where it is verified to hold "
        "the rig (the policy's recorded rig, or --params/--preset), and back to the policy "
        "outside it; records which acted each tick beside the telemetry (default: the policy "
        "alone)",
    )
    parser.set_defaults(handler=run)


def _lqr_catch(args: argparse.Namespace, policy: Any, period_s: float) -> Any:
    """``--catch lqr``: the policy with the LQR of the rig --params/--preset name, else of the
    rig the policy records; a one-line ConfigError when neither is known."""
    from ddpg_control.runtime.catch import LqrCatch, rig_model
    from ddpg_control.runtime.errors import ConfigError

    if is_classical(args.policy):
        raise ConfigError("--catch wraps an ONNX policy; the classical controller has its own LQR")
    named = params_from_args(args)
    if named is not None or args.preset is not None:
        fields = dict(rig_params(named, args.preset).to_dict())
    else:
        fields = dict(policy.metadata.env_params)
    model = rig_model(fields, period_s)
    if model is None:
        raise ConfigError(
            f"--catch lqr needs the rig's mass, length, gravity and torque limit, and the "
            f"policy records none (trained on {policy.metadata.env_id}): pass --params RIG.toml "
            "or --preset NAME"
        )
    return LqrCatch(policy, model)


# --- plants: one builder per kind ---------------------------------------------------------


def _sim_params(args: argparse.Namespace, controller: Any) -> Any:
    """--params, else --preset, else the rig the ONNX policy was trained for, else default."""
    return rig_params(params_from_args(args), args.preset, getattr(controller, "metadata", None))


def build_sim_plant(args: argparse.Namespace, clock: Clock, controller: Any) -> Plant:
    """The PyBullet pendulum, advanced in step with ``clock``."""
    from sim.plant import SimPlant

    plant: Plant = SimPlant(
        _sim_params(args, controller),
        clock=clock,
        start_angle_rad=args.start_angle_rad,
        start_velocity_rad_s=args.start_velocity_rad_s,
        render=args.gui,
        seed=args.seed,
    )
    return plant


def build_device_plant(args: argparse.Namespace, clock: Clock, controller: Any) -> Plant:
    """A motor driver on a serial port or pyserial URL: opened, handshaken and armed."""
    from ddpg_control.pipeline.device import open_device_plant
    from hardware.profile import profile_path_for_port

    period_s = 1.0 / args.rate_hz if args.rate_hz else controller.control_period_s
    profile = args.profile or profile_path_for_port(args.device)
    print(
        f"device profile: {profile}"
        if args.profile or profile.is_file()
        else "device profile: none saved for this port, so the driver's defaults "
        "('ddpg-control calibrate' saves one)",
        file=sys.stderr,
    )
    plant: Plant = open_device_plant(args, period_s)
    return plant


PlantBuilder = Callable[[argparse.Namespace, Clock, Any], Plant]


def _plant_kind(args: argparse.Namespace) -> tuple[str, PlantBuilder]:
    if args.device is not None:
        return "device", build_device_plant
    return "sim", build_sim_plant


# --- shared -------------------------------------------------------------------------------


def _period_s(args: argparse.Namespace, controller: Any) -> float:
    trained_s = controller.control_period_s
    if args.rate_hz is None:
        return float(trained_s)
    period_s = 1.0 / args.rate_hz
    if not math.isclose(period_s, trained_s, rel_tol=1e-6):
        print(
            f"warning: --rate-hz {args.rate_hz:g} differs from the {1.0 / trained_s:g} Hz "
            f"({trained_s:g} s period) the policy was trained for; it may not behave as trained",
            file=sys.stderr,
        )
    return period_s


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

    check_view_options(args)
    limits = SafetyLimits(
        max_torque_nm=args.torque_limit_nm,
        slew_limit_nm_per_s=args.slew_limit_nm_s,
        max_velocity_rad_s=args.max_velocity_rad_s,
    )
    policy: Any
    if is_classical(args.policy):  # designed for the simulator's (nominal) parameters
        name = f"the {CLASSICAL} controller"
        telemetry_dir = Path(args.runs_dir) / CLASSICAL / TELEMETRY_DIR
        policy = classical_controller(_sim_params(args, None))
    else:
        policy_path = run_file(args.policy, POLICY_FILE, args.runs_dir)
        name, telemetry_dir = str(policy_path), policy_path.parent / TELEMETRY_DIR
        policy = OnnxPolicy.load(policy_path)
    config = LoopConfig(
        period_s=_period_s(args, policy), duration_s=args.duration_s or None, limits=limits
    )
    controller = _lqr_catch(args, policy, config.period_s) if args.catch else policy
    catch = None  # the per-tick record of which controller acted, with --catch
    kind, build_plant = _plant_kind(args)
    clock: Clock = SimulatedClock() if args.virtual_time else MonotonicClock()
    output = telemetry_path(args.output, telemetry_dir, kind)
    print(
        f"running {name} on {'the simulator' if kind == 'sim' else args.device} at "
        f"{1.0 / config.period_s:g} Hz for "
        + (f"{config.duration_s:g} s" if config.duration_s else "ever (Ctrl-C stops)"),
        file=sys.stderr,
    )
    plant = build_plant(args, clock, policy)
    status = None if args.quiet else StatusLine()
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
            open_telemetry(output, args.virtual_time) as telemetry,
            watched(
                args,
                telemetry,
                output,
                plant=plant,
                policy_max_torque_nm=policy.max_torque_nm,
                config=config,
                on_status=status,
                observer=observer_for(estimator),
                virtual_time=args.virtual_time,
            ) as watch,
            realtime as report,
            stop_on_signals(stop),
        ):
            if report is not None:
                print(report.describe(), file=sys.stderr)
            if controller is not policy:
                from ddpg_control.runtime.catch import CatchTelemetry, catch_record_path

                catch = CatchTelemetry(watch.sink, controller, catch_record_path(output))
            result = run_loop(
                plant,
                controller,
                clock,
                config,
                telemetry=catch or watch.sink,
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
    _report(result, output)
    if catch is not None:
        print(f"{catch.describe()} (per tick: {catch.path})")
    return result.exit_code
