"""Checkpoints: written atomically, loaded without executing pickled code.

A checkpoint is one ``torch.save`` file holding only tensors, plain containers and numbers,
read back with ``torch.load(weights_only=True)``. Layout (``FORMAT_VERSION`` 1)::

    {
      "format_version": 1,
      "architecture": Architecture.to_dict(),
      "networks": {"actor": state_dict, "critic": ..., "actor_target": ..., "critic_target": ...},
      "optimizers": {"actor": state_dict, "critic": state_dict},   # for resuming
      "config": {...},      # the resolved training config, as plain data
      "env": {"id": str, "params": {...}},   # environment id and its parameters
      "progress": {"env_steps": int, "episodes": int, "eval_return": float | None, ...},
      "rng": {...},         # generator states, for bit-identical resumes
    }
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ddpg_control.learning.networks import Actor, Architecture
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
    """Rebuild the trained actor (eval mode, CPU) and return it with the checkpoint payload."""
    payload = load_checkpoint(path)
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
