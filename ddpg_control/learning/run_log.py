"""What a training run leaves behind besides checkpoints: ``metrics.csv`` (one row per
evaluation), TensorBoard event files, and ``learning_curve.png``."""

from __future__ import annotations

import csv
import logging
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

METRICS_FILE = "metrics.csv"
CURVE_FILE = "learning_curve.png"
TENSORBOARD_DIR = "tensorboard"


@dataclass(frozen=True)
class EvalRow:
    """One line of ``metrics.csv``."""

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


class RunLog:
    """Appends to the run directory's metrics; :meth:`close` draws the learning curve."""

    def __init__(self, run_dir: Path, tensorboard: bool = True) -> None:
        self.run_dir = run_dir
        self.episode_steps: list[int] = []
        self.episode_returns: list[float] = []
        self.eval_rows: list[EvalRow] = []
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
                    self.eval_rows.append(
                        EvalRow(**{name: cast(row[name]) for name, cast in _CASTS.items()})
                    )
                except (KeyError, ValueError):
                    log.warning("ignoring an unreadable row in %s", self._csv_path)

    def episode(self, env_steps: int, episode_return: float) -> None:
        self.episode_steps.append(env_steps)
        self.episode_returns.append(episode_return)
        if self._writer is not None:
            self._writer.add_scalar("train/episode_return", episode_return, env_steps)

    def update(self, env_steps: int, critic_loss: float, actor_loss: float, q_mean: float) -> None:
        if self._writer is not None:
            self._writer.add_scalar("loss/critic", critic_loss, env_steps)
            self._writer.add_scalar("loss/actor", actor_loss, env_steps)
            self._writer.add_scalar("q/mean", q_mean, env_steps)

    def evaluation(self, row: EvalRow) -> None:
        new_file = not self._csv_path.is_file()
        with self._csv_path.open("a", newline="") as fh:
            writer = csv.writer(fh)
            if new_file:
                writer.writerow([f.name for f in fields(EvalRow)])
            writer.writerow(list(asdict(row).values()))
        self.eval_rows.append(row)
        if self._writer is not None:
            self._writer.add_scalar("eval/return_mean", row.eval_return_mean, row.env_steps)
            self._writer.add_scalar("eval/return_std", row.eval_return_std, row.env_steps)
            self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self.plot(self.run_dir / CURVE_FILE)

    def plot(self, path: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
        if self.episode_returns:
            ax.plot(
                self.episode_steps,
                self.episode_returns,
                ".",
                ms=3,
                alpha=0.4,
                label="training episode (with noise)",
            )
        if self.eval_rows:
            steps = [r.env_steps for r in self.eval_rows]
            means = [r.eval_return_mean for r in self.eval_rows]
            stds = [r.eval_return_std for r in self.eval_rows]
            ax.errorbar(
                steps,
                means,
                yerr=stds,
                fmt="o-",
                ms=4,
                capsize=2,
                label="deterministic evaluation (mean +- std)",
            )
        ax.set_xlabel("environment steps")
        ax.set_ylabel("episode return")
        ax.set_title(self.run_dir.name)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)


#: How to read each CSV column back (annotations are strings under ``from __future__``).
_CASTS: dict[str, type] = {f.name: int if f.type == "int" else float for f in fields(EvalRow)}
