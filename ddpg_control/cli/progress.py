"""What the commands print while they work: the control loop's live status line and a
count-down of finished tasks, both on stderr (``--quiet`` turns them off)."""

from __future__ import annotations

import math
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ddpg_control.runtime.control_loop import LoopStatus


class StatusLine:
    """Live status on stderr: rewritten in place on a terminal, a line a second otherwise."""

    def __init__(self) -> None:
        self._tty = sys.stderr.isatty()
        self._last_line_s = -math.inf

    def __call__(self, s: LoopStatus) -> None:
        text = (
            f"t {s.elapsed_s:6.2f} s  rate {s.rate_hz:7.1f} Hz  lateness p99 "
            f"{s.lateness_p99_s * 1e6:7.1f} us  missed {s.missed_deadlines}  "
            f"angle {s.angle_rad:+6.3f} rad  torque {s.torque_nm:+6.3f} N*m"
        )
        if self._tty:
            print("\r" + text, end="", file=sys.stderr, flush=True)
        elif s.elapsed_s - self._last_line_s >= 1.0:
            self._last_line_s = s.elapsed_s
            print(text, file=sys.stderr, flush=True)

    def finish(self) -> None:
        if self._tty:
            print(file=sys.stderr)


class TaskProgress:
    """``NAME: done/total tasks, elapsed, ~left`` on stderr: rewritten in place on a terminal at
    most twice a second, a line every 5 s otherwise."""

    def __init__(self, name: str, unit: str) -> None:
        self._name, self._unit = name, unit
        self._tty = sys.stderr.isatty()
        self._start = time.monotonic()
        self._last = -math.inf

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last < (0.5 if self._tty else 5.0):
            return
        self._last = now
        elapsed = now - self._start
        eta = elapsed / done * (total - done)
        text = f"{self._name}: {done}/{total} {self._unit}, {elapsed:5.0f} s, ~{eta:4.0f} s left"
        print(("\r" + text) if self._tty else text, end="" if self._tty else "\n", file=sys.stderr)
        if self._tty and done == total:
            print(file=sys.stderr)
