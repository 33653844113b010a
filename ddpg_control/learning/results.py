"""What training reports: :class:`Progress` while it runs, :class:`TrainResult` when it ends."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ddpg_control.learning.evaluation import EvalResult


@dataclass(frozen=True)
class Progress:
    """What the live progress display shows; sent every ~100 steps and after evaluations."""

    env_steps: int
    total_steps: int
    episodes: int
    episode_return: float | None
    eval_return: float | None


@dataclass(frozen=True)
class TrainResult:
    run_dir: Path
    env_steps: int
    episodes: int
    wall_time_s: float
    best_eval_return: float | None
    #: best.pt's figure: the confirming evaluation when a stop rule ran one, else the periodic
    #: evaluation that made it the best.
    final_eval: EvalResult
    stopped_early: bool
    #: How many learners, and which member (and its seed) is best.pt.
    population: int = 1
    member: int | None = None
    member_seed: int | None = None
    #: best.pt's balance test: the share of its episodes from near upright that ended held
    #: (trainer.BALANCE_EPISODES of them, within trainer.BALANCE_BAND).
    balance: float | None = None
