"""``ddpg-control sweep``: many candidate policies, each trained, exported and scored, on this
machine or a Ray cluster; the best is delivered as the sweep's ``policy.onnx``.

Candidates are every ``--seeds`` seed at every point of the ``--set KEY=V1,V2`` grids, trained
as ``train`` trains (``--config``, ``--env``, ``--preset``, ``--randomize``, ``--params`` ...),
exported as ``export --onnx`` exports and scored as ``score`` scores (``--quick``, ``--axes``
...). Each candidate is one task of the executor seam (:mod:`ddpg_control.pipeline.executor`):
the worker trains in a folder of its own and sends the run directory back as bytes. The sweep's
folder (``runs/sweep-<time>/``) keeps its record (``sweep.json``), every candidate's run under
``runs/``, the table, the summary and the picture; ``--resume`` runs what is unfinished.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ddpg_control.cli.arguments import (
    add_duration_argument,
    add_env_argument,
    add_episodes_argument,
    add_executor_arguments,
    add_preset_argument,
    add_quiet_argument,
    add_randomize_argument,
    add_resume_argument,
    add_runs_dir_argument,
    add_set_argument,
    at_least,
    comma_names,
    key_value,
    names_from,
    run_name,
    seed_list,
)
from ddpg_control.cli.params_option import add_params_argument, params_from_args
from ddpg_control.cli.progress import TaskProgress
from ddpg_control.cli.train import add_budget_arguments
from ddpg_control.pipeline.scoring import AXIS_NAMES, DEFAULT_DURATION_S, HOLD_S
from ddpg_control.pipeline.sweep import (
    DEFAULT_RANK,
    DONE,
    FAILED,
    PLOT_FILE,
    RUNS_FOLDER,
    SUMMARY_FILE,
    TABLE_FILE,
    Outcome,
    Record,
    SweepState,
)
from ddpg_control.runtime.errors import ConfigError
from ddpg_control.runtime.run_layout import PARAMS_FILE, POLICY_FILE

if TYPE_CHECKING:
    from ddpg_control.pipeline.scoring import Plan
    from sim.params import PendulumParams
    from sim.params_file import ParamsFile

HELP = "train, export and score many candidate policies; deliver the best"
DESCRIPTION = (
    "Train one candidate per --seeds seed and per combination of --set KEY=V1,V2,... grids "
    "(as 'train' does), export each (as 'export --onnx') and score it (as 'score', on the "
    "nominal rig), on local worker processes (--jobs) or a Ray cluster (--address). Writes "
    "runs/<name>/ with every candidate's run, sweep.csv, summary.txt, sweep.png and the best "
    "candidate's policy.onnx, chosen by --rank-by. A failed candidate is recorded and the "
    "sweep goes on; --resume DIR runs the unfinished ones. See docs/sweep.md."
)
#: Defaults of the scoring, as ``score`` has them.
DEFAULT_EPISODES = 200
QUICK_EPISODES = 2
DEFAULT_SEEDS = (0, 1, 2, 3)
#: Options that define the candidates; ``--resume`` takes the recorded ones instead.
CANDIDATE_OPTIONS = (
    "seeds",
    "overrides",
    "config",
    "env",
    "total_steps",
    "population",
    "preset",
    "randomize",
    "params",
    "quick",
    "axes",
    "episodes",
    "duration_s",
    "rank_by",
    "name",
)


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("sweep", help=HELP, description=DESCRIPTION)
    p.add_argument(
        "--seeds",
        type=seed_list,
        default=None,
        metavar="SEEDS",
        help="training seeds, one candidate each: 0,1,2 or 0-3 (default: 0-3)",
    )
    add_set_argument(
        p,
        "VALUE may be several values, V1,V2,...: one candidate per combination of the grids; "
        "repeatable",
        metavar="KEY=V1,V2",
        type=key_value,
    )
    p.add_argument("--config", type=Path, metavar="FILE", help="TOML config file")
    add_env_argument(p, "Pendulum-v1; PyBulletPendulum-v0 for the PyBullet pendulum")
    add_budget_arguments(p)
    add_preset_argument(
        p,
        "the config's env.preset for training; scoring: the --params file, else default",
    )
    add_randomize_argument(p, default=None)
    add_params_argument(p, randomize=True)
    p.add_argument(
        "--quick",
        action="store_true",
        help="3 points per axis and 2 episodes per point (for checks; seconds, not minutes)",
    )
    p.add_argument(
        "--axes",
        type=names_from(AXIS_NAMES),
        default=None,
        metavar="NAMES",
        help="comma-separated axes to run (default: all): " + ",".join(AXIS_NAMES),
    )
    add_episodes_argument(
        p, None, f"{DEFAULT_EPISODES} per axis point; {QUICK_EPISODES} with --quick"
    )
    add_duration_argument(
        p,
        f"per score episode, more than the {HOLD_S:g} s hold window",
        DEFAULT_DURATION_S,
        type=at_least(HOLD_S, "s", strictly=True),
    )
    p.add_argument(
        "--rank-by",
        type=comma_names,
        default=None,
        metavar="KEYS",
        help="the rule that picks the best: measures of the table, higher is better, each "
        "breaking the ties of the one before (default: " + ",".join(DEFAULT_RANK) + "; a "
        "measure score does not report is left out)",
    )
    add_executor_arguments(p, "each trains, exports and scores one candidate at a time")
    p.add_argument("--name", type=run_name, help="run directory name (default: a timestamp)")
    add_runs_dir_argument(p, "where run directories go")
    add_resume_argument(
        p,
        "the sweep in this folder: its unfinished and failed candidates run again with its "
        "recorded settings",
        "SWEEP_DIR",
    )
    add_quiet_argument(p)
    p.set_defaults(handler=run)


@dataclass(frozen=True)
class CandidateJob:
    """All one worker needs to train, export and score a candidate: data, no paths."""

    name: str
    config: dict[str, Any]
    params_toml: bytes | None
    rig: PendulumParams  # the nominal rig it is scored on
    plan: Plan


def train_export_score(job: CandidateJob) -> Outcome:
    """Run in a worker: train the candidate in a folder of its own, export and score its
    policy, and return the run directory as bytes with what was measured."""
    import dataclasses
    import socket
    import tempfile
    import time

    import torch

    from ddpg_control.learning.config import TrainConfig
    from ddpg_control.learning.trainer import train
    from ddpg_control.pipeline.envs import env_factory, vector_env_factory
    from ddpg_control.pipeline.rig import load_rig_file
    from ddpg_control.pipeline.runs import new_run_dir
    from ddpg_control.pipeline.score_report import stem_for, to_json, write_result
    from ddpg_control.pipeline.scoring import score
    from ddpg_control.pipeline.sweep import pack_folder
    from ddpg_control.runtime.run_layout import BEST_CHECKPOINT
    from export.onnx_export import export_policy

    torch.set_num_threads(1)  # one core per task: the executor runs one task per CPU
    config = TrainConfig.from_dict(job.config)
    with tempfile.TemporaryDirectory(prefix="ddpg-sweep-") as folder:
        run_dir = new_run_dir(job.name, root=Path(folder))
        params_file = None
        if job.params_toml is not None:
            (run_dir / PARAMS_FILE).write_bytes(job.params_toml)
            params_file = load_rig_file(run_dir / PARAMS_FILE)
        factory = env_factory(config.env.id, config.env.preset, config.env.randomize, params_file)
        start = time.perf_counter()
        result = train(
            config, factory, run_dir, vector_env_factory=vector_env_factory(config.env.id)
        )
        trained = time.perf_counter()
        policy = export_policy(run_dir / BEST_CHECKPOINT).path
        exported = time.perf_counter()
        [scored] = score([str(policy)], job.rig, job.plan, map)
        scored = dataclasses.replace(scored, controller=POLICY_FILE)  # not the worker's path
        write_result(scored, stem_for(str(policy), None))
        done = time.perf_counter()
        return Outcome(
            run_files=pack_folder(run_dir),
            train={
                "env_steps": result.env_steps,
                "episodes": result.episodes,
                "eval_return": result.final_eval.mean_return,
                "stopped_early": result.stopped_early,
            },
            score=to_json(scored),
            seconds={
                "train": trained - start,
                "export": exported - trained,
                "score": done - exported,
            },
            worker=f"{socket.gethostname()}:{os.getpid()}",
        )


def _candidate_configs(
    args: argparse.Namespace, state_settings: dict[str, Any], params_file: ParamsFile | None
) -> SweepState:
    """A new sweep's record: every candidate with its resolved config (refused now, before any
    work, when a value is bad or an option does not fit its environment). Whether the
    environment exists is for the worker to find: a cluster's machines may have others."""
    from ddpg_control.cli.train import resolve_config
    from ddpg_control.pipeline.envs import env_kwargs
    from ddpg_control.pipeline.sweep import expand, split_values

    grids = [(key, split_values(values)) for key, values in args.overrides]
    candidates = expand(args.seeds or DEFAULT_SEEDS, grids)
    records = []
    for candidate in candidates:
        options = argparse.Namespace(
            **{**vars(args), "overrides": candidate.overrides, "seed": None}
        )
        config = resolve_config(options)
        env_kwargs(config.env.id, config.env.preset, config.env.randomize, params_file)
        records.append(Record(candidate, config.to_dict()))
    return SweepState(state_settings, records)


