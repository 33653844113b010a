"""Paired regret on Pendulum-v1: each episode's return against the optimal return from the same
start, with the balance figures of the same episodes.

Returns from random starts spread widely (a per-episode std near 90), so means over a few
hundred starts differ by several units between start sets; regret, the optimum's return minus
the policy's from the same start, has a far smaller spread, and its mean a standard error near 1
at 300 starts. The optimum is :mod:`~ddpg_control.pipeline.optimum`'s realised return.

    optimum = paired_optimum(300, seed=DEFAULT_SEED)        # tables cached after the first call
    result = measure_regret(policy.act_batch, optimum)      # any [N, 3] -> [N] controller
    result.mean_regret, result.regret_se, result.tight_share, result.rest_angle_rad

Torch-free, numpy only (the controller may be anything callable).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ddpg_control.pipeline.balance import (
    LOOSE_ANGLE_RAD,
    entry_index,
    tight_entry_index,
    upright_error_rad,
)
from ddpg_control.pipeline.optimum import Grid, cache_folder, load_tables, optimal_returns
from ddpg_control.runtime.files import replacing
from sim import pendulum_v1 as env

logger = logging.getLogger(__name__)

#: Start i is ``reset(seed=DEFAULT_SEED + i)``: disjoint from the trainer's evaluation starts
#: (``EVAL_SEED`` = 1,000,000 and up), so a policy is not measured where it was selected.
DEFAULT_SEED = 2_000_000
DEFAULT_EPISODES = 4000
#: The resting angle and torque are means over each episode's last REST_S seconds, over the
#: episodes that are within LOOSE_ANGLE_RAD of upright for all of them ("end upright").
REST_S = 2.0

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PairedOptimum:
    """The start states and each one's optimal return (and the grid's own value there)."""

    seed: int
    angles_rad: Array
    velocities_rad_s: Array
    returns: Array
    grid_values: Array

    @property
    def episodes(self) -> int:
        return len(self.returns)


def paired_optimum(
    episodes: int = DEFAULT_EPISODES,
    seed: int = DEFAULT_SEED,
    grid: Grid | None = None,
    cache_dir: Path | None = None,
) -> PairedOptimum:
    """Draw ``episodes`` starts (``reset(seed=seed + i)``) and their optimal returns (cached
    beside the tables, keyed by the grid, the seed and the number of starts)."""
    grid = grid or Grid()
    angles, velocities = env.start_states(episodes, seed)
    folder = cache_dir or cache_folder()
    path = folder / grid.key().replace(".npy", f"-returns-s{seed}-n{episodes}.npy")
    if path.is_file():
        try:
            cached = np.load(path, allow_pickle=False)
            if cached.shape == (2, episodes):
                return PairedOptimum(seed, angles, velocities, cached[0], cached[1])
        except (OSError, ValueError) as exc:
            logger.warning("ignoring unreadable cache file %s: %s", path, exc)
    optimum = optimal_returns(load_tables(grid, folder), angles, velocities)
    try:
        with replacing(path) as tmp, tmp.open("wb") as fh:
            np.save(fh, np.stack([optimum.returns, optimum.grid_values]), allow_pickle=False)
    except OSError as exc:
        logger.warning("could not cache the optimal returns in %s: %s", path, exc)
    return PairedOptimum(seed, angles, velocities, optimum.returns, optimum.grid_values)


@dataclass(frozen=True)
class RegretResult:
    """One controller from every start of a :class:`PairedOptimum` (arrays: one per episode)."""

    regrets: Array  # optimal return - the controller's return
    returns: Array
    ended_upright: npt.NDArray[np.bool_]  # within LOOSE_ANGLE_RAD for the last REST_S
    rest_angles_rad: Array  # signed mean over the last REST_S (every episode)
    rest_torques_nm: Array
    tight_entry_s: Array  # when it entered the tight band to stay; nan: it did not

    @property
    def episodes(self) -> int:
        return len(self.regrets)

    @property
    def mean_regret(self) -> float:
        return float(np.mean(self.regrets))

    @property
    def regret_std(self) -> float:
        return float(np.std(self.regrets, ddof=1)) if self.episodes > 1 else math.nan

    @property
    def regret_se(self) -> float:
        """The standard error of :attr:`mean_regret`."""
        return self.regret_std / math.sqrt(self.episodes)

    def episodes_for_se(self, target_se: float) -> int:
        """Episodes for a standard error of ``target_se`` at this spread."""
        return math.ceil((self.regret_std / target_se) ** 2)

    @property
    def upright_share(self) -> float:
        return float(np.mean(self.ended_upright))

    @property
    def rest_angle_rad(self) -> float:
        """Mean resting angle over the episodes that end upright (nan: none does)."""
        return _mean_where(self.rest_angles_rad, self.ended_upright)

    @property
    def rest_abs_angle_rad(self) -> float:
        """Mean of |resting angle| over the episodes that end upright."""
        return _mean_where(np.abs(self.rest_angles_rad), self.ended_upright)

    @property
    def rest_torque_nm(self) -> float:
        return _mean_where(self.rest_torques_nm, self.ended_upright)

    @property
    def tight_share(self) -> float:
        """The share of episodes that enter the tight band and stay to the end."""
        return float(np.mean(np.isfinite(self.tight_entry_s)))

    @property
    def mean_tight_entry_s(self) -> float:
        """Mean time to enter the tight band and stay, over the episodes that do."""
        entered = np.isfinite(self.tight_entry_s)
        return _mean_where(self.tight_entry_s, entered)


def paired_difference(first: RegretResult, second: RegretResult) -> tuple[float, float]:
    """(mean, standard error) of ``first``'s regret minus ``second``'s, start by start: the way
    to tell two policies apart on one :class:`PairedOptimum` (the optimum cancels)."""
    if first.episodes != second.episodes:
        raise ValueError("the two results are not from the same starts")
    difference = first.regrets - second.regrets
    se = float(np.std(difference, ddof=1)) / math.sqrt(len(difference))
    return float(np.mean(difference)), se


@dataclass(frozen=True)
class StartBin:
    """The episodes whose start angle's magnitude lies in [low_rad, high_rad)."""

    low_rad: float
    high_rad: float
    episodes: int
    mean_regret: float
    #: The share of them that lost more than ``costly`` (a failed swing: another pump).
    costly_share: float


