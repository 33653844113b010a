"""Round trip through the AVR firmware in simavr, against the Python emulator, and simavr's speed.

1. Round trip: QUERY -> STATE, one at a time, written and read by pyserial on the pseudo-
   terminal, against two devices in their own processes: the simavr Uno board running the
   unmodified ATmega328P image (hardware/firmware/build/uno-board) and the peer, the Python
   emulator (`ddpg-control emulate`). The board also times each reply on its simulated UART in
   CPU cycles: what a real 16 MHz Uno takes, the USB bridge aside.
2. Speed: the board free-running (no pacing to the wall clock) with the firmware idle, and the
   CPU the paced board used during the round trips: simulated seconds per CPU second.

    make -C hardware/firmware avr board
    .venv/bin/python bench/firmware_roundtrip.py [--samples 2000]

Timings on a shared machine are noisy; compare the two peers of one run, not runs.
"""

from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import serial

from hardware.drivers.ddpg.protocol import MessageType as T
from hardware.drivers.ddpg.protocol import Query, encode, frame_size

BUILD = Path(__file__).resolve().parents[1] / "hardware" / "firmware" / "build"
BOARD = BUILD / "uno-board"
IMAGE = BUILD / "avr" / "ddpg-fw-uno.elf"


def _start(cmd: list[str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    return proc.communicate(timeout=10)[1]


def _summary(stderr: str, prefix: str) -> dict[str, str]:
    match = re.search(rf"^{prefix}: (.*)$", stderr, re.MULTILINE)
    assert match, stderr
    return dict(item.split("=", 1) for item in match.group(1).split())


def round_trips_ms(port: str, samples: int) -> np.ndarray:
    reply_size = frame_size(T.STATE)
    times = np.empty(samples)
    with serial.serial_for_url(port, timeout=1.0) as link:
        for i in range(samples):
            request = encode(Query(), i & 0xFFFF)
            start = time.perf_counter()
            link.write(request)
            reply = link.read(reply_size)
            times[i] = (time.perf_counter() - start) * 1e3
            assert len(reply) == reply_size, f"short reply {reply!r} from {port}"
    return times


def _row(name: str, t: np.ndarray) -> str:
    p50, p99 = np.percentile(t, [50, 99])
    return f"| {name} | {p50:.3f} | {p99:.3f} | {t.max():.3f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=2000, help="round trips per device")
    args = parser.parse_args()
    if not (BOARD.exists() and IMAGE.exists()):
        sys.exit("build first: make -C hardware/firmware avr board")

    board, board_port = _start([str(BOARD), str(IMAGE)])
    emulator, emulator_port = _start([sys.executable, "-m", "ddpg_control.cli.main", "emulate"])
    try:
        round_trips_ms(board_port, 20)  # warm up both
        round_trips_ms(emulator_port, 20)
        t_board = round_trips_ms(board_port, args.samples)
        t_emulator = round_trips_ms(emulator_port, args.samples)
    finally:
        board_summary = _summary(_stop(board), "board")
        _stop(emulator)

    free, _ = _start([str(BOARD), "--free-run", str(IMAGE)])
    time.sleep(3.0)
    free_summary = _summary(_stop(free), "board")

    print(f"QUERY -> STATE round trip, {args.samples} samples each, ms (wall clock, host side)")
    print("| device | p50 | p99 | max |\n|---|---|---|---|")
    print(_row("AVR firmware in simavr (uno-board)", t_board))
    print(_row("Python emulator (ddpg-control emulate)", t_emulator))
    ratio = np.median(t_board) / np.median(t_emulator)
    print(f"\nratio of medians, simavr / emulator: {ratio:.2f}")
    print(
        "in simulated time (CPU cycles on the UART, request's last byte in to reply's last "
        f"byte out): p50 {board_summary['reply_us_p50']} us, p99 {board_summary['reply_us_p99']}"
        f" us, max {board_summary['reply_us_max']} us over {board_summary['replies']} replies; "
        f"the firmware writes the first reply byte after {board_summary['reply_start_us_p50']} us"
        f" (p50); UART TX at {board_summary['tx_byte_cycles_min']} cycles a byte at the fastest"
    )
    print(
        f"paced board during the round trips: {board_summary['sim_s']} s simulated in "
        f"{board_summary['wall_s']} s, {board_summary['sim_s_per_cpu_s']} simulated s per CPU s,"
        f" slipped {board_summary['slipped_ms']} ms"
    )
    print(
        f"free-running, firmware idle: {free_summary['speed']} x real time, "
        f"{float(free_summary['cycles_per_wall_s']) / 1e6:.0f} M cycles per wall second"
    )


if __name__ == "__main__":
    main()
