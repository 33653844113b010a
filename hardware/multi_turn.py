"""Continuous (multi-turn) angle from a wrapped one, as every emulated encoder counts."""

from __future__ import annotations

import math


class MultiTurn:
    """Feed it the wrapped physics angle at each sample; it returns the angle counted across
    turns (a jump of more than pi between samples is a crossing of the wrap)."""

    def __init__(self) -> None:
        self.turns = 0
        self._last_wrapped: float | None = None

    def unwrap(self, wrapped_rad: float) -> float:
        if self._last_wrapped is not None:
            jump = wrapped_rad - self._last_wrapped
            if jump > math.pi:
                self.turns -= 1
            elif jump < -math.pi:
                self.turns += 1
        self._last_wrapped = wrapped_rad
        return wrapped_rad + 2.0 * math.pi * self.turns
