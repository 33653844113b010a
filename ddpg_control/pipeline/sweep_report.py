"""A sweep's outputs: the table (CSV, one row per candidate), the readable summary and the
picture that ranks the candidates. matplotlib is imported only inside :func:`plot_sweep`."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path

from ddpg_control.pipeline.sweep import DONE, FAILED, Choice, Record
from ddpg_control.runtime.files import write_atomically

#: The table's first columns; every number score reports follows, then the error.
HEAD = ("rank", "name", "status", "seed", "settings", "env_steps", "eval_return", "train_s")


def metric_columns(records: Sequence[Record]) -> list[str]:
    """Every measure any candidate reports: the overall score, the axes, then the rest."""
    names = {key for r in records for key in r.metrics}
    order = {"overall_score": 0, "axis_success": 1, "nominal": 2}
    return sorted(names, key=lambda k: (order.get(k.split(".")[0], 3), k))


def _settings(record: Record) -> str:
    return " ".join(f"{k}={v}" for k, v in record.candidate.settings)


def _number(value: object, digits: int = 6) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def to_csv(records: Sequence[Record], choice: Choice) -> str:
    ranks = {r.candidate.name: n for n, r in enumerate(choice.ranked, start=1)}
    columns = metric_columns(records)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*HEAD, *columns, "error", "worker"])
    for r in sorted(
        records, key=lambda r: (ranks.get(r.candidate.name, math.inf), r.candidate.name)
    ):
        writer.writerow(
            [
                ranks.get(r.candidate.name, ""),
                r.candidate.name,
                r.status,
                r.candidate.seed,
                _settings(r),
                r.train.get("env_steps", ""),
                _number(r.train.get("eval_return")),
                _number(r.seconds.get("train")),
                *(_number(r.metrics.get(c, math.nan)) for c in columns),
                r.error,
                r.worker,
            ]
        )
    return out.getvalue()


def summary(records: Sequence[Record], choice: Choice, delivered: Path | None) -> str:
    """The readable summary: the ranking, the failures with their errors, and the choice."""
    done = sum(r.status == DONE for r in records)
    failed = [r for r in records if r.status == FAILED]
    pending = len(records) - done - len(failed)
    lines = [
        f"sweep of {len(records)} candidates: {done} done, {len(failed)} failed"
        + (f", {pending} not run" if pending else "")
    ]
    keys = list(dict.fromkeys([*choice.keys, "nominal.success"]))
    if choice.ranked:
        header = f"{'rank':>4}  {'name':<6}" + "".join(f"  {k:>{max(8, len(k))}}" for k in keys)
        lines.append(header + f"  {'train s':>8}  settings")
        for n, r in enumerate(choice.ranked, start=1):
            cells = "".join(
                f"  {_number(r.metrics.get(k, math.nan), 3) or 'n/a':>{max(8, len(k))}}"
                for k in keys
            )
            train_s = _number(r.seconds.get("train", math.nan), 3)
            lines.append(f"{n:>4}  {r.candidate.name:<6}{cells}  {train_s:>8}  {r.candidate.label}")
    for r in failed:
        lines.append(f"failed: {r.candidate.name} ({r.candidate.label}): {r.error}")
    best = choice.best
    if best is None:
        lines.append("no policy delivered: no candidate finished")
    else:
        where = f" -> {delivered}" if delivered is not None else ""
        lines.append(f"best: {best.candidate.name} ({best.candidate.label}){where}")
        lines.append(f"  chosen by {choice.reason}")
    return "\n".join(lines) + "\n"


def write_table(records: Sequence[Record], choice: Choice, path: Path) -> Path:
    return write_atomically(path, to_csv(records, choice).encode())


def plot_sweep(records: Sequence[Record], choice: Choice, out_path: Path) -> Path:
    """Horizontal bars of the rule's first measure, best at the top, the tie-breaking measures
    as markers on the same bars; failed candidates at the bottom, marked as such."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    failed = [r for r in records if r.status != DONE]
    rows = [*choice.ranked, *failed]
    fig, ax = plt.subplots(figsize=(8.0, 1.2 + 0.38 * max(len(rows), 1)), constrained_layout=True)
    first = choice.keys[0] if choice.keys else "overall_score"
    y = list(range(len(rows)))[::-1]
    values = [r.metrics.get(first, math.nan) if r.status == DONE else 0.0 for r in rows]
    colors = ["C2" if n == 0 else ("C0" if r.status == DONE else "0.8") for n, r in enumerate(rows)]
    ax.barh(y, [0.0 if math.isnan(v) else v for v in values], color=colors, label=first)
    markers = "osD^v"
    others = choice.keys[1:]
    for n, key in enumerate(others):
        xs = [r.metrics.get(key, math.nan) for r in choice.ranked]
        # Each key a little above or below the bar's middle, so equal values stay visible.
        shift = 0.0 if len(others) == 1 else -0.2 + 0.4 * n / (len(others) - 1)
        ax.plot(
            xs,
            [v + shift for v in y[: len(xs)]],
            ls="none",
            marker=markers[n % len(markers)],
            color=f"C{n + 3}",
            label=key,
        )
    for yy, r in zip(y, rows, strict=True):
        if r.status != DONE:
            ax.text(0.01, yy, f"{r.status}: {r.error[:60]}", va="center", fontsize=7)
    ax.set_yticks(y, [f"{r.candidate.name} {r.candidate.label}"[:48] for r in rows], fontsize=7)
    shown = [r.metrics.get(k, math.nan) for r in choice.ranked for k in choice.keys]
    shown = [v for v in shown if not math.isnan(v)]
    if all(0.0 <= v <= 1.0 for v in shown):  # rates: the whole scale, so bars compare
        ax.set_xlim(0.0, 1.05)
    ax.set_xlabel("higher is better")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize=7)
    best = choice.best
    title = "sweep ranking" + (f": best {best.candidate.name}" if best is not None else "")
    ax.set_title(f"{title} (rule: {', '.join(choice.keys)})", fontsize=9)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, dpi=90)
    plt.close(fig)
    return out_path
