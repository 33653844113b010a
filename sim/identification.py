"""Fit the simulator's pendulum and motor model to a rig's telemetry (``ddpg-control identify``).

The model is the one :mod:`sim.bullet_pendulum` simulates, written per unit of pivot inertia
``I`` (theta = 0 upright, counter-clockwise positive)::

    theta_ddot = a sin(theta) + beta u(t - L) + gamma - delta theta_dot - Coulomb(phi)

    a = m g l_c / I       gravity term          beta  = torque_scale / I
    gamma = offset / I    torque offset         delta = damping / I
    phi = friction / I    Coulomb friction      L     = latency after the torque is written

Motion alone fixes only these ratios: multiply ``I``, ``m g l_c``, the torque scale and offset,
damping and friction by one factor and the rig moves exactly the same. One number from outside
sets the scale: the torque scale (the motor constant is trusted, default 1), or the pendulum's
mass (it can be weighed). The uniform-rod model then gives ``l = 3 g / (2 a)`` from motion alone.

Two estimators, both least squares:

* :func:`fit_prediction_error` (the one ``identify`` uses): multiple shooting. From every
  measured state it simulates ``horizon`` control periods ahead with PyBullet's own step
  (semi-implicit Euler at ``physics_dt_s``, Coulomb friction as a force-limited velocity
  motor, torque averaged exactly over each step so the latency is a smooth parameter) and
  compares angle and velocity with what was measured; scipy's ``least_squares`` minimises that.
* :func:`fit_filtered_derivatives` (the one DFKI's pendulum tools use): acceleration from
  low-passed, differentiated velocity, then one linear least squares in
  ``(a, beta, gamma, delta, phi)`` per candidate latency. Fast, used to start the first.

Uncertainties are one standard deviation from the Jacobian at the optimum, scaled by the
residual and (for the overlapping shooting segments, which reuse each sample about four
times) by that reuse. They are estimates; ``docs/identification.md`` compares them with the
real errors.

Bad recordings raise :class:`IdentificationError` before any fit, with what to record instead.
This module imports numpy and scipy, never hardware, export or torch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ddpg_control.runtime.errors import ConfigError
from sim.params import PendulumParams

FloatArray = npt.NDArray[np.float64]

#: Columns a recording must have (the telemetry CSV's names).
REQUIRED_COLUMNS = ("time_s", "angle_rad", "velocity_rad_s", "torque_cmd_nm", "torque_sent_nm")
#: Shortest recording worth fitting, and the fewest rows.
MIN_DURATION_S = 5.0
MIN_ROWS = 100
#: The torque must vary by at least this (standard deviation, N*m) to excite anything.
MIN_TORQUE_STD_NM = 0.01
#: The angle must sweep at least this range (rad).
MIN_ANGLE_RANGE_RAD = 0.05
#: Share of rows the safety layer may clip before the recording counts as saturated.
MAX_CLIPPED_SHARE = 0.02
#: A fit explaining less than this share of the measured motion is refused.
MIN_EXPLAINED = 0.9
#: Each of gravity and torque gain must be this many standard deviations from zero.
MIN_SIGNIFICANCE = 10.0
#: A read that took longer than this many times the median (and over 1 ms) leaves the moment
#: the state was sampled uncertain by milliseconds (a loaded machine, a busy device): such
#: samples neither start nor end a shooting segment.
SLOW_READ_FACTOR = 3.0
#: What to do instead, repeated in most messages.
RECORD_HINT = "record one with 'ddpg-control excite --device PORT' (or --sim)"


class IdentificationError(ConfigError):
    """The recording cannot identify the rig (too short, not excited, saturated, ...)."""


@dataclass(frozen=True)
class Recording:
    """One telemetry file's columns, checked, with its angle unwrapped.

    ``sample_s`` is when each state was read (tick start plus half the read), ``command_s``
    when each torque reached the plant (tick start, read, inference, half the write).
    """

    name: str
    sample_s: FloatArray
    angle_rad: FloatArray
    velocity_rad_s: FloatArray
    torque_nm: FloatArray
    command_s: FloatArray
    timed: npt.NDArray[np.bool_]  # read quickly enough that ``sample_s`` is known to ~1 ms

    def __len__(self) -> int:
        return len(self.sample_s)

    @property
    def duration_s(self) -> float:
        return float(self.sample_s[-1] - self.sample_s[0])

    @property
    def write_delay_s(self) -> float:
        """Median time from reading the state to the torque reaching the plant."""
        return float(np.median(self.command_s - self.sample_s))


def recording_from_columns(name: str, columns: dict[str, FloatArray]) -> Recording:
    """Check a telemetry table and build a :class:`Recording`; raise what to record instead."""
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise IdentificationError(
            f"{name}: missing column(s) {', '.join(missing)}; {RECORD_HINT}, which writes them all"
        )
    cols = {c: np.asarray(columns[c], dtype=np.float64) for c in columns}
    n = len(cols["time_s"])
    if n < MIN_ROWS:
        raise IdentificationError(
            f"{name}: only {n} rows, at least {MIN_ROWS} needed; {RECORD_HINT} --duration-s 30"
        )
    for c in REQUIRED_COLUMNS:
        bad = np.flatnonzero(~np.isfinite(cols[c]))
        if len(bad):
            raise IdentificationError(
                f"{name}: {len(bad)} non-finite value(s) in {c} (first at row {bad[0] + 1}); "
                f"record again ({RECORD_HINT}) or cut the file before that row"
            )
    t = cols["time_s"]
    back = np.flatnonzero(np.diff(t) <= 0)
    if len(back):
        raise IdentificationError(
            f"{name}: time_s does not increase at row {back[0] + 2} ({t[back[0]]:g} -> "
            f"{t[back[0] + 1]:g} s); pass each run's telemetry as its own file, not joined"
        )
    if t[-1] - t[0] < MIN_DURATION_S:
        raise IdentificationError(
            f"{name}: covers {t[-1] - t[0]:.1f} s, at least {MIN_DURATION_S:g} s needed "
            f"(30 s identifies well); {RECORD_HINT} --duration-s 30"
        )
    sent, cmd = cols["torque_sent_nm"], cols["torque_cmd_nm"]
    if float(np.std(sent)) < MIN_TORQUE_STD_NM:
        raise IdentificationError(
            f"{name}: the torque hardly varies (std {np.std(sent):.3g} N*m): nothing excites "
            f"the rig; {RECORD_HINT}, which drives it with a multisine"
        )
    clipped = float(np.mean(np.abs(cmd - sent) > 1e-6 + 1e-3 * np.abs(cmd)))
    if clipped > MAX_CLIPPED_SHARE:
        raise IdentificationError(
            f"{name}: the safety layer clipped {clipped:.0%} of the torques (saturated); record "
            "again with a smaller 'excite --torque-nm' than the limit, or raise --torque-limit-nm"
        )
    angle = np.unwrap(cols["angle_rad"])
    if float(np.ptp(angle)) < MIN_ANGLE_RANGE_RAD:
        raise IdentificationError(
            f"{name}: the pendulum barely moved (angle range {np.ptp(angle):.3g} rad); record "
            "again with a larger 'excite --torque-nm', and check the motor is powered and free"
        )
    read = cols.get("read_s", np.zeros(n))
    infer = cols.get("infer_s", np.zeros(n))
    write = cols.get("write_s", np.zeros(n))
    timing = np.nan_to_num(np.column_stack([read, infer, write]), nan=0.0).clip(0.0, None)
    return Recording(
        name=name,
        sample_s=t + timing[:, 0] / 2.0,
        angle_rad=angle,
        velocity_rad_s=cols["velocity_rad_s"],
        torque_nm=sent,
        command_s=t + timing[:, 0] + timing[:, 1] + timing[:, 2] / 2.0,
        timed=timing[:, 0] <= max(SLOW_READ_FACTOR * float(np.median(timing[:, 0])), 1e-3),
    )


# --- the model ----------------------------------------------------------------------------

#: Names of the fitted ratios, in the order of the parameter vector.
RATIO_NAMES = ("a", "beta", "gamma", "delta", "phi", "latency_s")


@dataclass(frozen=True)
class _Timeline:
    """All recordings on one time axis (each later one shifted past the last), for vectorised
    simulation: the torque as a cumulative integral ``U(t)`` sampled at its knots."""

    knots_s: FloatArray
    cumulative_nm_s: FloatArray
    sample_s: FloatArray
    angle_rad: FloatArray
    velocity_rad_s: FloatArray
    start_angle_rad: FloatArray  # low-passed (zero phase): where segments start from
    start_velocity_rad_s: FloatArray
    timed: npt.NDArray[np.bool_]
    starts: npt.NDArray[np.int64]  # first sample of each shooting segment

    def torque_integral(self, t: FloatArray) -> FloatArray:
        return np.interp(t, self.knots_s, self.cumulative_nm_s)


_GAP_S = 1000.0
#: Cut-off of the low-pass the shooting segments start from (at most 0.8 x Nyquist).
START_CUTOFF_HZ = 12.0


def _timeline(recordings: Sequence[Recording], horizon: int, stride: int = 1) -> _Timeline:
    knots, torques, samples, angles, velocities, starts, timed = [], [], [], [], [], [], []
    smooth_angles, smooth_velocities = [], []
    offset, index = 0.0, 0
    for rec in recordings:
        shift = offset - rec.sample_s[0]
        cmd = rec.command_s + shift
        # Zero torque until the first command and after the recording.
        knots.append(np.concatenate([[cmd[0] - 1.0], cmd, [cmd[-1] + 1.0]]))
        torques.append(np.concatenate([[0.0], rec.torque_nm, [0.0]]))
        samples.append(rec.sample_s + shift)
        angles.append(rec.angle_rad)
        velocities.append(rec.velocity_rad_s)
        timed.append(rec.timed)
        # Starting every segment from a noisy reading would let damping and friction soak up
        # the noise (errors in variables); a zero-phase low-pass averages it out and leaves the
        # excitation band (a few Hz) as it is.
        period_s = float(np.median(np.diff(rec.sample_s)))
        cutoff_hz = min(START_CUTOFF_HZ, 0.4 / period_s)
        smooth_angles.append(_lowpass(rec.angle_rad, period_s, cutoff_hz))
        smooth_velocities.append(_lowpass(rec.velocity_rad_s, period_s, cutoff_hz))
        candidates = np.arange(0, len(rec) - horizon, stride)
        starts.append(index + candidates[rec.timed[candidates]])
        index += len(rec)
        offset = float(cmd[-1]) + _GAP_S
    k = np.concatenate(knots)
    u = np.concatenate(torques)
    # U at each knot: the integral of the piecewise-constant torque (u[i] holds on [k[i], k[i+1])).
    cumulative = np.concatenate([[0.0], np.cumsum(u[:-1] * np.diff(k))])
    return _Timeline(
        knots_s=k,
        cumulative_nm_s=cumulative,
        sample_s=np.concatenate(samples),
        angle_rad=np.concatenate(angles),
        velocity_rad_s=np.concatenate(velocities),
        start_angle_rad=np.concatenate(smooth_angles),
        start_velocity_rad_s=np.concatenate(smooth_velocities),
        timed=np.concatenate(timed),
        starts=np.concatenate(starts).astype(np.int64),
    )


def _step_count(timeline: _Timeline, physics_dt_s: float) -> int:
    gaps = np.diff(timeline.sample_s)
    largest = float(np.max(gaps[gaps < _GAP_S / 2])) if np.any(gaps < _GAP_S / 2) else 0.0
    return max(1, math.ceil(largest / physics_dt_s - 1e-9))


def _simulate(
    ratios: FloatArray,
    timeline: _Timeline,
    starts: npt.NDArray[np.int64],
    horizon: int,
    substeps: int,
) -> tuple[FloatArray, FloatArray]:
    """From the measured state at each of ``starts``, simulate ``horizon`` sample intervals.

    Returns predicted angles and velocities, shape ``(horizon, len(starts))``, at samples
    ``starts + 1 .. starts + horizon``.
    """
    a, beta, gamma, delta, phi, latency_s = (float(v) for v in ratios)
    theta = timeline.start_angle_rad[starts].copy()
    omega = timeline.start_velocity_rad_s[starts].copy()
    angles = np.empty((horizon, len(starts)))
    velocities = np.empty((horizon, len(starts)))
    ts = timeline.sample_s
    # Every step's edges, (horizon, substeps + 1, segments), then the mean commanded torque
    # over each step in one interpolation: U(t - L) differenced, divided by the step.
    t0 = np.stack([ts[starts + h] for h in range(horizon)])
    dts = (np.stack([ts[starts + h + 1] for h in range(horizon)]) - t0) / substeps
    edges = t0[:, None, :] + np.arange(substeps + 1)[None, :, None] * dts[:, None, :]
    integral = timeline.torque_integral(edges - latency_s)
    torques = np.diff(integral, axis=1) / dts[:, None, :]
    drive = beta * torques + gamma
    for h in range(horizon):
        dt = dts[h]
        decay = 1.0 - delta * dt
        # Coulomb friction as PyBullet applies it: a velocity motor (target 0) whose impulse
        # is limited to friction * dt; it stops the joint if that is enough.
        limit = phi * dt
        for m in range(substeps):
            omega = omega * decay + dt * (a * np.sin(theta) + drive[h, m])
            omega = np.sign(omega) * np.maximum(np.abs(omega) - limit, 0.0)
            theta = theta + dt * omega
        angles[h], velocities[h] = theta, omega
    return angles, velocities


def simulate_recording(
    ratios: FloatArray, recording: Recording, physics_dt_s: float
) -> tuple[FloatArray, FloatArray]:
    """Re-simulate a whole recording from its first measured state (for the overlay plot)."""
    timeline = _timeline([recording], 0)
    substeps = _step_count(timeline, physics_dt_s)
    angles, velocities = _simulate(ratios, timeline, np.array([0]), len(recording) - 1, substeps)
    return (
        np.concatenate([[recording.angle_rad[0]], angles[:, 0]]),
        np.concatenate([[recording.velocity_rad_s[0]], velocities[:, 0]]),
    )


# --- the two estimators -------------------------------------------------------------------


@dataclass(frozen=True)
class RatioFit:
    """Fitted ratios (see :data:`RATIO_NAMES`), their covariance, and the fit's quality."""

    method: str
    ratios: FloatArray
    covariance: FloatArray
    rms_angle_rad: float
    rms_velocity_rad_s: float
    explained: float  # share of the measured velocity change the model explains (R^2)
    residual_count: int

    @property
    def std(self) -> FloatArray:
        return np.sqrt(np.clip(np.diag(self.covariance), 0.0, None))


