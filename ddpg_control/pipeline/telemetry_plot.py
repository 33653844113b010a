"""Turn a run's telemetry into one PNG: angle, velocity, torque and loop lateness over time.

matplotlib is imported inside :func:`plot_telemetry` (Agg backend, no display needed), so
importing this module costs nothing on the robot path.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ddpg_control.runtime.telemetry import UPRIGHT_TOLERANCE_RAD, Telemetry, summarize


def image_formats() -> list[str]:
    """The file suffixes :func:`plot_telemetry` can write: matplotlib's image formats."""
    from matplotlib.backend_bases import FigureCanvasBase

    return sorted(FigureCanvasBase.get_supported_filetypes())


def plot_telemetry(
    telemetry: Telemetry, out_path: Path, title: str = "", period_s: float | None = None
) -> Path:
    """Write the four-panel figure to ``out_path`` (PNG) and return the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = telemetry["time_s"]
    if period_s is None:
        period_s = float(np.median(np.diff(t))) if len(t) > 1 else math.nan
    angle = np.mod(telemetry["angle_rad"] + math.pi, 2 * math.pi) - math.pi

    fig, axes = plt.subplots(4, 1, figsize=(10, 9), sharex=True, constrained_layout=True)
    ax_angle, ax_vel, ax_torque, ax_late = axes

    # Break the line where the angle wraps from +pi to -pi, instead of drawing a vertical jump.
    wraps = np.flatnonzero(np.abs(np.diff(angle)) > math.pi) + 1
    ax_angle.plot(
        np.insert(t, wraps, np.nan), np.insert(angle, wraps, np.nan), color="tab:blue", lw=1.2
    )
    ax_angle.axhspan(-UPRIGHT_TOLERANCE_RAD, UPRIGHT_TOLERANCE_RAD, color="tab:green", alpha=0.2)
    ax_angle.set_ylabel("angle [rad]\n(0 = upright)")
    ax_angle.set_ylim(-math.pi - 0.2, math.pi + 0.2)
    ax_angle.set_yticks([-math.pi, -math.pi / 2, 0, math.pi / 2, math.pi])
    ax_angle.set_yticklabels(["-pi", "-pi/2", "0", "pi/2", "pi"])

    ax_vel.plot(t, telemetry["velocity_rad_s"], color="tab:orange", lw=1.2)
    ax_vel.set_ylabel("velocity [rad/s]")

    ax_torque.plot(t, telemetry["torque_sent_nm"], color="tab:red", lw=1.4, label="sent to plant")
    ax_torque.plot(
        t, telemetry["torque_cmd_nm"], color="0.2", lw=0.9, ls="--", label="asked by policy"
    )
    ax_torque.set_ylabel("torque [N*m]")
    ax_torque.legend(loc="upper right", fontsize=8)

    ax_late.plot(t, telemetry["lateness_s"] * 1e6, color="tab:purple", lw=0.8)
    ax_late.set_ylabel("lateness [us]")
    ax_late.set_xlabel("time [s]")

    for ax in axes:
        ax.grid(True, alpha=0.3)

    if len(t) and math.isfinite(period_s):
        # Skipped deadlines show as gaps of more than one period between tick start times.
        missed = int(np.sum(np.maximum(np.round(np.diff(t) / period_s) - 1.0, 0.0)))
        s = summarize(telemetry, missed_deadlines=missed, period_s=period_s)
        verdict = (
            ("holding upright" if s.holding_upright else "not upright")
            if s.long_enough_to_judge
            else "too short to judge holding"
        )
        heading = (
            f"{len(t)} ticks at {1 / period_s:.0f} Hz, {missed} deadlines missed; "
            f"lateness p50 {s.lateness.p50 * 1e6:.0f} us, "
            f"p99 {s.lateness.p99 * 1e6:.0f} us; final angle {s.final_angle_rad:+.3f} rad "
            f"({verdict})"
        )
    else:
        heading = "no ticks recorded"
    fig.suptitle(f"{title}\n{heading}" if title else heading, fontsize=10)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, dpi=110)
    plt.close(fig)
    return out_path