def _new_sweep(args: argparse.Namespace) -> tuple[Path, SweepState]:
    from ddpg_control.pipeline.runs import new_run_dir

    settings = {
        "preset": args.preset,
        "params": args.params is not None,
        "axes": list(args.axes or AXIS_NAMES),
        "quick": args.quick,
        "episodes": args.episodes or (QUICK_EPISODES if args.quick else DEFAULT_EPISODES),
        "seed": 0,
        "duration_s": args.duration_s,
        "rank_by": list(args.rank_by or DEFAULT_RANK),
    }
    params_file = params_from_args(args)  # a bad file is refused before the folder exists
    state = _candidate_configs(args, settings, params_file)
    _check_rank_keys(settings["rank_by"], explicit=args.rank_by is not None)
    _scoring(params_file, settings)  # a bad preset too
    name = args.name or _dt.datetime.now().strftime("sweep-%Y%m%d-%H%M%S")
    folder = new_run_dir(name, root=args.runs_dir)
    if params_file is not None:
        (folder / PARAMS_FILE).write_bytes(params_file.path.read_bytes())
    state.save(folder)
    return folder, state


def _check_rank_keys(keys: list[str], explicit: bool) -> None:
    """A rule naming a measure score never reports is refused before any work."""
    if not explicit:
        return
    known = _score_measures()
    unknown = [k for k in keys if k not in known]
    if unknown:
        raise ConfigError(
            f"--rank-by: score reports no measure {', '.join(unknown)}; choose from "
            + ", ".join(sorted(known))
        )


