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

from ddpg_control.cli.arguments import add_runs_dir_argument, file_to_write, non_negative_int
from ddpg_control.cli.params_option import add_params_argument, params_from_args
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


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("eval", help=HELP, description=HELP + ", without exploration noise.")
    p.add_argument(
        "checkpoint",
        nargs="?",
        type=Path,
        help=f"checkpoint file (default: <latest run>/{BEST_CHECKPOINT})",
    )
    p.add_argument(
        "--policy",
        type=Path,
        metavar="FILE.onnx",
        help="evaluate an exported ONNX policy (the deployed artifact) instead of a checkpoint",
    )
    p.add_argument(
        "--episodes", type=int, default=100, metavar="N", help="number of episodes (default 100)"
    )
    p.add_argument(
        "--seed",
        type=non_negative_int,
        default=0,
        help="episode i starts from env.reset(seed=SEED + i) (default 0)",
    )
    p.add_argument(
        "--env",
        metavar="ID",
        help="evaluate on another env id (default: the one the policy was trained on)",
    )
    p.add_argument("--preset", metavar="NAME", help="PyBullet pendulum parameter preset")
    p.add_argument(
        "--randomize", action="store_true", help="domain randomisation (PyBullet pendulum only)"
    )
    p.add_argument("--render", action="store_true", help="show the episodes in a window")
    p.add_argument(
        "--record",
        type=_gif_path,
        metavar="FILE.gif",
        help="also record one deterministic episode (seed SEED) as an animated GIF",
    )
    add_runs_dir_argument(p)
    add_params_argument(p, randomize=True)
    p.set_defaults(handler=run)


def load_policy(args: argparse.Namespace) -> PolicySource:
    """The policy to evaluate: ``args.checkpoint`` or the latest run's best checkpoint."""
    if getattr(args, "policy", None) is not None:
        return onnx_policy_source(args)
    from ddpg_control.learning.agent import actor_policy
    from ddpg_control.learning.checkpoint import load_actor
    from ddpg_control.pipeline.runs import latest_run

    path = args.checkpoint
    if path is None:
        path = latest_run(args.runs_dir, containing=BEST_CHECKPOINT) / BEST_CHECKPOINT
    actor, payload = load_actor(path)
    env_config = payload["config"].get("env", {}) if isinstance(payload["config"], dict) else {}
    return PolicySource(
        policy=actor_policy(actor),
        description=str(path),
        env_id=str(payload["env"]["id"]),
        preset=str(env_config.get("preset", "")),
        obs_dim=actor.arch.obs_dim,
        act_dim=actor.arch.act_dim,
    )


def onnx_policy_source(args: argparse.Namespace) -> PolicySource:
    """``--policy FILE.onnx``: the deployed artifact itself, run by onnxruntime (no torch)."""
    from ddpg_control.runtime.errors import ConfigError
    from export.runtime import OnnxPolicy

    if args.checkpoint is not None:
        raise ConfigError("pass either a checkpoint or --policy FILE.onnx, not both")
    policy = OnnxPolicy.load(args.policy)
    return PolicySource(
        policy=policy,
        description=str(args.policy),
        env_id=policy.env_id,
        preset=policy.metadata.env_preset,
        obs_dim=policy.obs_dim,
        act_dim=policy.metadata.act_dim,
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
        env_id, preset, args.randomize, render_mode=render_mode, params_file=params_from_args(args)
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

    if args.episodes <= 0:
        raise ConfigError(f"--episodes must be a positive number, got {args.episodes}")
    source = load_policy(args)
    env = build_env(args, source, render_mode="human" if args.render else None)
    try:
        result = evaluate(source.policy, env, args.episodes, args.seed)
    except DependencyNotInstalled as exc:  # rendering Pendulum-v1 needs pygame
        raise ConfigError(f"--render needs a package that is not installed: {exc}") from None
    finally:
        env.close()
    print(f"policy:  {source.description}")
    print(f"env:     {args.env or source.env_id}, {args.episodes} episodes, seed {args.seed}")
    print(
        f"return:  mean {result.mean_return:.1f}  std {result.std_return:.1f}  "
        f"min {min(result.returns):.1f}  max {max(result.returns):.1f}"
    )
    if args.record is not None:
        print(f"recorded: {record(args, source)}")
    return 0


def _gif_path(value: str) -> Path:
    if not value.lower().endswith(".gif"):
        raise argparse.ArgumentTypeError(f"needs a .gif file name, got {value!r}")
    return file_to_write(value)


def record(args: argparse.Namespace, source: PolicySource) -> Path:
    """Write one deterministic episode as a GIF; Pendulum-v1 is drawn by its PyBullet twin
    (``PyBulletPendulum-v0`` with the default preset has the same dynamics, and Pendulum-v1's
    own renderer needs pygame)."""
    from ddpg_control.runtime.errors import ConfigError, first_line
    from sim.render import record_episode, save_gif

    if (args.env or source.env_id) == "Pendulum-v1":
        args = argparse.Namespace(**{**vars(args), "env": "PyBulletPendulum-v0"})
    env = build_env(args, source, render_mode="rgb_array")
    try:
        frames = record_episode(env, source.policy, seed=args.seed)
        return save_gif(frames, args.record, fps=env.metadata["render_fps"])
    except OSError as exc:
        raise ConfigError(f"cannot write the recording: {first_line(exc)}") from None
    finally:
        env.close()