def _lowpass(x: FloatArray, period_s: float, cutoff_hz: float) -> FloatArray:
    from scipy.signal import butter, filtfilt

    nyquist = 0.5 / period_s
    b, a = butter(2, min(cutoff_hz / nyquist, 0.95))
    return np.asarray(filtfilt(b, a, x))


def fit_filtered_derivatives(
    recordings: Sequence[Recording],
    *,
    cutoff_hz: float = 4.0,
    max_latency_s: float = 0.03,
    latency_step_s: float = 0.0005,
) -> RatioFit:
    """Linear least squares on low-passed derivatives, latency by grid search."""
    rows: list[tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, float]]
    rows = []
    for rec in recordings:
        period_s = float(np.median(np.diff(rec.sample_s)))
        omega = _lowpass(rec.velocity_rad_s, period_s, cutoff_hz)
        accel = np.asarray(np.gradient(omega, rec.sample_s), dtype=np.float64)
        theta = _lowpass(rec.angle_rad, period_s, cutoff_hz)
        rows.append((rec.sample_s, rec.command_s, rec.torque_nm, theta, omega, accel, period_s))
    best: tuple[float, FloatArray, FloatArray, FloatArray, float] | None = None
    for latency_s in np.arange(0.0, max_latency_s + 1e-12, latency_step_s):
        design, target = [], []
        for sample_s, command_s, torque, theta, omega, accel, period_s in rows:
            # The torque acting at each sample, through the same filter as the rest.
            idx = np.searchsorted(command_s + latency_s, sample_s, side="right") - 1
            acting = np.where(idx >= 0, torque[np.clip(idx, 0, None)], 0.0)
            acting = _lowpass(acting, period_s, cutoff_hz)
            edge = 10  # filter start-up at both ends
            sl = slice(edge, len(sample_s) - edge)
            design.append(
                np.column_stack(
                    [
                        np.sin(theta[sl]),
                        acting[sl],
                        np.ones_like(theta[sl]),
                        -omega[sl],
                        -np.tanh(omega[sl] / 0.05),
                    ]
                )
            )
            target.append(accel[sl])
        x_mat, y = np.vstack(design), np.concatenate(target)
        coef, *_ = np.linalg.lstsq(x_mat, y, rcond=None)
        residual = y - x_mat @ coef
        sse = float(residual @ residual)
        if best is None or sse < best[0]:
            best = (sse, coef, x_mat, y, float(latency_s))
    assert best is not None
    sse, coef, x_mat, y, latency_s = best
    dof = max(len(y) - len(coef), 1)
    sigma2 = sse / dof
    cov = np.zeros((6, 6))
    cov[:5, :5] = sigma2 * np.linalg.pinv(x_mat.T @ x_mat)
    cov[5, 5] = (latency_step_s / 2.0) ** 2
    explained = 1.0 - sse / max(float(np.sum((y - y.mean()) ** 2)), 1e-300)
    return RatioFit(
        method="filtered-derivatives",
        ratios=np.concatenate([coef, [latency_s]]),
        covariance=cov,
        rms_angle_rad=math.nan,
        rms_velocity_rad_s=math.nan,
        explained=explained,
        residual_count=len(y),
    )


