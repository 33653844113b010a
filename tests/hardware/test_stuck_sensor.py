"""The stuck-sensor check shared by the drivers: a frozen reading under a hard push stops the run,
a balanced pendulum holding a small steady torque does not."""

from __future__ import annotations

from hardware.stuck_sensor import PUSHING_SHARE, StuckSensorCheck


def _feed(check: StuckSensorCheck, readings: list[int], share: float) -> float | None:
    result = None
    for i, reading in enumerate(readings):
        result = check.stuck_for_s(reading, share, now_s=0.05 * i)
        if result is not None:
            return result
    return result


def test_a_frozen_reading_under_a_hard_push_is_reported_after_the_window() -> None:
    check = StuckSensorCheck(window_s=0.5)
    stuck_s = _feed(check, [1234] * 20, share=-0.9)
    assert stuck_s is not None and 0.5 < stuck_s <= 0.6


def test_a_balanced_hold_with_a_small_steady_torque_never_trips() -> None:
    # 0.21 N*m of a 2 N*m limit, the same count for 30 s: the default policy's hold
    check = StuckSensorCheck(window_s=0.5)
    assert _feed(check, [7] * 600, share=0.105) is None
    assert _feed(StuckSensorCheck(0.5), [7] * 600, share=PUSHING_SHARE) is None


def test_any_change_of_the_reading_starts_the_window_again() -> None:
    check = StuckSensorCheck(window_s=0.5)
    readings = [1, 1, 1, 1, 1, 1, 1, 1, 2] * 5  # 0.4 s frozen, then a step, repeated
    assert _feed(check, readings, share=1.0) is None


def test_a_window_of_zero_disables_the_check() -> None:
    assert _feed(StuckSensorCheck(window_s=0.0), [5] * 100, share=1.0) is None