def by_start_angle(
    result: RegretResult, optimum: PairedOptimum, bins: int = 8, costly: float = 20.0
) -> list[StartBin]:
    """Regret by |start angle| in ``bins`` equal bins over [0, pi]: where a policy loses."""
    magnitude = np.abs(env.normalize_angle(optimum.angles_rad))
    index = np.minimum((magnitude / np.pi * bins).astype(int), bins - 1)  # pi: the last bin
    width = np.pi / bins
    rows = []
    for b in range(bins):
        regrets = result.regrets[index == b]
        rows.append(
            StartBin(
                b * width,
                (b + 1) * width,
                len(regrets),
                float(regrets.mean()) if len(regrets) else math.nan,
                float(np.mean(regrets > costly)) if len(regrets) else math.nan,
            )
        )
    return rows


def costly_part(result: RegretResult, costly: float = 20.0) -> tuple[float, float]:
    """(share of episodes, share of the total regret) of the episodes that lost more than
    ``costly``."""
    over = result.regrets > costly
    total = float(np.sum(result.regrets))
    part = float(np.sum(result.regrets[over])) / total if total > 0 else math.nan
    return float(np.mean(over)), part


def _mean_where(values: Array, mask: npt.NDArray[np.bool_]) -> float:
    return float(np.mean(values[mask])) if np.any(mask) else math.nan


def measure_regret(controller: env.BatchController, optimum: PairedOptimum) -> RegretResult:
    """Run ``controller`` (observations [N, 3] -> torques [N]) from every start in lockstep."""
    episodes = env.rollout(controller, optimum.angles_rad, optimum.velocities_rad_s)
    return result_of(episodes, optimum)


def result_of(episodes: env.Trajectories, optimum: PairedOptimum) -> RegretResult:
    """The figures of episodes already run from ``optimum``'s starts."""
    rest = round(REST_S / env.PERIOD_S)
    steps = episodes.angles_rad.shape[1]
    loose = entry_index(episodes.angles_rad, episodes.velocities_rad_s, LOOSE_ANGLE_RAD)
    tight = tight_entry_index(episodes.angles_rad, episodes.velocities_rad_s)
    errors = upright_error_rad(episodes.angles_rad[:, -rest:])
    return RegretResult(
        regrets=optimum.returns - episodes.returns,
        returns=episodes.returns,
        ended_upright=(loose >= 0) & (loose <= steps - rest),
        rest_angles_rad=errors.mean(axis=1),
        rest_torques_nm=episodes.torques_nm[:, -rest:].mean(axis=1),
        tight_entry_s=np.where(tight >= 0, tight * env.PERIOD_S, math.nan),
    )
