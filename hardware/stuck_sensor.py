"""The stuck-sensor check every driver's plant runs on its encoder readings.

A joint whose reading has not changed at all for ``window_s`` while the motor pushes hard is
either blocked or read by a dead sensor; either way the run must stop. "Pushing hard" means more
than half the torque limit. A lower share stops good runs: a balanced pendulum resting a little
off upright holds a steady torque while its encoder reads the same count for seconds (`make
demo`'s policy rests at -0.09 rad with 0.45 N*m, 22% of a 2 N*m limit; the AVR firmware in
the loop holds a few percent of its limit on one count for seconds). A sensor that sticks during a
swing-up shows the policy a pendulum that does not respond, and the policy answers with large
torques, which the check sees.
"""

from __future__ import annotations

from collections.abc import Hashable

#: Share of the torque limit above which an unchanged reading counts against the sensor.
PUSHING_SHARE = 0.5


class StuckSensorCheck:
    """Feed it every reading; it says when the reading has been stuck too long."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s  # <= 0 disables the check
        self._last: Hashable | None = None
        self._since_s: float | None = None

    def stuck_for_s(self, reading: Hashable, torque_share: float, now_s: float) -> float | None:
        """Seconds the reading has stayed exactly ``reading`` while ``|torque_share|`` (torque
        over the limit) exceeded :data:`PUSHING_SHARE`, once that exceeds the window; else None.
        """
        pushing = abs(torque_share) > PUSHING_SHARE
        if self.window_s <= 0 or reading != self._last or not pushing:
            self._since_s = None
        elif self._since_s is None:
            self._since_s = now_s
        elif now_s - self._since_s > self.window_s:
            return now_s - self._since_s
        self._last = reading
        return None
