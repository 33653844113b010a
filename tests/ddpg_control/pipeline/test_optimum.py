"""The optimal controller of Pendulum-v1 and paired regret, on a coarse grid (fast)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from ddpg_control.pipeline import optimum, regret
from ddpg_control.pipeline.controllers import classical_controller
from ddpg_control.pipeline.optimum import GreedyController, Grid, ValueTables
from ddpg_control.pipeline.regret import (
    PairedOptimum,
    by_start_angle,
    costly_part,
    measure_regret,
    paired_difference,
    paired_optimum,
)
from sim import pendulum_v1
from sim.params import preset

COARSE = Grid(angles=128, velocities=129, torques=7, lookahead_torques=101)
STARTS = 20


@pytest.fixture(scope="module")
def tables() -> ValueTables:
    return optimum.solve(COARSE)


@pytest.fixture(scope="module")
def paired(tables: ValueTables) -> PairedOptimum:
    angles, velocities = pendulum_v1.start_states(STARTS, seed=5)
    best = optimum.optimal_returns(tables, angles, velocities)
    return PairedOptimum(5, angles, velocities, best.returns, best.grid_values)


def _value(tables: ValueTables, angle: float, velocity: float) -> float:
    return float(tables.value(np.array([angle]), np.array([velocity]), 200)[0])


def test_resting_upright_is_worth_zero_and_hanging_down_about_300(tables: ValueTables) -> None:
    assert _value(tables, 0.0, 0.0) == pytest.approx(0.0, abs=1e-3)
    assert -330.0 < _value(tables, np.pi, 0.0) < -280.0
    assert _value(tables, 0.5, 0.0) < _value(tables, 0.1, 0.0) < 0.0


def test_the_greedy_controller_swings_up_from_hanging_and_rests_upright(
    tables: ValueTables,
) -> None:
    episode = optimum.greedy_rollout(tables, np.array([np.pi]), np.array([0.0]))
    final = np.arctan2(np.sin(episode.angles_rad[0, -40:]), np.cos(episode.angles_rad[0, -40:]))
    assert np.all(np.abs(final) < 0.02)
    assert episode.returns[0] == pytest.approx(_value(tables, np.pi, 0.0), abs=10.0)


def test_the_optimum_beats_the_classical_controller_from_every_start(
    paired: PairedOptimum,
) -> None:
    classical = pendulum_v1.per_observation(classical_controller(preset("default")))
    result = measure_regret(classical, paired)
    assert np.all(result.regrets > -0.05), result.regrets
    assert result.mean_regret > 3.0


def test_regret_is_zero_for_the_greedy_controller_and_large_for_no_torque(
    tables: ValueTables, paired: PairedOptimum
) -> None:
    greedy = measure_regret(GreedyController(tables), paired)
    assert abs(greedy.mean_regret) < 0.1
    assert greedy.tight_share == 1.0 and greedy.upright_share == 1.0
    assert abs(greedy.rest_angle_rad) < 0.01
    idle = measure_regret(lambda obs: np.zeros(len(obs)), paired)
    assert idle.mean_regret > 300.0 and idle.regret_se > 0.0
    assert idle.tight_share < 0.2
    assert idle.episodes_for_se(idle.regret_se) == pytest.approx(STARTS, abs=1)


def test_a_finer_grid_moves_the_mean_optimum_little(paired: PairedOptimum) -> None:
    coarser = optimum.solve(Grid(angles=96, velocities=97, torques=7, lookahead_torques=101))
    returns = optimum.optimal_returns(coarser, paired.angles_rad, paired.velocities_rad_s)
    assert abs(np.mean(returns.returns) - np.mean(paired.returns)) < 0.5
    assert np.all(returns.returns <= 0.0)


def test_tables_are_cached_by_grid_and_a_bad_file_is_solved_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = Grid(angles=16, velocities=17, torques=3, lookahead_torques=5, backups=10)
    first = optimum.load_tables(small, tmp_path)
    cached = tmp_path / small.key()
    assert cached.is_file()

    def no_solving(grid: Grid) -> ValueTables:
        raise AssertionError("solved again instead of reading the cache")

    with monkeypatch.context() as patch:
        patch.setattr(optimum, "solve", no_solving)
        assert np.array_equal(optimum.load_tables(small, tmp_path).values, first.values)
    other = Grid(angles=16, velocities=17, torques=5, lookahead_torques=5, backups=10)
    assert other.key() != small.key()
    cached.write_bytes(b"not a table")
    assert np.array_equal(optimum.load_tables(small, tmp_path).values, first.values)


def test_paired_optimum_draws_the_envs_starts_and_caches_their_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = Grid(angles=16, velocities=17, torques=3, lookahead_torques=5, backups=10)
    paired = paired_optimum(3, seed=11, grid=small, cache_dir=tmp_path)
    angles, velocities = pendulum_v1.start_states(3, seed=11)
    assert np.array_equal(paired.angles_rad, angles)
    assert np.array_equal(paired.velocities_rad_s, velocities)
    assert paired.returns.shape == (3,)
    monkeypatch.setattr(regret, "optimal_returns", None)  # a second call must not roll out
    again = paired_optimum(3, seed=11, grid=small, cache_dir=tmp_path)
    assert np.array_equal(again.returns, paired.returns)
    with pytest.raises(TypeError):
        paired_optimum(4, seed=11, grid=small, cache_dir=tmp_path)  # other starts: not cached


def test_two_policies_are_compared_start_by_start(paired: PairedOptimum) -> None:
    """A policy that gives up 1 on every start against another: the paired difference is
    exactly 1 with no spread, though each one's own regret spreads widely."""
    classical = measure_regret(
        pendulum_v1.per_observation(classical_controller(preset("default"))), paired
    )
    shifted = dataclasses.replace(classical, regrets=classical.regrets + 1.0)
    assert paired_difference(shifted, classical) == pytest.approx((1.0, 0.0))
    assert classical.regret_se > 0.1


def test_regret_is_broken_down_by_start_angle(paired: PairedOptimum) -> None:
    """No torque loses most from near hanging down, where the optimum swings up; every start
    is in one bin, and the bins' regrets average to the whole."""
    zero = measure_regret(lambda obs: np.zeros(len(obs)), paired)
    bins = by_start_angle(zero, paired, bins=4)
    assert [b.low_rad for b in bins] == pytest.approx([0, np.pi / 4, np.pi / 2, 3 * np.pi / 4])
    assert sum(b.episodes for b in bins) == STARTS
    filled = [b for b in bins if b.episodes]
    assert filled[-1].mean_regret > filled[0].mean_regret
    weighted = sum(b.mean_regret * b.episodes for b in filled) / STARTS
    assert weighted == pytest.approx(zero.mean_regret)
    share, part = costly_part(zero)
    assert share == pytest.approx(np.mean(zero.regrets > 20))
    assert 0 < share <= part <= 1


def test_grid_sizes_are_checked() -> None:
    with pytest.raises(ValueError, match="angles must be even"):
        Grid(angles=15)
    with pytest.raises(ValueError, match="velocities must be odd"):
        Grid(velocities=16)
