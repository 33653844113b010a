"""``ddpg-control train``: train a DDPG swing-up policy into ``runs/<name>/``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ddpg_control.cli.arguments import (
    add_env_argument,
    add_preset_argument,
    add_quiet_argument,
    add_randomize_argument,
    add_resume_argument,
    add_runs_dir_argument,
    add_seed_argument,
    add_set_argument,
    positive_float,
    positive_int,
    run_name,
)
from ddpg_control.cli.params_option import add_params_argument, params_from_args
from ddpg_control.runtime.errors import ConfigError, RunDirectoryError
from ddpg_control.runtime.run_layout import LAST_CHECKPOINT, PARAMS_FILE

if TYPE_CHECKING:
    from sim.params_file import ParamsFile

HELP = "train a DDPG policy (default: Pendulum-v1) into runs/<name>/"


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "train",
        help=HELP,
        description=HELP + ". Every hyperparameter has a default; a TOML config file and "
        "--set KEY=VALUE override them, and the options below override both.",
    )
    add_env_argument(p, "Pendulum-v1; PyBulletPendulum-v0 for the PyBullet pendulum")
    add_seed_argument(
        p,
        "the networks' initial weights, exploration noise, replay sampling and environments; "
        "default: the config's, 0",
        default=None,
    )
    add_budget_arguments(p)
    p.add_argument("--config", type=Path, metavar="FILE", help="TOML config file")
    add_set_argument(p, "repeatable")
    add_preset_argument(p, "the config's env.preset, else the PyBullet pendulum's default")
    add_randomize_argument(p, default=None)
    p.add_argument("--name", type=run_name, help="run directory name (default: a timestamp)")
    add_runs_dir_argument(p, "where run directories go")
    add_resume_argument(
        p,
        f"a run, from its {LAST_CHECKPOINT} (or that file itself), with its config and, if it "
        f"was trained with --params, its own {PARAMS_FILE}",
        "CHECKPOINT_OR_RUN",
    )
    add_quiet_argument(p)
    add_params_argument(p, randomize=True)
    p.set_defaults(handler=run)


def add_budget_arguments(p: Any) -> None:
    """``--total-steps``, ``--episode-s`` and ``--population``: how much training a run gets
    (``train`` and each candidate of ``sweep``)."""
    p.add_argument(
        "--total-steps",
        type=positive_int,
        metavar="N",
        help="environment steps per learner, an exact budget. Without it (and without a step "
        "count in --config or --set) train gives each learner 500 s of experience at the "
        "env's control period (10000 steps on Pendulum-v1, 50000 on a 100-Hz rig) and up to "
        "as many steps again until the delivered policy passes its balance test; a sweep's "
        "candidates take the config's 10000. With the config's stop.metric = 'eval' training "
        "stops earlier once the goal return is confirmed",
    )
    p.add_argument(
        "--episode-s",
        type=positive_float,
        metavar="S",
        help="each episode's duration in seconds, at the environment's own control period "
        "(default 10: 200 steps at 20 Hz, 1000 on a 100 Hz rig). Applies to Pendulum-v1 too "
        "(fixed at 20 Hz: a time limit of S / 0.05 steps; 10 keeps its own 200)",
    )
    p.add_argument(
        "--population",
        type=positive_int,
        metavar="K",
        help="train K independent learners side by side (networks stacked, each its own "
        "seed, env, replay buffer and noise) and deliver the best as best.pt; "
        "--total-steps counts steps per learner (default 4; 1 = a single learner)",
    )


def resolve_config(args: argparse.Namespace, base: Any = None) -> Any:
    """Defaults < config file (or the resumed run's config) < --set < dedicated options."""
    from ddpg_control.learning.config import (
        TrainConfig,
        load_config,
        parse_override,
        with_overrides,
    )

    if base is not None:
        config = base
    elif args.config is not None:
        config = load_config(args.config)
    else:
        config = TrainConfig()
    overrides = [parse_override(text) for text in args.overrides]
    for key, value in (
        ("env.id", args.env),
        ("seed", args.seed),
        ("total_steps", args.total_steps),
        ("env.preset", args.preset),
        ("env.randomize", args.randomize),
        ("population", args.population),
        ("env.episode_s", args.episode_s),
    ):
        if value is not None:
            overrides.append((key, value))
    return with_overrides(config, overrides)


#: The default config's step counts are meant at this control period (Pendulum-v1's 20 Hz).
DEFAULT_STEPS_PERIOD_S = 0.05
#: The keys of the step budget; a run that sets none of them gets :func:`default_budget`.
BUDGET_KEYS = ("total_steps", "learning_starts", "eval_every_steps", "balance_steps")


def budget_given(args: argparse.Namespace) -> bool:
    """Whether the command line or the config file sets any of :data:`BUDGET_KEYS`."""
    from ddpg_control.learning.config import parse_override
    from ddpg_control.runtime.toml_config import read_toml

    keys = {parse_override(text)[0] for text in args.overrides}
    if args.config is not None:
        keys |= set(read_toml(args.config))
    return args.total_steps is not None or bool(keys & set(BUDGET_KEYS))


def default_budget(config: Any, period_s: float) -> Any:
    """The budget of a run that names none: the default step counts in seconds of experience
    at the env's own control period (10000 steps = 500 s per learner, warm-up and evaluations
    every 50 s), and as many steps again (:attr:`TrainConfig.balance_steps`) while the
    delivered policy does not yet balance: a heavy or fast rig can need up to 1000 s for that;
    the default Pendulum-v1 runs balance within the 500 s and stop there."""
    from ddpg_control.learning.config import with_overrides

    scale = DEFAULT_STEPS_PERIOD_S / period_s
    steps = {key: round(getattr(config, key) * scale) for key in BUDGET_KEYS[:3]}
    return with_overrides(config, [*steps.items(), ("balance_steps", steps["total_steps"])])


def experience_note(config: Any, period_s: float) -> str:
    """A note when the step counts give a faster rig fewer seconds of experience than the
    defaults give at 20 Hz, with the options that give it the same; "" otherwise."""
    from ddpg_control.learning.config import TrainConfig

    default = TrainConfig()
    wanted_s = default.total_steps * DEFAULT_STEPS_PERIOD_S
    faster = period_s < DEFAULT_STEPS_PERIOD_S * (1 - 1e-9)
    if not faster or config.total_steps * period_s >= wanted_s * (1 - 1e-9):
        return ""
    same = default_budget(default, period_s)
    return (
        f"note: at {1 / period_s:g} Hz, {config.total_steps} steps are "
        f"{config.total_steps * period_s:g} s of experience per learner, where the defaults give "
        f"{wanted_s:g} s at 20 Hz; for the same seconds pass --total-steps {same.total_steps} "
        f"--set learning_starts={same.learning_starts} --set eval_every_steps="
        f"{same.eval_every_steps}"
    )


def _resume_paths(target: Path) -> tuple[Path, Path]:
    """(checkpoint, run directory) for ``--resume``: a run directory or a checkpoint file."""
    checkpoint = target / LAST_CHECKPOINT if target.is_dir() else target
    if not checkpoint.is_file():
        raise RunDirectoryError(
            f"nothing to resume at '{target}': pass a run directory holding {LAST_CHECKPOINT}"
        )
    return checkpoint, checkpoint.parent.parent


def _resume_params(run_dir: Path, given: ParamsFile | None) -> ParamsFile | None:
    """The pendulum a resumed run goes on training for: the ``params.toml`` that ``train
    --params`` kept in the run directory. A different ``--params`` (or one for a run trained
    without) would change the task under a half-trained policy and is refused."""
    kept = run_dir / PARAMS_FILE
    if not kept.is_file():
        if given is not None:
            raise ConfigError(
                f"run '{run_dir}' was trained without --params; resume it without --params, "
                "or start a new run with them"
            )
        return None
    if given is None:
        from sim.params_file import load_params_file

        return load_params_file(kept)
    if given.path.read_bytes() != kept.read_bytes():
        raise ConfigError(
            f"run '{run_dir}' was trained with {kept}, not with '{given.path}'; resume it "
            "without --params (its own file is used), or start a new run with the new file"
        )
    return given


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ddpg_control.learning.checkpoint import load_checkpoint
    from ddpg_control.learning.config import TrainConfig
    from ddpg_control.learning.results import Progress
    from ddpg_control.learning.trainer import train
    from ddpg_control.pipeline.envs import env_factory, vector_env_factory
    from ddpg_control.pipeline.runs import new_run_dir

    resume_from: Path | None = None
    if args.resume is not None:
        resume_from, run_dir = _resume_paths(args.resume)
        payload = load_checkpoint(resume_from)
        base = TrainConfig.from_dict(
            payload["config"], period_s=payload["env"].get("control_period_s")
        )
        config = resolve_config(args, base)
    else:
        config = resolve_config(args)
    params_file = params_from_args(args)
    if resume_from is not None:
        params_file = _resume_params(run_dir, params_file)
    factory = env_factory(
        config.env.id,
        config.env.preset,
        config.env.randomize,
        params_file,
        episode_s=config.env.episode_s,
    )
    probe = factory()
    period_s = float(probe.unwrapped.dt)
    probe.close()
    if resume_from is None and not budget_given(args):
        config = default_budget(config, period_s)
        print(
            f"budget: {config.total_steps} steps per learner ({config.total_steps * period_s:g} s "
            f"at {1 / period_s:g} Hz), up to {config.balance_steps} more until a policy "
            "balances; --total-steps N sets an exact budget",
            file=sys.stderr,
        )
    note = experience_note(config, period_s)
    if note:
        print(note, file=sys.stderr)
    if resume_from is None:
        run_dir = new_run_dir(args.name, root=args.runs_dir)
    if params_file is not None:  # kept with the run: what it was trained for, and from what
        (run_dir / PARAMS_FILE).write_bytes(params_file.path.read_bytes())

    bar = tqdm(
        total=config.total_steps,
        unit="step",
        file=sys.stderr,
        dynamic_ncols=True,
        disable=args.quiet,
        initial=0,
        desc="train",
    )

    def show(p: Progress) -> None:
        bar.n, bar.total = p.env_steps, p.total_steps
        ep = "-" if p.episode_return is None else f"{p.episode_return:.0f}"
        ev = "-" if p.eval_return is None else f"{p.eval_return:.0f}"
        bar.set_postfix_str(f"ep {p.episodes} return {ep} eval {ev}", refresh=False)
        bar.refresh()

    try:
        result = train(
            config,
            factory,
            run_dir,
            resume_from=resume_from,
            on_progress=show,
            vector_env_factory=vector_env_factory(config.env.id, config.env.episode_s),
        )
    finally:
        bar.close()
    final = result.final_eval
    extra = result.env_steps - config.total_steps
    how = "goal reached" if result.stopped_early else "step budget used"
    if extra > 0 and result.balance == 1.0:
        how += f"; {extra} more until a policy balanced"
    elif extra > 0:
        how = f"step budget and its {config.balance_steps} steps for balance used"
    print(f"run:        {run_dir}")
    print(
        f"trained:    {result.env_steps} steps, {result.episodes} episodes, "
        f"{result.wall_time_s:.1f} s ({how})"
    )
    chosen_by = (
        "the stop rule's confirmation" if result.stopped_early else "the evaluation that chose it"
    )
    print(
        f"best.pt:    mean return {final.mean_return:.1f} +- {final.std_return:.1f} "
        f"over {len(final.returns)} deterministic episodes ({chosen_by}; "
        "'ddpg-control eval' measures it on other starts)"
    )
    if result.balance is not None:
        print(
            f"balance:    held {result.balance:.0%} of the balance test's episodes from near "
            "upright (within 0.01 rad and 0.2 rad/s for their last quarter)"
        )
    if result.population > 1:
        print(
            f"population: {result.population} learners; best.pt is member {result.member} "
            f"(seed {result.member_seed})"
        )
    return 0
