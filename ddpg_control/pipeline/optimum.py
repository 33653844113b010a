"""The optimal controller of Pendulum-v1: finite-horizon dynamic programming on a grid.

``values[k]`` is the best return with ``k`` steps left, on a grid over (theta, theta_dot): angles
periodic over [-pi, pi), velocities over [-8, 8] rad/s, a set of torques over [-2, 2] N*m.
One backup, for every grid state at once::

    V[k+1](s) = max_u  reward(s, u) + V[k](step(s, u))

with ``V[k]`` between grid points read by interpolation. The step is split where the torque
enters: the new velocity ``w' = clip(w + (15 sin theta + 3 u) dt)`` depends on ``u``, the new
angle ``theta + w' dt`` only on ``w'``; so ``V[k]`` is first read along each velocity's angle
shift (linear in theta), then along the new velocity (linear in theta_dot) for each torque.

A grid value is an approximation. What the optimum of an episode is taken to be is a return that
is *realised*: :func:`greedy_rollout` runs the greedy controller of the tables (one-step
lookahead over a finer torque set, in the env's exact dynamics) and :func:`optimal_returns`
reports its returns, each a lower bound of the true optimum. Tables are cached on disk, keyed by
the grid and :data:`VERSION`. Numpy only.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ddpg_control.runtime.files import replacing
from sim import pendulum_v1 as env

logger = logging.getLogger(__name__)

#: Bump when the backup, the dynamics or the file layout changes: old cache files are then
#: not read.
VERSION = 1
#: Where tables are cached unless a folder is given: $DDPG_CONTROL_CACHE, else
#: ~/.cache/ddpg-control (or $XDG_CACHE_HOME/ddpg-control).
CACHE_ENV = "DDPG_CONTROL_CACHE"

Array = npt.NDArray[np.float64]
Table = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Grid:
    """The resolution of the tables: angles (even, so 0 is a grid point), velocities (odd, so
    0 is one), torques in the backup and in the greedy controller's lookahead (odd: 0 is one)."""

    angles: int = 1024
    velocities: int = 1025
    torques: int = 11
    lookahead_torques: int = 201
    #: Backups computed: ``values[0..backups]``. A state with more steps left reads the last
    #: table (the tables have converged by then: see docs/balance.md).
    backups: int = 120

    def __post_init__(self) -> None:
        checks = (
            ("angles", self.angles, 8, 0),
            ("velocities", self.velocities, 5, 1),
            ("torques", self.torques, 3, 1),
            ("lookahead_torques", self.lookahead_torques, 3, 1),
        )
        if self.backups < 1:
            raise ValueError(f"Grid.backups must be at least 1, got {self.backups}")
        for name, value, least, parity in checks:
            if value < least or value % 2 != parity:
                kind = "odd" if parity else "even"
                raise ValueError(f"Grid.{name} must be {kind} and at least {least}, got {value}")

    @property
    def angle_step_rad(self) -> float:
        return 2.0 * np.pi / self.angles

    @property
    def velocity_step_rad_s(self) -> float:
        return 2.0 * env.MAX_SPEED_RAD_S / (self.velocities - 1)

    def angle_points(self) -> Array:
        return np.asarray(-np.pi + self.angle_step_rad * np.arange(self.angles), dtype=np.float64)

    def velocity_points(self) -> Array:
        return np.linspace(-env.MAX_SPEED_RAD_S, env.MAX_SPEED_RAD_S, self.velocities)

    def key(self) -> str:
        """The cache file's name for these tables."""
        return (
            f"pendulum-v1-optimum-v{VERSION}-a{self.angles}-w{self.velocities}"
            f"-u{self.torques}-k{self.backups}.npy"
        )


