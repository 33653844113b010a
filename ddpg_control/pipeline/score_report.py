"""``score``'s outputs: the CSV (one row per axis point), the JSON summary and the PNG.

The CSV and JSON are written with fixed float formatting and sorted keys, so the same seed
writes the same bytes. matplotlib is imported only inside :func:`plot_scores`.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ddpg_control.pipeline.balance import TIGHT_ANGLE_RAD, TIGHT_VELOCITY_RAD_S
from ddpg_control.pipeline.controllers import CLASSICAL, is_classical
from ddpg_control.pipeline.scoring import (
    COSTS,
    HOLD_S,
    SUCCESS_ANGLE_RAD,
    PointResult,
    ScoreResult,
)
from ddpg_control.runtime.files import write_atomically
from ddpg_control.runtime.run_layout import POLICY_FILE


def label_for(name: str) -> str:
    """How a controller is named in the printout and the plot's legend: ``classical``, a run's
    folder name for its ``policy.onnx``, else the file's stem."""
    if is_classical(name):
        return CLASSICAL
    path = Path(name)
    return path.parent.name if path.name == POLICY_FILE and path.parent.name else path.stem


def stem_for(name: str, folder: Path | None) -> Path:
    """Where a controller's ``.score.csv``/``.score.json`` go, without the suffixes: next to its
    policy file (``folder`` None; the current folder for classical), or in ``folder``."""
    if is_classical(name):
        return (folder or Path.cwd()) / CLASSICAL
    path = Path(name)
    if folder is None:
        return path.with_suffix("")
    return folder / (label_for(name) + "-" + path.stem)


def _number(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 6)


def _costs(point: PointResult) -> dict[str, float | None]:
    return {name: _number(point.mean_over_successes(name)) for name in COSTS}


#: What the tight success is, in the JSON and the picture.
TIGHT_SUCCESS = (
    f"within {TIGHT_ANGLE_RAD} rad of upright and {TIGHT_VELOCITY_RAD_S} rad/s from some "
    "moment to the end"
)


def _tight(point: PointResult) -> dict[str, float | None]:
    return {
        "success_tight": round(point.success_tight_rate, 6),
        "time_to_tight_s": _number(point.time_to_tight_s),
    }


def to_json(result: ScoreResult) -> dict[str, Any]:
    return {
        "controller": result.controller,
        "seed": result.seed,
        "episodes_per_point": result.episodes_per_point,
        "success": f"within {SUCCESS_ANGLE_RAD} rad of upright for the last {HOLD_S:g} s",
        "overall_score": round(result.overall, 6),
        "axis_success": {k: round(v, 6) for k, v in result.axis_success().items()},
        "success_tight": TIGHT_SUCCESS,
        "overall_tight": round(result.overall_tight, 6),
        "axis_success_tight": {k: round(v, 6) for k, v in result.axis_success_tight().items()},
        "nominal": {
            "success": round(result.nominal.success_rate, 6),
            **_costs(result.nominal),
            **_tight(result.nominal),
        },
        "points": [
            {
                "axis": p.axis,
                "point": p.point,
                "unit": p.unit,
                "success": round(p.success_rate, 6),
                "episodes": len(p.episodes),
                **_costs(p),
                **_tight(p),
            }
            for p in result.points
        ],
    }


def to_csv(result: ScoreResult) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["axis", "point", "unit", "success", "episodes", *COSTS, "success_tight", "time_to_tight_s"]
    )
    for p in (result.nominal, *result.points):
        costs = [("" if v is None else f"{v:.6g}") for v in _costs(p).values()]
        point = "" if math.isnan(p.point) else f"{p.point:g}"
        tight = "" if math.isnan(p.time_to_tight_s) else f"{p.time_to_tight_s:.6g}"
        writer.writerow(
            [p.axis, point, p.unit, f"{p.success_rate:.4f}", len(p.episodes), *costs]
            + [f"{p.success_tight_rate:.4f}", tight]
        )
    return out.getvalue()


