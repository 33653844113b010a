"""Checkpoints: written atomically, loaded without executing pickled code.

A checkpoint is one ``torch.save`` file holding only tensors, plain containers and numbers,
read back with ``torch.load(weights_only=True)``. Two layouts (``FORMAT_VERSION`` 1) share::

    {
      "format_version": 1,
      "architecture": Architecture.to_dict(),
      "config": {...},      # the resolved training config, as plain data
      "env": describe_env(env),   # id, control period, torque limit, parameters
      "progress": {"env_steps": int, "episodes": int, "eval_return": float | None, ...},
      "networks": {"actor": ..., "critic": ..., "actor_target": ..., "critic_target": ...},
      "population": {"size": K, ...},
    }

``best.pt`` is one learner: its networks are ``Actor``/``Critic`` state dicts, and
``population`` says which member (``member``, ``member_seed``) it is. ``last.pt`` is every
learner, for resuming: stacked networks and optimizers (``StackedAgent.state_dict``),
``population["members"]`` (each member's seed, generator and noise state), ``replay`` and the
best evaluation so far (``best``); read as one learner (:func:`load_actor`) it gives the member
of its evaluation's best (``progress["member"]``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ddpg_control.learning.config import gamma_per_s_of
from ddpg_control.learning.networks import Actor, Architecture
from ddpg_control.learning.stacked import member_networks
from ddpg_control.runtime.errors import CheckpointError, first_line
from ddpg_control.runtime.files import replacing

FORMAT_VERSION = 1


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` to ``path`` atomically: a crash mid-save leaves the old file intact."""
    with replacing(path) as tmp:
        torch.save({"format_version": FORMAT_VERSION, **payload}, tmp)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`, refusing pickled code."""
    if not path.is_file():
        raise CheckpointError(f"checkpoint '{path}' does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt files
        raise CheckpointError(
            f"checkpoint '{path}' is corrupt or not a ddpg-control checkpoint ({first_line(exc)})"
        ) from exc
    if not isinstance(payload, dict) or payload.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint '{path}' has an unknown format (expected format_version "
            f"{FORMAT_VERSION}); was it written by ddpg-control?"
        )
    for key in ("architecture", "networks", "config", "env", "progress"):
        if key not in payload:
            raise CheckpointError(f"checkpoint '{path}' is missing '{key}'")
    return payload


def architecture_of(payload: dict[str, Any], path: Path | None = None) -> Architecture:
    try:
        return Architecture.from_dict(payload["architecture"])
    except (KeyError, TypeError, ValueError, AssertionError) as exc:
        raise CheckpointError(f"checkpoint '{path}' has an invalid architecture: {exc}") from exc


def load_actor(path: Path) -> tuple[Actor, dict[str, Any]]:
    """Rebuild the trained actor (eval mode, CPU) and return it with the checkpoint payload.
    A ``last.pt`` gives the member of its evaluation's best."""
    payload = load_checkpoint(path)
    actor = Actor(architecture_of(payload, path))
    try:
        networks = payload["networks"]
        population = payload.get("population")
        if isinstance(population, dict) and "members" in population:
            member = int(payload["progress"]["member"])
            networks = member_networks(networks, member, actor.max_torque_nm)
        actor.load_state_dict(networks["actor"], strict=True)
    except (KeyError, RuntimeError, IndexError, TypeError, ValueError) as exc:
        raise CheckpointError(
            f"checkpoint '{path}' does not match its recorded architecture "
            f"(another network shape?): {first_line(exc)}"
        ) from exc
    actor.eval()
    return actor, payload


@dataclass(frozen=True)
class TrainedPolicy:
    """A checkpoint's actor and what it records about it: enough to describe an artifact."""

    actor: Actor
    env_id: str
    env_preset: str
    control_period_s: float
    env_params: dict[str, Any]
    env_randomize: Any
    env_steps: int
    episodes: int
    eval_return: float | None
    wall_time_s: float
    #: The training episode's duration and the discount per second (None: not recorded).
    episode_s: float | None = None
    gamma_per_s: float | None = None


def load_policy(path: Path) -> TrainedPolicy:
    """:func:`load_actor`, with the checkpoint's record checked and typed."""
    actor, payload = load_actor(path)
    env, progress = payload["env"], payload["progress"]
    if not isinstance(env, dict) or not isinstance(progress, dict):
        raise CheckpointError(f"checkpoint '{path}' lacks its 'env' or 'progress' record")
    for key in ("id", "control_period_s"):
        if key not in env:
            raise CheckpointError(
                f"checkpoint '{path}' lacks env['{key}']; it was written by an older "
                "training run: re-train, or add it to the checkpoint"
            )
    env_torque = env.get("max_torque_nm")
    limit = actor.arch.max_torque_nm
    if env_torque is not None and not math.isclose(
        _number(env_torque, "env max_torque_nm", path), limit, rel_tol=1e-6
    ):
        raise CheckpointError(
            f"checkpoint '{path}': the actor's torque scale {limit} N*m differs "
            f"from the environment's limit {env_torque} N*m; the checkpoint is inconsistent"
        )
    env_config = payload["config"].get("env")  # the training config's [env] table
    preset = env_config.get("preset", "") if isinstance(env_config, dict) else ""
    eval_return = progress.get("eval_return")
    period_s = _number(env["control_period_s"], "env control_period_s", path)
    episode_s = env.get("episode_s")
    return TrainedPolicy(
        actor=actor,
        env_id=str(env["id"]),
        env_preset=str(preset or ""),
        control_period_s=period_s,
        env_params=dict(env.get("params") or {}),
        env_randomize=env.get("randomize"),
        env_steps=int(progress.get("env_steps", 0)),
        episodes=int(progress.get("episodes", 0)),
        eval_return=None if eval_return is None else float(eval_return),
        wall_time_s=float(progress.get("wall_time_s", 0.0)),
        episode_s=None if episode_s is None else _number(episode_s, "env episode_s", path),
        gamma_per_s=_gamma_per_s(payload["config"].get("agent"), period_s, path),
    )


def _gamma_per_s(agent: Any, period_s: float, path: Path) -> float | None:
    """The training discount per second: the config's ``agent.gamma_per_s``, or from the
    per-step ``agent.gamma`` an older config recorded."""
    if not isinstance(agent, dict):
        return None
    if "gamma_per_s" in agent:
        return _number(agent["gamma_per_s"], "agent gamma_per_s", path)
    if "gamma" in agent:
        return gamma_per_s_of(_number(agent["gamma"], "agent gamma", path), period_s)
    return None


def _number(value: Any, what: str, path: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CheckpointError(f"checkpoint '{path}' has no numeric {what} (got {value!r})")
    return float(value)


def describe_env(env: Any, randomize: bool = False) -> dict[str, Any]:
    """The checkpoint's ``env`` entry: id, control period, episode (steps and seconds, None
    when the env has no limit), torque limit, plain parameters."""
    base = env.unwrapped
    steps = getattr(base, "max_episode_steps", None)
    if steps is None and env.spec is not None:
        steps = env.spec.max_episode_steps
    params: dict[str, Any]
    if hasattr(base, "params") and hasattr(base.params, "to_dict"):
        params = dict(base.params.to_dict())
    else:  # Gymnasium's Pendulum-v1 keeps its constants as attributes
        names = ("g", "m", "l", "dt", "max_speed", "max_torque")
        params = {n: float(getattr(base, n)) for n in names if hasattr(base, n)}
    return {
        "id": str(env.spec.id) if env.spec is not None else type(base).__name__,
        "control_period_s": float(base.dt),
        "episode_steps": None if steps is None else int(steps),
        "episode_s": None if steps is None else int(steps) * float(base.dt),
        "max_torque_nm": float(np.asarray(env.action_space.high).reshape(-1)[0]),
        "params": params,
        "randomize": bool(randomize),
    }