@dataclass(frozen=True)
class ValueTables:
    """``values[k]``: the best return with ``k`` steps left, [backups + 1, angles, velocities]."""

    grid: Grid
    values: Table

    def value(self, angle_rad: Array, velocity_rad_s: Array, steps_left: int) -> Array:
        """The best return with ``steps_left`` steps left at any states (bilinear, periodic in
        the angle; beyond the last table, the last table)."""
        table = self.values[min(steps_left, self.grid.backups)]
        return interpolate(table, self.grid, angle_rad, velocity_rad_s)

    def greedy_torque(self, angle_rad: Array, velocity_rad_s: Array, steps_left: int) -> Array:
        """The torque of the lookahead set that maximises reward + value of the exact next
        state, per state (ties: the smallest torque)."""
        torques = np.linspace(-env.MAX_TORQUE_NM, env.MAX_TORQUE_NM, self.grid.lookahead_torques)
        angle = np.asarray(angle_rad, dtype=np.float64)[:, None]
        velocity = np.asarray(velocity_rad_s, dtype=np.float64)[:, None]
        u = np.broadcast_to(torques, (angle.shape[0], torques.size))
        next_angle, next_velocity, reward = env.step(angle, velocity, u)
        scores = reward + self.value(next_angle, next_velocity, steps_left - 1)
        return np.asarray(torques[np.argmax(scores, axis=1)], dtype=np.float64)


def interpolate(table: Table, grid: Grid, angle_rad: Array, velocity_rad_s: Array) -> Array:
    """``table`` [angles, velocities] read at states of any shape."""
    a = (env.normalize_angle(angle_rad) + np.pi) / grid.angle_step_rad
    i0 = np.floor(a)
    fa = a - i0
    i0 = i0.astype(np.intp) % grid.angles
    i1 = (i0 + 1) % grid.angles
    v = np.clip(velocity_rad_s, -env.MAX_SPEED_RAD_S, env.MAX_SPEED_RAD_S) + env.MAX_SPEED_RAD_S
    v = v / grid.velocity_step_rad_s
    j0 = np.clip(np.floor(v), 0, grid.velocities - 2).astype(np.intp)
    fv = v - j0
    t = table.astype(np.float64, copy=False)
    low = (1.0 - fv) * t[i0, j0] + fv * t[i0, j0 + 1]
    high = (1.0 - fv) * t[i1, j0] + fv * t[i1, j0 + 1]
    return np.asarray((1.0 - fa) * low + fa * high, dtype=np.float64)


def solve(grid: Grid) -> ValueTables:
    """Compute ``values[0..grid.backups]`` by backward induction (seconds: see docs/balance.md)."""
    started = time.perf_counter()
    na, nw = grid.angles, grid.velocities
    angles, velocities = grid.angle_points(), grid.velocity_points()
    dt, dw = env.PERIOD_S, grid.velocity_step_rad_s
    # The angle shift theta + w dt of each velocity column, as a flat index and a weight.
    shift = velocities * dt / grid.angle_step_rad
    whole = np.floor(shift)
    rows = np.arange(na)[:, None]
    shift_lo = (((rows + whole.astype(np.intp)) % na) * nw + np.arange(nw)).ravel()
    shift_hi = (((rows + whole.astype(np.intp) + 1) % na) * nw + np.arange(nw)).ravel()
    shift_w = np.broadcast_to((shift - whole).astype(np.float32), (na, nw)).ravel().copy()
    # For each torque: where the new velocity falls on the velocity axis of the same row.
    torques = np.linspace(-env.MAX_TORQUE_NM, env.MAX_TORQUE_NM, grid.torques)
    gain = 3.0 * env.GRAVITY_M_S2 / (2.0 * env.LENGTH_M)
    push = velocities[None, :] + gain * np.sin(angles)[:, None] * dt
    reads = []
    for u in torques:
        w = push + 3.0 / (env.MASS_KG * env.LENGTH_M**2) * u * dt
        w = np.clip(w, -env.MAX_SPEED_RAD_S, env.MAX_SPEED_RAD_S)
        pos = (w + env.MAX_SPEED_RAD_S) / dw
        lo = np.clip(np.floor(pos), 0, nw - 2).astype(np.intp)
        flat = (rows * nw + lo).ravel()
        frac = (pos - lo).astype(np.float32).ravel()
        reads.append((flat, flat + 1, frac, np.float32(-0.001 * u * u)))
    stage = (-(angles[:, None] ** 2) - 0.1 * velocities[None, :] ** 2).astype(np.float32).ravel()
    values = np.zeros((grid.backups + 1, na, nw), dtype=np.float32)
    shifted = np.empty(na * nw, dtype=np.float32)
    tmp = np.empty_like(shifted)
    lo_v, hi_v = np.empty_like(shifted), np.empty_like(shifted)
    best = np.empty_like(shifted)
    for k in range(1, grid.backups + 1):
        v = values[k - 1].ravel()
        np.take(v, shift_lo, out=shifted)
        np.take(v, shift_hi, out=tmp)
        tmp -= shifted
        tmp *= shift_w
        shifted += tmp
        best.fill(-np.inf)
        for flat_lo, flat_hi, frac, penalty in reads:
            np.take(shifted, flat_lo, out=lo_v)
            np.take(shifted, flat_hi, out=hi_v)
            hi_v -= lo_v
            hi_v *= frac
            lo_v += hi_v
            lo_v += penalty
            np.maximum(best, lo_v, out=best)
        values[k] = (stage + best).reshape(na, nw)
    logger.info("solved %s in %.1f s", grid, time.perf_counter() - started)
    return ValueTables(grid, values)


