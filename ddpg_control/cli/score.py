"""``ddpg-control score POLICY [POLICY ...]``: a seeded robustness benchmark (RealAIGym style).

Each policy (an ONNX file, or ``classical``) runs from hanging down on the simulated pendulum in
virtual time while one parameter at a time is perturbed
(:data:`ddpg_control.pipeline.scoring.AXES`).
Prints success per axis, the overall score (mean of the axes) and cost figures at the nominal
point; writes ``<policy>.score.csv`` and ``.score.json`` next to each policy file, and one PNG
with every policy's success against each perturbation. Torch-free: the deployed ONNX policy
runs through onnxruntime.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from ddpg_control.cli.arguments import add_runs_dir_argument, non_negative_int, positive_int
from ddpg_control.cli.params_option import add_params_argument, params_from_args
from ddpg_control.pipeline.controllers import CLASSICAL, estimator_for, is_classical, load_onnx
from ddpg_control.pipeline.runs import latest_run
from ddpg_control.runtime.errors import ConfigError
from ddpg_control.runtime.run_layout import POLICY_FILE

#: Episodes per axis point by default: about 2 minutes per policy on 2 idle cores (README).
DEFAULT_EPISODES = 200
QUICK_EPISODES = 2


def add_parser(subparsers: Any) -> None:
    from ddpg_control.pipeline.scoring import (
        AXIS_NAMES,
        DEFAULT_DURATION_S,
        HOLD_S,
        SUCCESS_ANGLE_RAD,
    )

    parser = subparsers.add_parser(
        "score",
        help="robustness benchmark: success under one perturbation at a time",
        description=(
            "Run each policy from hanging down on the simulated pendulum (virtual time) while "
            "one parameter at a time is perturbed: " + ", ".join(AXIS_NAMES) + ". An episode "
            f"succeeds when the angle stays within {SUCCESS_ANGLE_RAD} rad of upright for the "
            f"last {HOLD_S:g} s. Prints success per axis, the overall score (mean of the axes) "
            "and cost figures at the nominal point; writes <policy>.score.csv/.json next to each "
            "policy and a PNG of success against each perturbation. Same seed, same files."
        ),
    )
    parser.add_argument(
        "policies",
        nargs="*",
        metavar="POLICY",
        help=f"ONNX policy files, or '{CLASSICAL}' (energy shaping + LQR designed for the "
        f"nominal rig); default: the latest run's {POLICY_FILE}",
    )
    add_runs_dir_argument(parser)
    parser.add_argument(
        "--preset",
        default="default",
        help="the nominal rig: a simulator preset (default: %(default)s, i.e. Pendulum-v1's "
        "constants); physics is stepped at least every 5 ms",
    )
    add_params_argument(parser)
    parser.add_argument(
        "--episodes",
        type=positive_int,
        default=None,
        help=f"episodes per axis point (default: {DEFAULT_EPISODES}; {QUICK_EPISODES} with "
        "--quick)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="3 points per axis and 2 episodes per point (for checks; seconds, not minutes)",
    )
    parser.add_argument(
        "--axes",
        type=_axes,
        default=None,
        help="comma-separated axes to run (default: all): " + ",".join(AXIS_NAMES),
    )
    parser.add_argument(
        "--seed", type=non_negative_int, default=0, help="benchmark seed (default: 0)"
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=DEFAULT_DURATION_S,
        help="seconds per episode, > %(default)s's hold window (default: %(default)s)".replace(
            "%(default)s's", f"{HOLD_S:g} s"
        ),
    )
    parser.add_argument(
        "--jobs",
        type=positive_int,
        default=None,
        help="worker processes (default: the number of CPUs, at most 8)",
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=None,
        help="where to write the CSV/JSON/PNG (default: next to each policy; the current "
        "folder for classical)",
    )
    parser.add_argument(
        "--plot",
        type=Path,
        default=None,
        help="the PNG (default: score.png next to the first policy)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress line")
    parser.set_defaults(handler=run)


def _axes(text: str) -> tuple[str, ...]:
    from ddpg_control.pipeline.scoring import AXIS_NAMES

    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in AXIS_NAMES]
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"unknown axis {', '.join(unknown) or repr(text)}; choose from {','.join(AXIS_NAMES)}"
        )
    return names


def base_params(args: argparse.Namespace) -> Any:
    """The nominal rig's PendulumParams (the one place that decides it): ``--params`` (a fitted
    rig) if given, else ``--preset``."""
    from sim.params import preset

    loaded = params_from_args(args)
    return loaded.params if loaded is not None else preset(args.preset)


def _label(name: str) -> str:
    if is_classical(name):
        return CLASSICAL
    path = Path(name)
    return path.parent.name if path.name == POLICY_FILE and path.parent.name else path.stem


def _stem(name: str, output_dir: Path | None) -> Path:
    if is_classical(name):
        return (output_dir or Path.cwd()) / CLASSICAL
    path = Path(name)
    if output_dir is None:
        return path.with_suffix("")
    return output_dir / (_label(name) + "-" + path.stem)


class _Progress:
    def __init__(self, enabled: bool) -> None:
        self._enabled = enabled
        self._tty = sys.stderr.isatty()
        self._start = time.monotonic()
        self._last = -math.inf

    def __call__(self, done: int, total: int) -> None:
        if not self._enabled:
            return
        now = time.monotonic()
        if done < total and now - self._last < (0.5 if self._tty else 5.0):
            return
        self._last = now
        elapsed = now - self._start
        eta = elapsed / done * (total - done)
        text = f"score: {done}/{total} episodes, {elapsed:5.0f} s, ~{eta:4.0f} s left"
        print(("\r" + text) if self._tty else text, end="" if self._tty else "\n", file=sys.stderr)
        if self._tty and done == total:
            print(file=sys.stderr)


def _mapper(jobs: int) -> tuple[Callable[..., Iterator[Any]], Callable[[], None]]:
    if jobs == 1:
        return map, lambda: None
    pool = multiprocessing.get_context("spawn").Pool(jobs)

    def imap(function: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        return pool.imap(function, items, chunksize=2)

    def close() -> None:
        pool.terminate()
        pool.join()

    return imap, close


def run(args: argparse.Namespace) -> int:
    from ddpg_control.pipeline.score_report import plot_scores, write_result
    from ddpg_control.pipeline.scoring import (
        AXES,
        HOLD_S,
        Plan,
        benchmark_params,
        quick_axes,
        score,
    )

    if not (math.isfinite(args.duration) and args.duration > HOLD_S):
        raise ConfigError(
            f"--duration must be more than the {HOLD_S:g} s hold window, got {args.duration}"
        )
    if args.output_dir is not None and args.output_dir.exists() and not args.output_dir.is_dir():
        raise ConfigError(f"--output-dir {args.output_dir} is a file; name a folder")
    if args.plot is not None and args.plot.suffix.lower() != ".png":
        raise ConfigError(f"--plot must name a .png file, got {args.plot}")
    names = list(args.policies) or [
        str(latest_run(args.runs_dir, containing=POLICY_FILE) / POLICY_FILE)
    ]
    base = benchmark_params(base_params(args))
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
    axes = tuple(a for a in AXES if args.axes is None or a.name in args.axes)
    if args.quick:
        axes = quick_axes(axes)
    episodes = args.episodes or (QUICK_EPISODES if args.quick else DEFAULT_EPISODES)
    plan = Plan(axes, episodes, args.seed, args.duration)
    jobs = args.jobs or min(8, os.cpu_count() or 1)
    print(
        f"scoring {len(names)} controller(s): {len(axes)} axes, {episodes} episodes per point, "
        f"seed {args.seed}, {jobs} process(es)",
        file=sys.stderr,
    )
    mapper, close = _mapper(jobs)
    try:
        results = score(names, base, plan, mapper, _Progress(not args.no_progress))
    finally:
        close()
    labels = [_label(name) for name in names]
    for result, label, name in zip(results, labels, names, strict=True):
        _print_result(result, label)
        csv_path, json_path = write_result(result, _stem(name, args.output_dir))
        print(f"  wrote {csv_path} and {json_path.name}")
    plot = args.plot or (_stem(names[0], args.output_dir).parent / "score.png")
    print(f"plot: {plot_scores(results, labels, plot)}")
    return 0


def _print_result(result: Any, label: str) -> None:
    nominal = result.nominal
    print(f"== {label}: overall score {result.overall:.3f} (mean success over the axes) ==")
    for axis, success in result.axis_success().items():
        rates = " ".join(
            f"{p.point:g}:{p.success_rate:.2f}" for p in result.points if p.axis == axis
        )
        print(f"  {axis:<18} {success:.3f}   [{rates}]")
    print(
        f"  nominal: success {nominal.success_rate:.2f}, time to upright "
        f"{nominal.mean_over_successes('time_to_upright_s'):.2f} s, energy "
        f"{nominal.mean_over_successes('energy_j'):.1f} J, torque change "
        f"{nominal.mean_over_successes('smoothness_nm_s'):.1f} N*m/s RMS, held at "
        f"{nominal.mean_over_successes('hold_error_rad'):+.4f} rad with "
        f"{nominal.mean_over_successes('hold_torque_nm'):+.3f} N*m"
    )
