"""Tiny sweeps for the tests: candidates of a few hundred steps, scored on one axis."""

from __future__ import annotations

from pathlib import Path

#: A few hundred steps of one learner, and a score of one axis, one episode a point.
TINY_CONFIG = """\
total_steps = 300
learning_starts = 100
eval_every_steps = 300
eval_episodes = 1
final_eval_episodes = 1
population = 1
[agent]
hidden_sizes = [16, 16]
[stop]
metric = "none"
"""
TINY_SCORE = ["--quick", "--axes", "mass", "--episodes", "1", "--duration-s", "6", "--quiet"]


def tiny_sweep(folder: Path, *options: str) -> list[str]:
    """``sweep`` argv for tiny candidates into ``folder`` (its parent is the runs folder)."""
    config = folder.parent / "tiny.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(TINY_CONFIG)
    where = ["--runs-dir", str(folder.parent), "--name", folder.name]
    return ["sweep", "--config", str(config), *where, *TINY_SCORE, *options]