def write_result(result: ScoreResult, stem: Path) -> tuple[Path, Path]:
    """``<stem>.score.csv`` and ``<stem>.score.json``."""
    csv_path = stem.with_name(stem.name + ".score.csv")
    json_path = stem.with_name(stem.name + ".score.json")
    write_atomically(csv_path, to_csv(result).encode())
    text = json.dumps(to_json(result), indent=2, sort_keys=True, allow_nan=False) + "\n"
    write_atomically(json_path, text.encode())
    return csv_path, json_path


def _plot_tight(ax: Any, points: Sequence[PointResult], n: int) -> None:
    """One controller's tight success on one panel: its colour and marker, hollow, on a thin
    dotted line."""
    ax.plot(
        [p.point for p in points],
        [p.success_tight_rate for p in points],
        marker=_MARKERS[n % len(_MARKERS)],
        markerfacecolor="none",
        markersize=5.0,
        lw=1.0,
        linestyle=(0, (1, 1.5)),
        color=f"C{n % 10}",
    )


#: One look per controller, told apart by colour, marker and line style alike.
_MARKERS = "osD^vPX*<>"
_LINE_STYLES = ("-", "--", ":", "-.")


def _style(n: int, count: int) -> dict[str, Any]:
    """Controller ``n`` of ``count``: its own colour, marker and line style. Lines are opaque,
    so a line that hides another keeps its legend colour instead of blending with it; earlier
    controllers are drawn wider and with bigger markers, so the one beneath shows at the edges.
    """
    share = n / max(count - 1, 1)
    return {
        "color": f"C{n % 10}",
        "marker": _MARKERS[n % len(_MARKERS)],
        "linestyle": _LINE_STYLES[n % len(_LINE_STYLES)],
        "markersize": 8.0 - 4.0 * share,
        "lw": 3.5 - 2.5 * share,
        "alpha": 1.0,
    }


def score_figure(results: Sequence[ScoreResult], labels: Sequence[str]) -> Any:
    """One panel per axis: success rate against the perturbation, one line per controller
    (:func:`_style`), in the order given, so the first is at the bottom. One legend below the
    panels names each controller with its overall score (the mean of its axis scores); the
    title says what success is."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    axes_names = list(dict.fromkeys(p.axis for p in results[0].points))
    cols = min(3, len(axes_names))
    rows = math.ceil(len(axes_names) / cols)
    fig, panels = plt.subplots(
        rows, cols, figsize=(4.2 * cols, 2.8 * rows + 0.9), squeeze=False, constrained_layout=True
    )
    count = len(results)
    for index, axis in enumerate(axes_names):
        ax = panels[index // cols][index % cols]
        for n, result in enumerate(results):
            points = [p for p in result.points if p.axis == axis]
            ax.plot(
                [p.point for p in points],
                [p.success_rate for p in points],
                zorder=2 + n,
                **_style(n, count),
            )
            _plot_tight(ax, points, n)
        unit = next(p.unit for p in results[0].points if p.axis == axis)
        ax.set_title(axis, fontsize=10)
        ax.set_xlabel(unit, fontsize=8)
        ax.set_ylim(-0.05, 1.05)
        ax.grid(alpha=0.3)
        if index % cols == 0:
            ax.set_ylabel("success rate")
    for index in range(len(axes_names), rows * cols):
        panels[index // cols][index % cols].axis("off")
    handles = [plt.Line2D([], [], **_style(n, count)) for n in range(count)]
    fig.legend(
        handles,
        [
            f"{label}: overall {r.overall:.2f} (tight {r.overall_tight:.2f})"
            for r, label in zip(results, labels, strict=True)
        ],
        loc="outside lower center",
        ncol=min(count, 4),
        fontsize=8,
    )
    fig.suptitle(
        f"success rate (within {SUCCESS_ANGLE_RAD} rad of upright for the last {HOLD_S:g} s)\n"
        "as one parameter at a time moves away from the nominal rig\n"
        f"dotted, hollow: tight success ({TIGHT_ANGLE_RAD} rad and {TIGHT_VELOCITY_RAD_S} rad/s "
        "to the end)",
        fontsize=10,
    )
    return fig


def plot_scores(results: Sequence[ScoreResult], labels: Sequence[str], out_path: Path) -> Path:
    """:func:`score_figure` saved as a PNG at ``out_path``."""
    import matplotlib.pyplot as plt

    fig = score_figure(results, labels)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, dpi=90)
    plt.close(fig)
    return out_path
