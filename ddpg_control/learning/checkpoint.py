"""Checkpoints: written atomically, loaded without executing pickled code.

A checkpoint is one ``torch.save`` file holding only tensors, plain containers and numbers,
read back with ``torch.load(weights_only=True)``. Layout (``FORMAT_VERSION`` 1)::

    {
      "format_version": 1,
      "architecture": Architecture.to_dict(),
      "networks": {"actor": state_dict, "critic": ..., "actor_target": ..., "critic_target": ...},
      "optimizers": {"actor": state_dict, "critic": state_dict},   # for resuming
      "config": {...},      # the resolved training config, as plain data
      "env": describe_env(env),   # id, control period, torque limit, parameters
      "progress": {"env_steps": int, "episodes": int, "eval_return": float | None, ...},
      "rng": {...},         # generator states, for bit-identical resumes
      "replay": {...},      # last.pt only: the replay buffer, for resuming
    }
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ddpg_control.learning.networks import Actor, Architecture
from ddpg_control.runtime.errors import CheckpointError, first_line
from ddpg_control.runtime.files import replacing
from ddpg_control.runtime.run_layout import BEST_CHECKPOINT, LAST_CHECKPOINT

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
    """Rebuild the trained actor (eval mode, CPU) and return it with the checkpoint payload."""
    payload = load_checkpoint(path)
    _refuse_population_state(payload, path, f"use the run's {BEST_CHECKPOINT}, one learner")
    actor = Actor(architecture_of(payload, path))
    try:
        actor.load_state_dict(payload["networks"]["actor"], strict=True)
    except (KeyError, RuntimeError) as exc:
        raise CheckpointError(
            f"checkpoint '{path}' does not match its recorded architecture "
            f"(another network shape?): {first_line(exc)}"
        ) from exc
    actor.eval()
    return actor, payload


def load_resumable(path: Path, arch: Architecture) -> dict[str, Any]:
    """Read a checkpoint that a run with architecture ``arch`` can resume from: a ``last.pt``,
    which holds the optimizers and the replay buffer."""
    payload = load_checkpoint(path)
    _refuse_population_state(payload, path, "resume it with the run's own --population")
    if architecture_of(payload, path) != arch:
        raise CheckpointError(
            f"checkpoint '{path}' was trained with another architecture "
            f"({payload['architecture']}); resume with the run's own config"
        )
    if "replay" not in payload or "optimizers" not in payload:
        raise CheckpointError(
            f"checkpoint '{path}' cannot be resumed (no replay buffer); resume from "
            f"{LAST_CHECKPOINT}"
        )
    return payload


def _refuse_population_state(payload: dict[str, Any], path: Path, hint: str) -> None:
    """A population's last.pt holds K stacked learners, not one."""
    population = payload.get("population")
    if isinstance(population, dict) and "members" in population:
        raise CheckpointError(
            f"checkpoint '{path}' holds a population of {population.get('size')} learners; {hint}"
        )


def describe_env(env: Any, randomize: bool = False) -> dict[str, Any]:
    """The checkpoint's ``env`` entry: id, control period, torque limit, plain parameters."""
    base = env.unwrapped
    params: dict[str, Any]
    if hasattr(base, "params") and hasattr(base.params, "to_dict"):
        params = dict(base.params.to_dict())
    else:  # Gymnasium's Pendulum-v1 keeps its constants as attributes
        names = ("g", "m", "l", "dt", "max_speed", "max_torque")
        params = {n: float(getattr(base, n)) for n in names if hasattr(base, n)}
    return {
        "id": str(env.spec.id) if env.spec is not None else type(base).__name__,
        "control_period_s": float(base.dt),
        "max_torque_nm": float(np.asarray(env.action_space.high).reshape(-1)[0]),
        "params": params,
        "randomize": bool(randomize),
    }