def _score_measures() -> set[str]:
    """The measures of score's summary, read from the summary of a made-up result."""
    import dataclasses

    from ddpg_control.pipeline.score_report import to_json
    from ddpg_control.pipeline.scoring import AXES, Episode, PointResult, ScoreResult
    from ddpg_control.pipeline.sweep import numbers

    values: dict[str, Any] = {f.name: 1.0 for f in dataclasses.fields(Episode)}
    episode = Episode(**values)
    points = tuple(PointResult(a.name, a.points[0], a.unit, (episode,)) for a in AXES)
    result = ScoreResult("x", 0, 1, points, PointResult("nominal", math.nan, "", (episode,)))
    return set(numbers(to_json(result)))


def _scoring(params_file: ParamsFile | None, settings: dict[str, Any]) -> tuple[Any, Plan]:
    """The nominal rig the candidates are scored on, and the plan."""
    from ddpg_control.pipeline.rig import rig_params
    from ddpg_control.pipeline.scoring import AXES, Plan, benchmark_params, quick_axes

    rig = benchmark_params(rig_params(params_file, settings["preset"]))
    axes = tuple(a for a in AXES if a.name in settings["axes"])
    if settings["quick"]:
        axes = quick_axes(axes)
    plan = Plan(axes, settings["episodes"], settings["seed"], settings["duration_s"])
    return rig, plan