def fit_prediction_error(
    recordings: Sequence[Recording],
    *,
    physics_dt_s: float = 0.001,
    horizon: int = 20,
    initial: FloatArray | None = None,
    max_latency_s: float = 0.1,
) -> RatioFit:
    """Multiple-shooting prediction-error fit (see the module's docstring). A segment starts
    every ``horizon // 4`` samples, so each sample is compared about four times."""
    from scipy.optimize import least_squares

    stride = max(1, horizon // 4)
    timeline = _timeline(recordings, horizon, stride)
    substeps = _step_count(timeline, physics_dt_s)
    starts = timeline.starts
    measured_angle = np.stack([timeline.angle_rad[starts + h + 1] for h in range(horizon)])
    measured_velocity = np.stack([timeline.velocity_rad_s[starts + h + 1] for h in range(horizon)])
    compared = np.stack([timeline.timed[starts + h + 1] for h in range(horizon)]).astype(float)
    if initial is None:
        initial = fit_filtered_derivatives(recordings).ratios
    x0 = np.array(initial, dtype=np.float64)
    x0[0] = max(x0[0], 1e-3)
    x0[1] = max(x0[1], 1e-3)
    x0[3] = max(x0[3], 0.0)
    x0[4] = max(x0[4], 0.0)
    x0[5] = float(np.clip(x0[5], 0.0, max_latency_s))
    lower = np.array([1e-6, 1e-6, -np.inf, 0.0, 0.0, 0.0])
    upper = np.array([np.inf, np.inf, np.inf, np.inf, np.inf, max_latency_s])
    x0 = np.clip(x0, lower, upper)
    scale = np.array([abs(x0[0]), abs(x0[1]), 0.1 * abs(x0[1]) + 1e-3, 0.1, 0.1, 0.005])

    def residuals(x: FloatArray, w_angle: float, w_velocity: float) -> FloatArray:
        angles, velocities = _simulate(x, timeline, starts, horizon, substeps)
        return np.concatenate(
            [
                (compared * (angles - measured_angle) / w_angle).ravel(),
                (compared * (velocities - measured_velocity) / w_velocity).ravel(),
            ]
        )

    count = max(float(compared.sum()), 1.0)  # residuals compared, per channel
    period_s = float(np.median(np.diff(recordings[0].sample_s)))
    weights = (period_s, 1.0)
    result = None
    for _ in range(2):  # second pass: each channel weighted by its own residual spread
        result = least_squares(
            residuals, x0, bounds=(lower, upper), x_scale=scale, args=weights, method="trf"
        )
        x0 = result.x
        n = result.fun.size // 2
        weights = (
            max(weights[0] * float(np.sqrt(np.sum(result.fun[:n] ** 2) / count)), 1e-9),
            max(weights[1] * float(np.sqrt(np.sum(result.fun[n:] ** 2) / count)), 1e-9),
        )
    assert result is not None
    angles, velocities = _simulate(result.x, timeline, starts, horizon, substeps)
    r = residuals(result.x, *weights)
    jac = result.jac
    dof = max(2.0 * count - len(result.x), 1.0)
    sigma2 = float(r @ r) / dof
    cov = sigma2 * (horizon / stride) * np.linalg.pinv(jac.T @ jac)
    last = compared[-1] > 0
    change = (measured_velocity[-1] - timeline.velocity_rad_s[starts])[last]
    predicted_change = (velocities[-1] - timeline.velocity_rad_s[starts])[last]
    explained = 1.0 - float(np.sum((change - predicted_change) ** 2)) / max(
        float(np.sum((change - change.mean()) ** 2)), 1e-300
    )
    return RatioFit(
        method="prediction-error",
        ratios=result.x,
        covariance=cov,
        rms_angle_rad=float(np.sqrt(np.sum(compared * (angles - measured_angle) ** 2) / count)),
        rms_velocity_rad_s=float(
            np.sqrt(np.sum(compared * (velocities - measured_velocity) ** 2) / count)
        ),
        explained=explained,
        residual_count=int(2 * count),
    )


# --- from ratios to the rig's parameters ---------------------------------------------------

#: The PendulumParams fields identification sets, in report order.
FITTED_FIELDS = (
    "mass_kg",
    "length_m",
    "joint_damping_nm_s_rad",
    "joint_friction_nm",
    "torque_scale",
    "torque_offset_nm",
    "action_latency_s",
)


@dataclass(frozen=True)
class Anchor:
    """The one number motion cannot give: a known mass, or else a known torque scale."""

    gravity_m_s2: float = 9.81
    mass_kg: float | None = None
    torque_scale: float = 1.0

    def describe(self) -> str:
        if self.mass_kg is not None:
            return f"mass {self.mass_kg:g} kg given (weighed)"
        return f"torque scale {self.torque_scale:g} assumed (motor constant trusted)"


def physical_values(ratios: FloatArray, anchor: Anchor, write_delay_s: float) -> FloatArray:
    """``FITTED_FIELDS`` values, then pivot inertia and gravity torque m g l_c, from ratios."""
    a, beta, gamma, delta, phi, latency_s = (float(v) for v in ratios)
    length_m = 3.0 * anchor.gravity_m_s2 / (2.0 * a)
    if anchor.mass_kg is not None:
        inertia = anchor.mass_kg * length_m**2 / 3.0
        scale = beta * inertia
    else:
        scale = anchor.torque_scale
        inertia = scale / beta
    mass_kg = 3.0 * inertia / length_m**2
    return np.array(
        [
            mass_kg,
            length_m,
            delta * inertia,
            phi * inertia,
            scale,
            gamma * inertia,
            latency_s - write_delay_s,
            inertia,
            a * inertia,
        ]
    )


#: Rows of :func:`physical_values` after the fields: derived figures worth printing.
DERIVED_NAMES = ("pivot_inertia_kg_m2", "gravity_torque_nm")


@dataclass(frozen=True)
class Identification:
    """The result of :func:`identify`: the rig's parameters with one-sigma uncertainties."""

    params: PendulumParams
    std: dict[str, float]
    derived: dict[str, tuple[float, float]]
    fit: RatioFit
    anchor: Anchor
    write_delay_s: float
    files: tuple[str, ...]
    duration_s: float
    notes: tuple[str, ...] = field(default=())


def _physical(fit: RatioFit, anchor: Anchor, write_delay_s: float) -> tuple[FloatArray, FloatArray]:
    values = physical_values(fit.ratios, anchor, write_delay_s)
    jac = np.empty((len(values), len(fit.ratios)))
    for j, x in enumerate(fit.ratios):
        step = 1e-6 * max(abs(x), 1e-3)
        shifted = fit.ratios.copy()
        shifted[j] = x + step
        jac[:, j] = (physical_values(shifted, anchor, write_delay_s) - values) / step
    std = np.sqrt(np.clip(np.diag(jac @ fit.covariance @ jac.T), 0.0, None))
    return values, std


def _require_a_pendulum(fit: RatioFit, min_explained: float) -> None:
    a, beta = fit.ratios[0], fit.ratios[1]
    sa, sb = fit.std[0], fit.std[1]
    resolved = a > MIN_SIGNIFICANCE * sa and beta > MIN_SIGNIFICANCE * sb
    if not (fit.explained >= min_explained and resolved):
        raise IdentificationError(
            f"the model explains only {max(fit.explained, 0.0):.0%} of the motion (gravity "
            f"{a:.3g} +- {sa:.2g}, torque gain {beta:.3g} +- {sb:.2g} per I): this is not a "
            "pendulum answering its torque (noise, or a rig that did not move); check the "
            f"angle sign and the motor, then {RECORD_HINT}"
        )


def identify(
    recordings: Sequence[Recording],
    *,
    base: PendulumParams,
    anchor: Anchor,
    method: str = "prediction-error",
    horizon: int = 20,
) -> Identification:
    """Fit ``recordings`` and return the rig's parameters (the rest taken from ``base``).

    Refuses (:class:`IdentificationError`) a fit that does not explain the motion or leaves
    gravity or the torque gain unresolved: pure noise, or a rig that did not respond.
    """
    if not recordings:
        raise IdentificationError(f"no recording given; {RECORD_HINT}")
    if method not in ("prediction-error", "filtered-derivatives"):
        raise ConfigError(
            f"unknown method {method!r}; use prediction-error or filtered-derivatives"
        )
    fit = fit_filtered_derivatives(recordings)
    # The linear fit starts the nonlinear one; when it finds no pendulum at all (noise), refuse
    # now rather than let the nonlinear fit wander.
    _require_a_pendulum(fit, MIN_EXPLAINED / 2)
    if method == "prediction-error":
        fit = fit_prediction_error(
            recordings, physics_dt_s=base.physics_dt_s, horizon=horizon, initial=fit.ratios
        )
    _require_a_pendulum(fit, MIN_EXPLAINED)
    write_delay_s = float(np.median([r.write_delay_s for r in recordings]))
    values, std = _physical(fit, anchor, write_delay_s)
    n = len(FITTED_FIELDS)
    changes = dict(zip(FITTED_FIELDS, (float(v) for v in values[:n]), strict=True))
    notes: list[str] = []
    for name in ("joint_damping_nm_s_rad", "joint_friction_nm", "action_latency_s"):
        if changes[name] < 0.0:
            notes.append(f"{name} fitted {changes[name]:.3g} (< 0), written as 0")
            changes[name] = 0.0
    params = base.with_changes(gravity_m_s2=anchor.gravity_m_s2, **changes)
    return Identification(
        params=params,
        std=dict(zip(FITTED_FIELDS, (float(s) for s in std[:n]), strict=True)),
        derived={
            name: (float(values[n + i]), float(std[n + i])) for i, name in enumerate(DERIVED_NAMES)
        },
        fit=fit,
        anchor=anchor,
        write_delay_s=write_delay_s,
        files=tuple(r.name for r in recordings),
        duration_s=float(sum(r.duration_s for r in recordings)),
        notes=tuple(notes),
    )
