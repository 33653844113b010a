"""The multi-turn counter every emulated encoder uses."""

from __future__ import annotations

import math

import pytest

from hardware.multi_turn import MultiTurn


def test_crossing_the_wrap_either_way_counts_a_turn() -> None:
    counter = MultiTurn()
    assert counter.unwrap(3.0) == 3.0
    assert counter.unwrap(-3.0) == pytest.approx(-3.0 + 2 * math.pi)  # past +pi: one turn up
    assert counter.unwrap(-2.0) == pytest.approx(-2.0 + 2 * math.pi)
    assert counter.unwrap(3.1) == pytest.approx(3.1)  # back past +pi the other way
    assert counter.unwrap(-3.1) == pytest.approx(-3.1 + 2 * math.pi)
    assert counter.turns == 1


def test_a_small_step_is_never_a_turn() -> None:
    counter = MultiTurn()
    angles = [0.0, 1.0, 2.0, 3.0, 2.0, 0.0, -2.0, -3.0]
    assert [counter.unwrap(a) for a in angles] == angles and counter.turns == 0