def cache_folder() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ddpg-control"


def load_tables(grid: Grid | None = None, cache_dir: Path | None = None) -> ValueTables:
    """The tables of ``grid`` (default :class:`Grid`), from the cache or solved and cached."""
    grid = grid or Grid()
    path = (cache_dir or cache_folder()) / grid.key()
    expected = (grid.backups + 1, grid.angles, grid.velocities)
    if path.is_file():
        try:
            values = np.load(path, allow_pickle=False)
            if values.shape == expected and values.dtype == np.float32:
                return ValueTables(grid, values)
        except (OSError, ValueError) as exc:
            logger.warning("ignoring unreadable cache file %s: %s", path, exc)
    tables = solve(grid)
    try:
        with replacing(path) as tmp, tmp.open("wb") as fh:
            np.save(fh, tables.values, allow_pickle=False)
    except OSError as exc:
        logger.warning("could not cache the optimum's tables in %s: %s", path, exc)
    return tables


def greedy_rollout(
    tables: ValueTables, angle_rad: Array, velocity_rad_s: Array, steps: int = env.EPISODE_STEPS
) -> env.Trajectories:
    """Episodes of ``steps`` steps driven by the tables' greedy controller."""
    n = len(angle_rad)
    angles, velocities, torques, rewards = (np.empty((n, steps)) for _ in range(4))
    angle = np.asarray(angle_rad, dtype=np.float64).copy()
    velocity = np.asarray(velocity_rad_s, dtype=np.float64).copy()
    for k in range(steps):
        torque = tables.greedy_torque(angle, velocity, steps - k)
        angles[:, k], velocities[:, k], torques[:, k] = angle, velocity, torque
        angle, velocity, rewards[:, k] = env.step(angle, velocity, torque)
    return env.Trajectories(angles, velocities, torques, rewards)


@dataclass(frozen=True)
class OptimalReturns:
    """Per start: the realised optimum (the greedy controller's return) and the grid's value."""

    returns: Array
    grid_values: Array


def optimal_returns(
    tables: ValueTables, angle_rad: Array, velocity_rad_s: Array, steps: int = env.EPISODE_STEPS
) -> OptimalReturns:
    """The optimum of each episode of ``steps`` steps from these starts, as a realised return."""
    rollout = greedy_rollout(tables, angle_rad, velocity_rad_s, steps)
    grid_values = tables.value(
        np.asarray(angle_rad, dtype=np.float64), np.asarray(velocity_rad_s, dtype=np.float64), steps
    )
    return OptimalReturns(rollout.returns, grid_values)


class GreedyController:
    """The tables' greedy controller as a batched controller of observations, for episodes of
    ``steps`` steps that all start at its first call (it counts its calls: one per step)."""

    def __init__(self, tables: ValueTables, steps: int = env.EPISODE_STEPS) -> None:
        self.tables = tables
        self.steps = steps
        self.calls = 0

    def __call__(self, observations: npt.NDArray[np.float32]) -> Array:
        obs = np.asarray(observations, dtype=np.float64)
        angle = np.arctan2(obs[:, 1], obs[:, 0])
        steps_left = max(self.steps - self.calls, 1)
        self.calls += 1
        return self.tables.greedy_torque(angle, obs[:, 2], steps_left)