def _refuse_with_resume(args: argparse.Namespace) -> None:
    defaults = _defaults()
    given = [n for n in CANDIDATE_OPTIONS if getattr(args, n) != defaults[n]]
    if given:
        option = "--" + given[0].replace("_", "-").replace("overrides", "set")
        raise ConfigError(
            f"{option} cannot change a sweep being resumed: --resume runs the recorded "
            "candidates with their recorded settings (only --jobs, --address and --quiet apply)"
        )


def run(args: argparse.Namespace) -> int:
    from ddpg_control.pipeline.executor import cluster_address, open_executor
    from ddpg_control.pipeline.rig import load_rig_file

    address = cluster_address(args.jobs, args.address)
    if args.resume is not None:
        _refuse_with_resume(args)
        folder = args.resume
        state = SweepState.load(folder)
    else:
        folder, state = _new_sweep(args)
    kept = folder / PARAMS_FILE
    params_file = load_rig_file(kept) if state.settings["params"] else None
    params_toml = kept.read_bytes() if params_file is not None else None
    rig, plan = _scoring(params_file, state.settings)
    todo = state.unfinished()
    jobs = [CandidateJob(r.candidate.name, r.config, params_toml, rig, plan) for r in todo]
    workers = args.jobs or min(8, os.cpu_count() or 1, max(len(jobs), 1))
    print(f"sweep: {folder}", file=sys.stderr)
    with open_executor(workers, address) as executor:
        print(
            f"{len(jobs)} of {len(state.records)} candidates to run on {executor.description}"
            f" ({len(plan.axes)} score axes, {plan.episodes} episodes per point)",
            file=sys.stderr,
        )
        progress = None if args.quiet else TaskProgress("sweep", "candidates")
        for done, (index, outcome) in enumerate(executor.as_done(train_export_score, jobs), 1):
            _record(folder, todo[index], outcome)
            state.save(folder)
            print(_line(todo[index]), file=sys.stderr)
            if progress is not None:
                progress(done, len(jobs))
    return _deliver(folder, state)


def _record(folder: Path, record: Record, outcome: Any) -> None:
    from ddpg_control.pipeline.sweep import numbers, unpack_folder

    if not isinstance(outcome, Outcome):  # a Failed: the task's one-line error
        record.status, record.error = FAILED, outcome.error
        return
    unpack_folder(outcome.run_files, folder / RUNS_FOLDER / record.candidate.name)
    record.status, record.error = DONE, ""
    record.train, record.seconds, record.worker = outcome.train, outcome.seconds, outcome.worker
    record.metrics = numbers(outcome.score)


def _line(record: Record) -> str:
    if record.status == FAILED:
        return f"  {record.candidate.name} failed ({record.candidate.label}): {record.error}"
    overall = record.metrics.get("overall_score", math.nan)
    seconds = ", ".join(f"{k} {v:.0f} s" for k, v in record.seconds.items())
    head = f"  {record.candidate.name} done ({record.candidate.label})"
    return f"{head}: overall {overall:.3f} ({seconds})"


def _deliver(folder: Path, state: SweepState) -> int:
    from ddpg_control.pipeline.sweep import rank
    from ddpg_control.pipeline.sweep_report import plot_sweep, summary, write_table
    from ddpg_control.runtime.files import write_atomically

    choice = rank(state.records, state.settings["rank_by"])
    delivered = None
    best = choice.best
    if best is not None:
        source = folder / RUNS_FOLDER / best.candidate.name / POLICY_FILE
        delivered = write_atomically(folder / POLICY_FILE, source.read_bytes())
        state.best = {
            "name": best.candidate.name,
            "label": best.candidate.label,
            "reason": choice.reason,
        }
    else:
        (folder / POLICY_FILE).unlink(missing_ok=True)
        state.best = {}
    state.save(folder)
    write_table(state.records, choice, folder / TABLE_FILE)
    text = summary(state.records, choice, delivered)
    write_atomically(folder / SUMMARY_FILE, text.encode())
    plot_sweep(state.records, choice, folder / PLOT_FILE)
    print(text, end="")
    print(f"wrote {folder / TABLE_FILE}, {SUMMARY_FILE} and {PLOT_FILE}")
    return 0 if best is not None else 1


def _defaults() -> dict[str, Any]:
    """Every option's value when not given."""
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    return vars(parser.parse_args(["sweep"]))
