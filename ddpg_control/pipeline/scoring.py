"""The robustness benchmark behind ``ddpg-control score``, in the style of RealAIGym.

One axis at a time, the nominal rig is perturbed to each point on the axis; at each point a
controller runs several seeded episodes on :class:`~sim.plant.SimPlant` in virtual time, from
hanging down. An episode succeeds when the true angle stays within ``SUCCESS_ANGLE_RAD`` of
upright for the last ``HOLD_S`` seconds. An axis's score is the mean success over its points,
the overall score the mean over the axes. The nominal point is run once and shared by all axes.

Beside it, a tight success: the true state enters the tight band (within 0.02 rad of upright and
0.2 rad/s, :mod:`~ddpg_control.pipeline.balance`) at some moment and stays in it to the end of
the episode. It has its own rates and overall (``overall_tight``); the overall score stays the
loose one, so scores compare with earlier ones.

Reproducible: episode ``(axis, point, i)`` draws its start state and the plant's noise from
``SeedSequence([seed, axis, point, i])``; results are gathered in task order, whatever the
number of worker processes, and onnxruntime runs on one thread. Torch-free.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ddpg_control.pipeline.balance import LOOSE_ANGLE_RAD, tight_entry_index
from ddpg_control.pipeline.controllers import (
    classical_controller,
    estimator_for,
    is_classical,
    load_onnx,
    observer_for,
)
from ddpg_control.runtime.contracts import make_observation
from ddpg_control.runtime.timing import SimulatedClock

if TYPE_CHECKING:
    from sim.params import PendulumParams

SUCCESS_ANGLE_RAD = LOOSE_ANGLE_RAD
HOLD_S = 5.0
DEFAULT_DURATION_S = 15.0
#: The physics step the benchmark needs at least, so that millisecond effects (torque response,
#: delay) exist on a rig whose preset steps once per control period.
MAX_PHYSICS_DT_S = 0.005
#: How often pushes come on the pushes axis, and how long each lasts.
PUSH_RATE_HZ = 0.5
PUSH_DURATION_S = 0.1


@dataclass(frozen=True)
class Axis:
    """One perturbation: ``field`` of PendulumParams set to each point (``scale``: times the
    nominal value; ``periods``: that many control periods, in seconds)."""

    name: str
    field: str
    points: tuple[float, ...]
    unit: str
    mode: str = "value"  # "value" | "scale" | "periods"

    def nominal_point(self, base: PendulumParams) -> float:
        if self.mode == "scale":
            return 1.0
        if self.mode == "periods":
            return getattr(base, self.field) / base.control_period_s
        return float(getattr(base, self.field))

    def apply(self, base: PendulumParams, point: float) -> PendulumParams:
        if self.mode == "scale":
            return base.with_changes(**{self.field: getattr(base, self.field) * point})
        if self.mode == "periods":
            return base.with_changes(**{self.field: point * base.control_period_s})
        changes: dict[str, float] = {self.field: point}
        if self.field == "push_torque_nm":
            changes.update(push_rate_hz=PUSH_RATE_HZ, push_duration_s=PUSH_DURATION_S)
        return base.with_changes(**changes)


AXES: tuple[Axis, ...] = (
    Axis("mass", "mass_kg", (0.5, 0.75, 1.0, 1.25, 1.5), "x nominal", "scale"),
    Axis("length", "length_m", (0.5, 0.75, 1.0, 1.25, 1.5), "x nominal", "scale"),
    Axis("damping", "joint_damping_nm_s_rad", (0.0, 0.05, 0.1, 0.2, 0.4), "N*m*s/rad"),
    Axis("coulomb friction", "joint_friction_nm", (0.0, 0.1, 0.2, 0.4, 0.6), "N*m"),
    Axis("velocity noise", "velocity_noise_std_rad_s", (0.0, 0.2, 0.5, 1.0, 2.0), "rad/s std"),
    Axis("torque noise", "torque_noise_std_nm", (0.0, 0.1, 0.2, 0.4, 0.8), "N*m std"),
    Axis("torque response", "motor_time_constant_s", (0.0, 0.05, 0.1, 0.2, 0.3), "s"),
    Axis(
        "measurement delay",
        "measurement_delay_s",
        (0.0, 0.5, 1.0, 1.5, 2.0, 3.0),
        "periods",
        "periods",
    ),
    Axis("pushes", "push_torque_nm", (0.0, 0.5, 1.0, 1.5, 2.0), "N*m, 0.1 s at 0.5/s"),
)
AXIS_NAMES = tuple(axis.name for axis in AXES)


def benchmark_params(base: PendulumParams) -> PendulumParams:
    """The nominal rig as benchmarked: ``base`` with physics at least every 5 ms."""
    substeps = max(
        base.physics_substeps, math.ceil(base.control_period_s / MAX_PHYSICS_DT_S - 1e-9)
    )
    return base.with_changes(physics_substeps=substeps)


@dataclass(frozen=True)
class Episode:
    """What one episode measured (costs over the whole episode, rest over the hold window)."""

    success: bool
    time_to_upright_s: float  # the start of the final stay within 0.1 rad (nan: never)
    energy_j: float  # integral of |torque * velocity|: work done by the motor
    smoothness_nm_s: float  # RMS of torque change per second
    rest_angle_rad: float  # mean angle over the last HOLD_S (signed)
    rest_torque_nm: float  # mean torque over the last HOLD_S
    success_tight: bool = False  # in the tight band from some moment to the end
    time_to_tight_s: float = math.nan  # the start of that final stay (nan: none)


@dataclass(frozen=True)
class Task:
    controller: str  # a policy path or "classical"
    params: PendulumParams
    design: PendulumParams  # what the classical controller is designed for (the nominal rig)
    seed: tuple[int, ...]
    duration_s: float


_CACHE: dict[str, Any] = {}


def _controller(name: str, design: PendulumParams) -> Any:
    key = name if not is_classical(name) else f"{name}:{design}"
    if key not in _CACHE:
        _CACHE[key] = classical_controller(design) if is_classical(name) else load_onnx(Path(name))
    return _CACHE[key]


def run_episode(task: Task) -> Episode:
    """One episode on the simulated plant in virtual time (a worker process runs many)."""
    from sim.plant import SimPlant

    params = task.params
    controller = _controller(task.controller, task.design)
    period = params.control_period_s
    spec = estimator_for(controller, params.reports_velocity, period)
    observer = observer_for(spec)
    rng = np.random.default_rng(np.random.SeedSequence(list(task.seed)))
    start_angle = math.pi + float(rng.uniform(-0.3, 0.3))
    start_velocity = float(rng.uniform(-0.3, 0.3))
    plant_seed = int(rng.integers(2**31))
    clock = SimulatedClock()
    ticks = round(task.duration_s / period)
    angles = np.empty(ticks)
    velocities = np.empty(ticks)
    torques = np.empty(ticks)
    limit = min(controller.max_torque_nm, params.max_torque_nm)
    with SimPlant(
        params,
        clock=clock,
        start_angle_rad=start_angle,
        start_velocity_rad_s=start_velocity,
        seed=plant_seed,
    ) as plant:
        for k in range(ticks):
            clock.sleep_until(k * period)
            angles[k], velocities[k] = plant.true_state()
            state = plant.read()
            if observer is not None:
                state = observer(state)
            torque = float(controller(make_observation(state.angle_rad, state.velocity_rad_s)))
            torque = min(max(torque, -limit), limit) if math.isfinite(torque) else 0.0
            torques[k] = torque
            plant.apply(torque)
    return _measure(angles, velocities, torques, period)


def _measure(
    angles: np.ndarray, velocities: np.ndarray, torques: np.ndarray, period: float
) -> Episode:
    hold = round(HOLD_S / period)
    outside = np.flatnonzero(np.abs(angles) >= SUCCESS_ANGLE_RAD)
    success = bool(outside.size == 0 or outside[-1] < len(angles) - hold)
    time_to_upright = (
        (0.0 if outside.size == 0 else float(outside[-1] + 1) * period) if success else math.nan
    )
    changes = np.diff(torques) / period
    tight = int(tight_entry_index(angles, velocities))
    return Episode(
        success=success,
        time_to_upright_s=time_to_upright,
        energy_j=float(np.sum(np.abs(torques * velocities)) * period),
        smoothness_nm_s=float(np.sqrt(np.mean(changes**2))) if changes.size else 0.0,
        rest_angle_rad=float(np.mean(angles[-hold:])),
        rest_torque_nm=float(np.mean(torques[-hold:])),
        success_tight=tight >= 0,
        time_to_tight_s=tight * period if tight >= 0 else math.nan,
    )


@dataclass(frozen=True)
class PointResult:
    axis: str
    point: float
    unit: str
    episodes: tuple[Episode, ...]

    @property
    def success_rate(self) -> float:
        return sum(e.success for e in self.episodes) / len(self.episodes)

    @property
    def success_tight_rate(self) -> float:
        """The share of episodes in the tight band from some moment to the end."""
        return sum(e.success_tight for e in self.episodes) / len(self.episodes)

    @property
    def time_to_tight_s(self) -> float:
        """The mean time to enter the tight band for good, over the episodes that do."""
        values = [e.time_to_tight_s for e in self.episodes if e.success_tight]
        return float(np.mean(values)) if values else math.nan

    def mean_over_successes(self, name: str) -> float:
        values = [getattr(e, name) for e in self.episodes if e.success]
        return float(np.mean(values)) if values else math.nan


@dataclass(frozen=True)
class ScoreResult:
    controller: str
    seed: int
    episodes_per_point: int
    points: tuple[PointResult, ...]
    nominal: PointResult

    def axis_success(self) -> dict[str, float]:
        out: dict[str, list[float]] = {}
        for point in self.points:
            out.setdefault(point.axis, []).append(point.success_rate)
        return {axis: float(np.mean(rates)) for axis, rates in out.items()}

    @property
    def overall(self) -> float:
        return float(np.mean(list(self.axis_success().values())))

    def axis_success_tight(self) -> dict[str, float]:
        out: dict[str, list[float]] = {}
        for point in self.points:
            out.setdefault(point.axis, []).append(point.success_tight_rate)
        return {axis: float(np.mean(rates)) for axis, rates in out.items()}

    @property
    def overall_tight(self) -> float:
        """The mean over the axes of the tight success (not part of :attr:`overall`)."""
        return float(np.mean(list(self.axis_success_tight().values())))


COSTS = ("time_to_upright_s", "energy_j", "smoothness_nm_s", "rest_angle_rad", "rest_torque_nm")


@dataclass(frozen=True)
class Plan:
    """What to run: the axes (each with its points), episodes per point, seed, duration."""

    axes: tuple[Axis, ...]
    episodes: int
    seed: int
    duration_s: float = DEFAULT_DURATION_S


def quick_axes(axes: Sequence[Axis]) -> tuple[Axis, ...]:
    """Each axis cut to its first, nominal-most and last points (for ``--quick``)."""
    out = []
    for axis in axes:
        middle = axis.points[len(axis.points) // 2]
        out.append(
            Axis(
                axis.name,
                axis.field,
                (axis.points[0], middle, axis.points[-1]),
                axis.unit,
                axis.mode,
            )
        )
    return tuple(out)


def _tasks(controller: str, base: PendulumParams, plan: Plan) -> list[tuple[str, float, Task]]:
    """(axis name, point, task) for every episode; the nominal point has axis name ''."""
    tasks = []
    for i in range(plan.episodes):
        tasks.append(
            ("", math.nan, Task(controller, base, base, (plan.seed, 0, 0, i), plan.duration_s))
        )
    for axis in plan.axes:
        nominal = axis.nominal_point(base)
        for p, point in enumerate(axis.points):
            if math.isclose(point, nominal, abs_tol=1e-12):
                continue  # shared nominal episodes
            params = axis.apply(base, point)
            for i in range(plan.episodes):
                seed = (plan.seed, AXIS_NAMES.index(axis.name) + 1, p + 1, i)
                tasks.append(
                    (axis.name, point, Task(controller, params, base, seed, plan.duration_s))
                )
    return tasks


Mapper = Callable[[Callable[[Task], Episode], Iterable[Task]], Iterator[Episode]]


def score(
    controllers: Sequence[str],
    base: PendulumParams,
    plan: Plan,
    mapper: Mapper,
    progress: Callable[[int, int], None] | None = None,
) -> list[ScoreResult]:
    """Score each controller on ``plan`` around ``base`` (already :func:`benchmark_params`).

    ``mapper`` runs the episodes (``map`` or a process pool's ``imap``) and must keep order.
    """
    all_tasks = [(c, *t) for c in controllers for t in _tasks(c, base, plan)]
    episodes: list[Episode] = []
    for done, episode in enumerate(mapper(run_episode, (t[3] for t in all_tasks)), start=1):
        episodes.append(episode)
        if progress is not None:
            progress(done, len(all_tasks))
    results = []
    for controller in controllers:
        rows = [(t, e) for t, e in zip(all_tasks, episodes, strict=True) if t[0] == controller]
        nominal_eps = tuple(e for t, e in rows if t[1] == "")
        points = []
        for axis in plan.axes:
            nominal = axis.nominal_point(base)
            for point in axis.points:
                if math.isclose(point, nominal, abs_tol=1e-12):
                    eps = nominal_eps
                else:
                    eps = tuple(e for t, e in rows if t[1] == axis.name and t[2] == point)
                points.append(PointResult(axis.name, point, axis.unit, eps))
        results.append(
            ScoreResult(
                controller,
                plan.seed,
                plan.episodes,
                tuple(points),
                PointResult("nominal", math.nan, "", nominal_eps),
            )
        )
    return results
