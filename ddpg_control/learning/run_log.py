"""What a training run leaves behind besides checkpoints: ``metrics.csv`` (one row per member
per evaluation, with ``member`` and ``member_seed`` columns), TensorBoard scalars per member, and
``learning_curve.png`` with every member as a thin line and the delivered member drawn bold."""

from __future__ import annotations

import csv
import logging
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

METRICS_FILE = "metrics.csv"
CURVE_FILE = "learning_curve.png"
TENSORBOARD_DIR = "tensorboard"
#: The columns after :class:`EvalRow`'s.
MEMBER_COLUMNS = ("member", "member_seed")


@dataclass(frozen=True)
class EvalRow:
    """One line of ``metrics.csv`` (with the member's index and seed after it)."""

    env_steps: int
    episodes: int
    wall_time_s: float
    eval_time_s: float
    train_return_mean: float
    eval_return_mean: float
    eval_return_std: float
    critic_loss: float
    actor_loss: float
    q_mean: float


#: How to read each CSV column back (annotations are strings under ``from __future__``).
_CASTS: dict[str, type] = {f.name: int if f.type == "int" else float for f in fields(EvalRow)}


class RunLog:
    """Appends to the run directory's metrics; :meth:`close` draws the learning curve."""

    def __init__(self, run_dir: Path, seeds: list[int], tensorboard: bool = True) -> None:
        self.run_dir = run_dir
        self.seeds = seeds
        self.episode_steps: list[list[int]] = [[] for _ in seeds]
        self.episode_returns: list[list[float]] = [[] for _ in seeds]
        #: (member, row) for every evaluation row, earlier runs' rows first when resuming.
        self.eval_rows: list[tuple[int, EvalRow]] = []
        self._writer: Any = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(log_dir=str(run_dir / TENSORBOARD_DIR))
        self._csv_path = run_dir / METRICS_FILE
        self._load_existing_rows()

    def _load_existing_rows(self) -> None:
        """On resume, keep the earlier rows so the curve covers the whole run."""
        if not self._csv_path.is_file():
            return
        with self._csv_path.open(newline="") as fh:
            for row in csv.DictReader(fh):
                try:
                    values = {name: cast(row[name]) for name, cast in _CASTS.items()}
                    self.eval_rows.append((int(row["member"]), EvalRow(**values)))  # type: ignore[arg-type]
                except (KeyError, ValueError, TypeError):
                    log.warning("ignoring an unreadable row in %s", self._csv_path)

    def episode(self, member: int, env_steps: int, episode_return: float) -> None:
        self.episode_steps[member].append(env_steps)
        self.episode_returns[member].append(episode_return)
        if self._writer is not None:
            self._writer.add_scalar(f"member{member}/episode_return", episode_return, env_steps)

    def update(self, env_steps: int, metrics: np.ndarray) -> None:
        """``metrics``: ``[K, 3]`` critic loss, actor loss, mean Q per member."""
        if self._writer is not None:
            for k, row in enumerate(metrics.tolist()):
                for name, value in zip(("loss_critic", "loss_actor", "q_mean"), row, strict=True):
                    self._writer.add_scalar(f"member{k}/{name}", value, env_steps)

    def evaluation(self, rows: list[EvalRow]) -> None:
        """One evaluation: row k is member k's."""
        new_file = not self._csv_path.is_file()
        with self._csv_path.open("a", newline="") as fh:
            writer = csv.writer(fh)
            if new_file:
                writer.writerow([f.name for f in fields(EvalRow)] + list(MEMBER_COLUMNS))
            for k, row in enumerate(rows):
                writer.writerow([*asdict(row).values(), k, self.seeds[k]])
                self.eval_rows.append((k, row))
                if self._writer is not None:
                    name = f"member{k}/eval_return_mean"
                    self._writer.add_scalar(name, row.eval_return_mean, row.env_steps)
        if self._writer is not None:
            self._writer.flush()

    def close(self, chosen: int | None) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self.plot(self.run_dir / CURVE_FILE, chosen)

    def plot(self, path: Path, chosen: int | None) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
        for k, seed in enumerate(self.seeds):
            rows = [r for m, r in self.eval_rows if m == k]
            steps, means = [r.env_steps for r in rows], [r.eval_return_mean for r in rows]
            label: str | None
            if k == chosen:
                label = f"member {k} (seed {seed}): delivered as best.pt"
                ax.plot(steps, means, "o-", color="C3", lw=2.2, ms=4, zorder=3, label=label)
            else:
                label = "other members" if k == (1 if chosen == 0 else 0) else None
                ax.plot(steps, means, "-", color="0.45", lw=0.8, alpha=0.7, label=label)
        ax.set_xlabel("environment steps (per member)")
        ax.set_ylabel("deterministic evaluation return (mean)")
        members = len(self.seeds)
        ax.set_title(self.run_dir.name + (f": population of {members}" if members > 1 else ""))
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)
