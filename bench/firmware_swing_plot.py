"""A swing-up through the AVR firmware in simavr, as a picture: what the host sent, what the
firmware made of it on its pins, what the pendulum did.

Starts the simavr Uno board with its trace on, runs `ddpg-control run --device` against it for
15 s, and plots (time aligned at ARM, when the bridge switches on):

1. the angle: the rig's physics, and the firmware's encoder count as the host received it;
2. the torque: as the host sent it, and as the motor model produced it from the PWM duty,
   direction and back-EMF (1 ms samples);
3. the signed PWM duty on D9 and the joint velocity.

    make -C hardware/firmware avr board
    .venv/bin/python bench/firmware_swing_plot.py --policy runs/<name>/policy.onnx \
        --out docs/firmware_simavr_swing_up.png
"""

from __future__ import annotations

import argparse
import math
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

BUILD = Path(__file__).resolve().parents[1] / "hardware" / "firmware" / "build"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--policy", type=Path, required=True, help="an exported policy.onnx")
    parser.add_argument("--out", type=Path, required=True, help="the PNG to write")
    parser.add_argument("--duration-s", type=float, default=15.0, help="seconds (default: 15)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        trace, telemetry = Path(tmp) / "board.csv", Path(tmp) / "host.csv"
        board = subprocess.Popen(
            [str(BUILD / "uno-board"), "--trace", str(trace), str(BUILD / "avr/ddpg-fw-uno.elf")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert board.stdout is not None
        port = board.stdout.readline().strip()
        host = subprocess.run(
            [sys.executable, "-m", "ddpg_control.cli.main", "run", "--device", port]
            + ["--policy", str(args.policy), "--duration-s", str(args.duration_s), "--quiet"]
            + ["--upright-offset-rad", repr(math.pi), "--stuck-sensor-s", "0"]
            + ["--output", str(telemetry)],
            capture_output=True,
            text=True,
        )
        board.send_signal(signal.SIGTERM)
        board_err = board.communicate(timeout=10)[1]
        print(host.stdout + host.stderr + board_err)
        rig = np.genfromtxt(trace, delimiter=",", names=True)
        sent = np.genfromtxt(telemetry, delimiter=",", names=True)

    armed = rig["time_s"][np.argmax(rig["bridge_enabled"] == 1)]
    t_rig = rig["time_s"] - armed
    keep = (t_rig >= -0.2) & (t_rig <= args.duration_s + 0.3)
    fig, axes = plt.subplots(3, 1, figsize=(9, 8), sharex=True)
    axes[0].plot(t_rig[keep], rig["angle_rad"][keep], label="rig physics")
    axes[0].plot(sent["time_s"], sent["angle_rad"], ".", ms=3, label="firmware's encoder (host)")
    axes[0].axhspan(-0.1, 0.1, color="green", alpha=0.15, label="|angle| < 0.1 rad")
    axes[0].set_ylabel("angle from upright, rad")
    axes[1].plot(t_rig[keep], rig["torque_nm"][keep], lw=0.6, label="motor (from PWM, 1 ms)")
    axes[1].step(sent["time_s"], sent["torque_sent_nm"], where="post", label="host TORQUE")
    axes[1].set_ylabel("torque, N*m")
    axes[2].plot(t_rig[keep], rig["duty"][keep], lw=0.6, label="signed duty on D9")
    axes[2].set_ylabel("PWM duty")
    ax_v = axes[2].twinx()
    ax_v.plot(t_rig[keep], rig["velocity_rad_s"][keep], color="tab:red", lw=0.8)
    ax_v.set_ylabel("velocity, rad/s", color="tab:red")
    axes[2].set_xlabel("time since ARM, s (simulated; host ticks at 20 Hz)")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
    fig.suptitle("Swing-up through the ATmega328P firmware in simavr (run --device on its pty)")
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
