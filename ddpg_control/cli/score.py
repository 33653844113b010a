"""``ddpg-control score [--policy POLICY ...]``: a seeded robustness benchmark (RealAIGym style).

Each ``--policy`` (a run directory, an ONNX file, or ``classical``) runs from hanging down on
the simulated pendulum in virtual time while one parameter at a time is perturbed
(:data:`ddpg_control.pipeline.scoring.AXES`). Prints success per axis, the overall score (mean
of the axes) and cost figures at the nominal point; writes a ``.score.csv`` and ``.score.json``
per policy and one PNG with every policy's success against each perturbation into a new folder
of its own, ``runs/scores/<time>/`` (or ``--output``): never into a policy's run directory.
Torch-free: the deployed ONNX policy runs through onnxruntime.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import math
import os
import sys
from pathlib import Path
from typing import Any

from ddpg_control.cli.arguments import (
    MEANINGS,
    add_duration_argument,
    add_episodes_argument,
    add_executor_arguments,
    add_output_argument,
    add_policy_argument,
    add_preset_argument,
    add_quiet_argument,
    add_runs_dir_argument,
    add_seed_argument,
    at_least,
    file_with_suffix,
    folder_to_write,
    names_from,
)
from ddpg_control.cli.params_option import add_params_argument, params_from_args
from ddpg_control.cli.progress import TaskProgress
from ddpg_control.pipeline.balance import TIGHT_ANGLE_RAD, TIGHT_VELOCITY_RAD_S
from ddpg_control.pipeline.controllers import CLASSICAL, estimator_for, is_classical, load_onnx
from ddpg_control.pipeline.rig import rig_params
from ddpg_control.pipeline.runs import run_file
from ddpg_control.pipeline.scoring import (
    AXIS_NAMES,
    DEFAULT_DURATION_S,
    HOLD_S,
    SUCCESS_ANGLE_RAD,
)
from ddpg_control.runtime.run_layout import POLICY_FILE

#: Episodes per axis point by default: about 2 minutes per policy on 2 idle cores (README).
DEFAULT_EPISODES = 200
QUICK_EPISODES = 2
#: Under the runs folder: one new folder per scoring without ``--output``.
SCORES_DIR = "scores"
HELP = "robustness benchmark: success under one perturbation at a time"
DESCRIPTION = (
    "Run each policy from hanging down on the simulated pendulum (virtual time) while "
    "one parameter at a time is perturbed: " + ", ".join(AXIS_NAMES) + ". An episode "
    f"succeeds when the angle stays within {SUCCESS_ANGLE_RAD} rad of upright for the "
    f"last {HOLD_S:g} s. Prints success per axis, the overall score (mean of the axes) "
    "and cost figures at the nominal point; writes a .score.csv/.json per policy and a PNG "
    "of success against each perturbation into a new folder, runs/scores/<time>/ (or "
    "--output), never into a policy's run directory. Same seed, same files."
)


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("score", help=HELP, description=DESCRIPTION)
    add_policy_argument(
        parser,
        "a run directory or an ONNX policy",
        f"the latest run's {POLICY_FILE}",
        repeatable=True,
        classical=True,
    )
    add_runs_dir_argument(parser)
    add_preset_argument(
        parser,
        "the --params file, else default (Pendulum-v1's constants); the nominal rig every "
        "policy is scored on, its physics stepped at least every 5 ms",
    )
    add_params_argument(parser)
    add_episodes_argument(
        parser, None, f"{DEFAULT_EPISODES} per axis point; {QUICK_EPISODES} with --quick"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="3 points per axis and 2 episodes per point (for checks; seconds, not minutes)",
    )
    parser.add_argument(
        "--axes",
        type=names_from(AXIS_NAMES),
        default=None,
        metavar="NAMES",
        help="comma-separated axes to run (default: all): " + ",".join(AXIS_NAMES),
    )
    add_seed_argument(parser, "every episode's start state and the plant's noise")
    add_duration_argument(
        parser,
        f"per episode, more than the {HOLD_S:g} s hold window",
        DEFAULT_DURATION_S,
        type=at_least(HOLD_S, "s", strictly=True),
    )
    add_executor_arguments(parser, "each runs a share of the episodes")
    add_output_argument(
        parser,
        "the folder for the CSV, JSON and PNG files",
        f"a new folder <runs dir>/{SCORES_DIR}/<time>/",
        type=folder_to_write,
    )
    parser.add_argument(
        "--plot",
        type=file_with_suffix(".png"),
        default=None,
        metavar="FILE.png",
        help=MEANINGS["--plot"] + " (success against each perturbation; default: score.png "
        "in the output folder)",
    )
    add_quiet_argument(parser)
    parser.set_defaults(handler=run)


def _names(args: argparse.Namespace) -> list[str]:
    """The controllers to score: each ``--policy`` (``classical``, or a run directory's or a
    file's ONNX policy), else the latest run's."""
    given = args.policies or [None]
    return [
        CLASSICAL if is_classical(p) else str(run_file(p, POLICY_FILE, args.runs_dir))
        for p in given
    ]


def run(args: argparse.Namespace) -> int:
    from ddpg_control.pipeline.carried_policies import CarriedPolicies
    from ddpg_control.pipeline.executor import cluster_address, open_executor
    from ddpg_control.pipeline.score_report import label_for, plot_scores, stem_for, write_result
    from ddpg_control.pipeline.scoring import AXES, Plan, benchmark_params, quick_axes, score

    names = _names(args)
    base = benchmark_params(rig_params(params_from_args(args), args.preset))
    for name in names:  # refuse a bad file or a mismatched contract before any work
        if is_classical(name):
            continue
        policy = load_onnx(Path(name))
        estimator_for(policy, base.reports_velocity, base.control_period_s)
        if not math.isclose(policy.control_period_s, base.control_period_s, rel_tol=1e-6):
            print(
                f"warning: {name} was trained for a {policy.control_period_s:g} s period; the "
                f"benchmark runs at {base.control_period_s:g} s",
                file=sys.stderr,
            )
    if not args.policies:
        print(f"policy: {names[0]} (the latest training's)", file=sys.stderr)
    axes = tuple(a for a in AXES if args.axes is None or a.name in args.axes)
    if args.quick:
        axes = quick_axes(axes)
    episodes = args.episodes or (QUICK_EPISODES if args.quick else DEFAULT_EPISODES)
    plan = Plan(axes, episodes, args.seed, args.duration_s)
    jobs = args.jobs or min(8, os.cpu_count() or 1)
    address = cluster_address(args.jobs, args.address)
    progress = None if args.quiet else TaskProgress("score", "episodes")
    with open_executor(jobs, address) as executor:
        print(
            f"scoring {len(names)} controller(s): {len(axes)} axes, {episodes} episodes per "
            f"point, seed {args.seed}, on {executor.description}",
            file=sys.stderr,
        )

        def mapper(function: Any, tasks: Any) -> Any:  # a cluster gets the policies as bytes
            carried = function if address is None else CarriedPolicies(function, names)
            return executor.map(carried, tasks)

        results = score(names, base, plan, mapper, progress)
    labels = [label_for(name) for name in names]
    output = args.output or new_scores_dir(Path(args.runs_dir) / SCORES_DIR)
    stems: list[Path] = []
    for result, label, name in zip(results, labels, names, strict=True):
        _print_result(result, label)
        stem = stem_for(name, output)
        stems.append(stem)  # two policies of one name each keep their files: name-2, ...
        if stems.count(stem) > 1:
            stem = stem.with_name(f"{stem.name}-{stems.count(stem)}")
        csv_path, json_path = write_result(result, stem)
        print(f"  wrote {csv_path} and {json_path.name}")
    plot = args.plot or (output / "score.png")
    print(f"plot: {plot_scores(results, labels, plot)}")
    return 0


def new_scores_dir(folder: Path) -> Path:
    """A new, empty ``<folder>/<time>/`` for one scoring's files (``-2``, ``-3``... when taken)."""
    name = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path, suffix = folder / name, 1
    while path.exists():
        suffix += 1
        path = folder / f"{name}-{suffix}"
    path.mkdir(parents=True)
    return path


def nominal_line(nominal: Any) -> str:
    """The nominal rig's line: success, then what the successful episodes did (means over them;
    with no success there is nothing to average, and the line says so instead of printing nan)."""
    head = f"  nominal: success {nominal.success_rate:.2f}"
    if nominal.success_rate == 0:
        return head + " (no episode swung up and held, so no time, energy or hold to report)"
    mean = nominal.mean_over_successes
    return (
        f"{head}, time to upright {mean('time_to_upright_s'):.2f} s, energy "
        f"{mean('energy_j'):.1f} J, torque change {mean('smoothness_nm_s'):.1f} N*m/s RMS, held at "
        f"{mean('rest_angle_rad'):+.4f} rad with {mean('rest_torque_nm'):+.3f} N*m"
    )


def tight_line(nominal: Any) -> str:
    """The nominal rig's tight-band success and when the successful episodes entered it."""
    head = (
        f"  nominal, tight band ({TIGHT_ANGLE_RAD} rad and {TIGHT_VELOCITY_RAD_S} rad/s to the "
        f"end): success {nominal.success_tight_rate:.2f}"
    )
    if nominal.success_tight_rate == 0:
        return head
    return f"{head}, entered at {nominal.time_to_tight_s:.2f} s on average"


def _print_result(result: Any, label: str) -> None:
    nominal = result.nominal
    print(f"== {label}: overall score {result.overall:.3f} (mean success over the axes) ==")
    print(
        f"  {'':<18} {'loose':>5}  {'tight':>5}   [point:loose/tight] (tight: also overall "
        f"{result.overall_tight:.3f}, not in the score)"
    )
    tight = result.axis_success_tight()
    for axis, success in result.axis_success().items():
        rates = " ".join(
            f"{p.point:g}:{p.success_rate:.2f}/{p.success_tight_rate:.2f}"
            for p in result.points
            if p.axis == axis
        )
        print(f"  {axis:<18} {success:.3f}  {tight[axis]:.3f}   [{rates}]")
    print(nominal_line(nominal))
    print(tight_line(nominal))
