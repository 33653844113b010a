"""Entering a band and staying in it to the end, on synthetic trajectories."""

from __future__ import annotations

import numpy as np

from ddpg_control.pipeline.balance import entry_index, tight_entry_index


def _episode(angles: list[float], velocities: list[float] | None = None) -> tuple[list, list]:
    return angles, velocities if velocities is not None else [0.0] * len(angles)


def test_an_episode_that_enters_then_leaves_does_not_succeed() -> None:
    angles, velocities = _episode([0.5, 0.01, 0.01, 0.01, 0.3])
    assert tight_entry_index(angles, velocities) == -1


def test_an_episode_that_enters_on_its_last_sample_succeeds_at_that_sample() -> None:
    angles, velocities = _episode([0.5, 0.01, 0.3, 0.2, 0.01])
    assert tight_entry_index(angles, velocities) == 4


def test_the_entry_is_the_start_of_the_final_stay_and_zero_when_always_inside() -> None:
    angles, velocities = _episode([0.01, 0.5, 0.015, -0.02, 0.0])
    assert tight_entry_index(angles, velocities) == 2
    assert tight_entry_index([0.0, 0.01, -0.01], [0.0, 0.1, -0.2]) == 0


def test_the_tight_band_also_bounds_the_velocity() -> None:
    angles = [0.0] * 5
    assert tight_entry_index(angles, [0.0, 0.0, 0.0, 0.25, 0.0]) == 4
    assert tight_entry_index(angles, [0.0, 0.0, 0.0, 0.0, -0.21]) == -1


def test_angles_are_measured_from_upright_whatever_the_turn() -> None:
    turns = 2 * np.pi * np.array([1.0, 3.0, -2.0])
    assert tight_entry_index(turns + 0.01, np.zeros(3)) == 0
    assert tight_entry_index([np.pi, 2 * np.pi - 0.05], [0.0, 0.0]) == -1


def test_episodes_are_rows() -> None:
    angles = np.array([[0.5, 0.01, 0.01], [0.01, 0.01, 0.5], [0.09, 0.09, 0.09]])
    velocities = np.zeros_like(angles)
    assert tight_entry_index(angles, velocities).tolist() == [1, -1, -1]
    assert entry_index(angles, velocities, 0.1).tolist() == [1, -1, 0]
