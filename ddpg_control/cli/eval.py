"""``ddpg-control eval``: deterministic evaluation of a trained policy over N episodes.

Two steps, kept apart so other policy sources and outputs slot in: :func:`load_policy` turns
the arguments into a policy callable plus what it was trained on, :func:`build_env` makes the
environment to evaluate it in.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ddpg_control.cli.arguments import (
    add_env_argument,
    add_episodes_argument,
    add_policy_argument,
    add_preset_argument,
    add_randomize_argument,
    add_runs_dir_argument,
    add_seed_argument,
    file_with_suffix,
)
from ddpg_control.cli.params_option import add_params_argument, params_from_args
from ddpg_control.runtime.contracts import DEFAULT_EPISODE_S
from ddpg_control.runtime.run_layout import BEST_CHECKPOINT

HELP = "evaluate a trained policy (default: the latest run's best checkpoint)"


@dataclass(frozen=True)
class PolicySource:
    """A loaded policy and the environment it was trained for."""

    policy: Any  # obs (float32 array) -> torque in N*m
    description: str
    env_id: str
    preset: str
    obs_dim: int
    act_dim: int
    #: Its training episodes' duration: evaluation episodes last as long.
    episode_s: float


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("eval", help=HELP, description=HELP + ", without exploration noise.")
    add_policy_argument(
        p,
        f"a run directory (its {BEST_CHECKPOINT}), a checkpoint (.pt) or an ONNX policy (.onnx, "
        "the deployed artifact, run by onnxruntime)",
        f"the latest run's {BEST_CHECKPOINT}",
    )
    add_episodes_argument(p, 100)
    add_seed_argument(p, "episode i starts from env.reset(seed=SEED + i)")
    add_env_argument(p, "the one the policy was trained on")
    add_preset_argument(p, "the --params file, else the policy's training preset")
    add_randomize_argument(p)
    p.add_argument("--render", action="store_true", help="show the episodes in a window")
    p.add_argument(
        "--record",
        type=file_with_suffix(".gif"),
        metavar="FILE.gif",
        help="also record one deterministic episode (seed SEED) as an animated GIF",
    )
    add_runs_dir_argument(p)
    add_params_argument(p, randomize=True)
    p.set_defaults(handler=run)


def load_policy(args: argparse.Namespace) -> PolicySource:
    """The policy to evaluate: ``--policy`` (a run directory, a checkpoint or an ONNX file), else
    the latest run's best checkpoint."""
    from ddpg_control.pipeline.runs import run_file

    path = run_file(args.policy, BEST_CHECKPOINT, args.runs_dir)
    if path.suffix.lower() == ".onnx":
        return onnx_policy_source(path)
    from ddpg_control.learning.agent import actor_policy
    from ddpg_control.learning.checkpoint import load_actor

    actor, payload = load_actor(path)
    env_config = payload["config"].get("env", {}) if isinstance(payload["config"], dict) else {}
    return PolicySource(
        policy=actor_policy(actor),
        description=str(path),
        env_id=str(payload["env"]["id"]),
        preset=str(env_config.get("preset", "")),
        obs_dim=actor.arch.obs_dim,
        act_dim=actor.arch.act_dim,
        episode_s=float(env_config.get("episode_s", DEFAULT_EPISODE_S)),
    )


def onnx_policy_source(path: Path) -> PolicySource:
    """An ONNX policy: the deployed artifact itself, run by onnxruntime (no torch)."""
    from export.runtime import OnnxPolicy

    policy = OnnxPolicy.load(path)
    return PolicySource(
        policy=policy,
        description=str(path),
        env_id=policy.env_id,
        preset=policy.metadata.env_preset,
        obs_dim=policy.obs_dim,
        act_dim=policy.metadata.act_dim,
        episode_s=policy.metadata.episode_s or DEFAULT_EPISODE_S,
    )


def build_env(args: argparse.Namespace, source: PolicySource, render_mode: str | None) -> Any:
    """The environment to evaluate in, checked against the policy's input and output sizes."""
    import numpy as np

    from ddpg_control.pipeline.envs import make_env
    from ddpg_control.runtime.errors import ConfigError

    env_id = args.env or source.env_id
    preset = (
        args.preset
        if args.preset is not None
        else (source.preset if env_id == source.env_id else "")
    )
    env = make_env(
        env_id,
        preset,
        args.randomize,
        render_mode=render_mode,
        params_file=params_from_args(args),
        episode_s=source.episode_s,
    )
    obs_dim = int(np.prod(env.observation_space.shape))
    act_dim = int(np.prod(env.action_space.shape))
    if (obs_dim, act_dim) != (source.obs_dim, source.act_dim):
        env.close()
        raise ConfigError(
            f"{source.description} takes {source.obs_dim} observations and gives "
            f"{source.act_dim} actions, but {env_id} has {obs_dim} and {act_dim}"
        )
    return env


def run(args: argparse.Namespace) -> int:
    from gymnasium.error import DependencyNotInstalled

    from ddpg_control.learning.evaluation import evaluate
    from ddpg_control.runtime.errors import ConfigError

    source = load_policy(args)
    env = build_env(args, source, render_mode="human" if args.render else None)
    try:
        result = evaluate(source.policy, env, args.episodes, args.seed)
    except DependencyNotInstalled as exc:  # rendering Pendulum-v1 needs pygame
        raise ConfigError(f"--render needs a package that is not installed: {exc}") from None
    finally:
        env.close()
    print(f"policy:  {source.description}")
    print(
        f"env:     {args.env or source.env_id}, {args.episodes} episodes of "
        f"{source.episode_s:g} s, seed {args.seed}"
    )
    print(
        f"return:  mean {result.mean_return:.1f}  std {result.std_return:.1f}  "
        f"min {min(result.returns):.1f}  max {max(result.returns):.1f}"
    )
    if args.record is not None:
        print(f"recorded: {record(args, source)}")
    return 0


def record(args: argparse.Namespace, source: PolicySource) -> Path:
    """Write one deterministic episode as a GIF; Pendulum-v1 is drawn by its PyBullet twin
    (``PyBulletPendulum-v0`` with the default preset has the same dynamics, and Pendulum-v1's
    own renderer needs pygame)."""
    from ddpg_control.runtime.errors import ConfigError, first_line
    from sim import PYBULLET_ENV_ID
    from sim.render import record_episode, save_gif

    if (args.env or source.env_id) == "Pendulum-v1":
        args = argparse.Namespace(**{**vars(args), "env": PYBULLET_ENV_ID})
    env = build_env(args, source, render_mode="rgb_array")
    try:
        frames = record_episode(env, source.policy, seed=args.seed)
        return save_gif(frames, args.record, fps=env.metadata["render_fps"])
    except OSError as exc:
        raise ConfigError(f"cannot write the recording: {first_line(exc)}") from None
    finally:
        env.close()
