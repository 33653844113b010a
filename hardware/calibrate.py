"""Calibration helper: print what the device reads while you move the pendulum by hand.

    python -m hardware.calibrate /dev/ttyUSB0 [--baud 1000000]

It connects, arms with zero torque (the motor stays limp; zero is re-sent every tick, so the
watchdog stays quiet) and prints the raw angle (no offset, direction +1) and velocity ten times
a second until Ctrl-C. Hold the pendulum upright: the angle printed is ``--upright-offset``.
Turn it counter-clockwise (seen from the front, as in docs/hardware.md): if the angle falls,
use ``--direction -1``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

from ddpg_control.runtime.errors import DdpgControlError
from hardware.client import SerialPlant
from hardware.protocol import DEFAULT_BAUD_RATE
from hardware.serial_config import SerialConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="print raw device readings for calibration")
    parser.add_argument("port", help="serial port or pyserial URL")
    parser.add_argument("--baud", type=int, default=DEFAULT_BAUD_RATE)
    parser.add_argument("--clear-faults", action="store_true")
    parser.add_argument(
        "--seconds", type=float, default=math.inf, help="stop after (default: never)"
    )
    args = parser.parse_args(argv)
    config = SerialConfig(baud_rate=args.baud, clear_faults=args.clear_faults, stuck_sensor_s=0.0)
    end = time.monotonic() + args.seconds
    try:
        with SerialPlant(args.port, config) as plant:
            print("raw angle rad (upright offset = this when upright)   velocity rad/s")
            while time.monotonic() < end:
                for _ in range(10):
                    state = plant.read()
                    plant.apply(0.0)
                    time.sleep(0.01)
                print(f"{state.angle_rad:+9.4f}   {state.velocity_rad_s:+9.4f}", flush=True)
    except DdpgControlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
