"""The real-time control loop: read -> observation -> policy -> safety -> write, at a fixed rate.

:func:`run_loop` drives any :class:`~ddpg_control.runtime.contracts.Plant` with any
:class:`~ddpg_control.runtime.contracts.Policy` on any
:class:`~ddpg_control.runtime.contracts.Clock`
(the real monotonic clock, or a simulated one for tests in virtual time). Each tick is timed
stage by stage; its row goes to a
:class:`~ddpg_control.runtime.telemetry.TelemetrySink` (kept in memory unless the caller
passes one, e.g. a :class:`~ddpg_control.runtime.telemetry_writer.TelemetryWriter` that
streams to a file) and its figures to the run's
:class:`~ddpg_control.runtime.run_statistics.RunStatistics`, so the end-of-run summary needs
no row kept in memory.

Every way out of the loop (the duration is over, Ctrl-C, SIGTERM, an exception, a plant fault,
a safety stop) commands zero torque, closes the plant, then closes the telemetry sink, and
returns a :class:`LoopResult` saying why it ended. Torques reach the plant only through the
:class:`~ddpg_control.runtime.safety.SafetyLayer`, which the loop builds itself.

This module imports numpy and the project's torch-free leaves only: never torch.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import math
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import FrameType

import numpy as np

from ddpg_control.runtime.contracts import Clock, JointState, Plant, Policy, make_observation
from ddpg_control.runtime.errors import PlantError, SafetyStop
from ddpg_control.runtime.run_statistics import RunStatistics
from ddpg_control.runtime.safety import SafetyLayer, SafetyLimits
from ddpg_control.runtime.telemetry import RunSummary, Telemetry, TelemetryRecorder, TelemetrySink
from ddpg_control.runtime.timing import Ticker
from ddpg_control.runtime.validation import require, require_positive

log = logging.getLogger(__name__)


class ExitReason(enum.Enum):
    """Why the loop ended, with the process exit code the CLI uses for it."""

    COMPLETED = "completed"
    INTERRUPTED = "interrupted"
    TERMINATED = "terminated"
    SAFETY_STOP = "safety stop"
    PLANT_FAULT = "plant fault"
    ERROR = "error"

    @property
    def exit_code(self) -> int:
        return _EXIT_CODES[self]


_EXIT_CODES = {
    ExitReason.COMPLETED: 0,
    ExitReason.ERROR: 1,
    ExitReason.PLANT_FAULT: PlantError.exit_code,
    ExitReason.SAFETY_STOP: SafetyStop.exit_code,
    ExitReason.INTERRUPTED: 130,
    ExitReason.TERMINATED: 143,
}


class StopRequest:
    """A thread- and signal-safe request to end the loop after the current tick."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ExitReason.INTERRUPTED
        self.shutting_down = False

    def request(self, reason: ExitReason = ExitReason.INTERRUPTED) -> None:
        if not self._event.is_set():
            self.reason = reason
            self._event.set()

    @property
    def requested(self) -> bool:
        return self._event.is_set()


@contextlib.contextmanager
def stop_on_signals(stop: StopRequest) -> Iterator[None]:
    """Turn SIGINT/SIGTERM into a stop request while inside the block (main thread only).

    The first Ctrl-C asks the loop to stop after the current tick; a second one raises
    KeyboardInterrupt, to get out of a plant call that hangs (the loop still zeroes torque).
    """

    def handle(signum: int, frame: FrameType | None) -> None:
        if stop.shutting_down:
            return
        if signum == signal.SIGINT and stop.requested:
            raise KeyboardInterrupt
        stop.request(ExitReason.INTERRUPTED if signum == signal.SIGINT else ExitReason.TERMINATED)

    old_int = signal.signal(signal.SIGINT, handle)
    old_term = signal.signal(signal.SIGTERM, handle)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)


@dataclass(frozen=True)
class LoopConfig:
    """How to run: the period, for how long (None: until stopped), safety limits, status rate.

    ``warm_up_calls`` policy calls are made before the first tick (no plant involved), because
    an inference runtime's first calls are much slower than the rest.
    """

    period_s: float
    duration_s: float | None = None
    limits: SafetyLimits = field(default_factory=SafetyLimits)
    status_interval_s: float = 0.25
    warm_up_calls: int = 3

    def __post_init__(self) -> None:
        require_positive("period_s", self.period_s)
        if self.duration_s is not None:
            require_positive("duration_s", self.duration_s)
        require(self.warm_up_calls >= 0, f"warm_up_calls must be >= 0, got {self.warm_up_calls!r}")
        require_positive("status_interval_s", self.status_interval_s)


@dataclass(frozen=True, slots=True)
class LoopStatus:
    """A live snapshot for people watching (sent every ``status_interval_s``)."""

    elapsed_s: float
    ticks: int
    missed_deadlines: int
    rate_hz: float
    lateness_p99_s: float
    angle_rad: float
    torque_nm: float


@dataclass(frozen=True)
class LoopResult:
    """How a run ended and what it recorded.

    ``telemetry`` holds every row when :func:`run_loop` was given no sink (it kept them in
    memory); otherwise it is None and the rows are where the sink put them.
    """

    reason: ExitReason
    message: str
    ticks: int
    missed_deadlines: int
    period_s: float
    torque_limit_nm: float
    statistics: RunStatistics
    telemetry: Telemetry | None = None
    error: BaseException | None = None

    @property
    def exit_code(self) -> int:
        return self.reason.exit_code

    def summary(self) -> RunSummary:
        return self.statistics.summary(self.missed_deadlines, self.period_s)


StatusCallback = Callable[[LoopStatus], None]
#: Turns a plant's reading into the state the observation is built from (e.g. a velocity
#: estimator, :class:`~ddpg_control.runtime.velocity_estimation.EstimatingObserver`).
Observer = Callable[[JointState], JointState]


def run_loop(
    plant: Plant,
    policy: Policy,
    clock: Clock,
    config: LoopConfig,
    *,
    telemetry: TelemetrySink | None = None,
    stop: StopRequest | None = None,
    on_status: StatusCallback | None = None,
    observer: Observer | None = None,
) -> LoopResult:
    """Run the loop until the duration is over or something stops it; always end at zero torque.

    The plant is stopped and closed on every exit path, including when this function is
    interrupted by an exception; then ``telemetry`` (default: a new in-memory
    :class:`TelemetryRecorder`) is closed, so every recorded row is where the sink promises.
    Unexpected errors are returned as ``ExitReason.ERROR``; a sink that fails to close adds a
    warning to the message. ``observer`` (if given) turns each reading into the state that the
    safety checks, the observation and the telemetry use (the policy's velocity estimator).
    """
    stop = stop or StopRequest()
    kept: TelemetryRecorder | None = None
    if telemetry is None:
        kept = telemetry = TelemetryRecorder()
    statistics = RunStatistics()
    safety: SafetyLayer | None = None
    ticker: Ticker | None = None
    reason = ExitReason.COMPLETED
    message = "ran for the whole duration"
    error: BaseException | None = None
    try:
        safety = SafetyLayer.for_loop(
            policy.max_torque_nm, plant.max_torque_nm, config.period_s, config.limits
        )
        for _ in range(config.warm_up_calls):  # first inferences are slow; keep them off the grid
            policy(make_observation(math.pi, 0.0))
        ticker = Ticker(clock, config.period_s)
        message = _loop(
            plant,
            policy,
            clock,
            config,
            safety,
            ticker,
            telemetry,
            statistics,
            stop,
            on_status,
            observer,
        )
        if stop.requested:
            reason = stop.reason
    except KeyboardInterrupt:
        reason, message = ExitReason.INTERRUPTED, "interrupted (Ctrl-C)"
    except SafetyStop as exc:
        reason, message, error = ExitReason.SAFETY_STOP, str(exc), exc
    except PlantError as exc:
        reason, message, error = ExitReason.PLANT_FAULT, str(exc), exc
    except Exception as exc:  # any other failure still ends at zero torque
        log.debug("control loop failed", exc_info=True)
        reason, message, error = ExitReason.ERROR, f"{type(exc).__name__}: {exc}", exc
    finally:
        stop.shutting_down = True
        message += _shut_down(plant, safety)
        message += _close_telemetry(telemetry)
    return LoopResult(
        reason=reason,
        message=message,
        ticks=statistics.ticks,
        missed_deadlines=ticker.missed if ticker else 0,
        period_s=config.period_s,
        torque_limit_nm=safety.torque_limit_nm if safety else math.nan,
        statistics=statistics,
        telemetry=kept.freeze() if kept is not None else None,
        error=error,
    )


def _loop(
    plant: Plant,
    policy: Policy,
    clock: Clock,
    config: LoopConfig,
    safety: SafetyLayer,
    ticker: Ticker,
    sink: TelemetrySink,
    statistics: RunStatistics,
    stop: StopRequest,
    on_status: StatusCallback | None,
    observer: Observer | None = None,
) -> str:
    start_s = ticker.start_s
    end_s = math.inf if config.duration_s is None else start_s + config.duration_s - 1e-9
    status_due_s = start_s + config.status_interval_s
    status_ticks, status_from_s = 1, start_s  # rate = ticks / time between tick starts
    status_lateness: list[float] = []  # of the ticks since the last status
    while not stop.requested and ticker.next_deadline_s < end_s:
        tick = ticker.wait()
        if tick.deadline_s >= end_s or stop.requested:
            break
        t0 = tick.started_s
        state = plant.read()
        if observer is not None:
            state = observer(state)
        t1 = clock.now()
        if state.status != 0:
            raise PlantError(
                f"the plant reported fault status 0x{state.status:x}: see the plant's "
                "documentation for its status bits, fix the cause, then run again"
            )
        safety.check_state(state)
        torque_cmd_nm = float(policy(make_observation(state.angle_rad, state.velocity_rad_s)))
        t2 = clock.now()
        torque_sent_nm = safety.apply(plant, torque_cmd_nm)
        t3 = clock.now()
        time_s, read_s, infer_s, write_s = t0 - start_s, t1 - t0, t2 - t1, t3 - t2
        lateness_s = tick.lateness_s
        statistics.record(time_s, state.angle_rad, read_s, infer_s, write_s, lateness_s)
        sink.record(
            time_s,
            state.angle_rad,
            state.velocity_rad_s,
            torque_cmd_nm,
            torque_sent_nm,
            read_s,
            infer_s,
            write_s,
            lateness_s,
        )
        if on_status is None:
            continue
        status_lateness.append(lateness_s)
        if t3 >= status_due_s:
            ticks = statistics.ticks
            n = ticks - status_ticks
            lateness = status_lateness[-max(n, 1) :]
            on_status(
                LoopStatus(
                    elapsed_s=t3 - start_s,
                    ticks=ticks,
                    missed_deadlines=ticker.missed,
                    rate_hz=n / (t0 - status_from_s) if t0 > status_from_s else math.nan,
                    lateness_p99_s=float(np.percentile(lateness, 99.0)),
                    angle_rad=state.angle_rad,
                    torque_nm=torque_sent_nm,
                )
            )
            status_ticks, status_from_s = ticks, t0
            status_due_s = t3 + config.status_interval_s
            status_lateness.clear()
    if stop.requested:
        return "stopped by " + ("Ctrl-C" if stop.reason is ExitReason.INTERRUPTED else "SIGTERM")
    return f"ran for the whole duration ({config.duration_s:g} s)"


def _shut_down(plant: Plant, safety: SafetyLayer | None) -> str:
    """Zero torque, then close. Returns text to append to the exit message if either failed."""
    problems = ""
    try:
        if safety is not None:
            safety.stop(plant)
        else:
            plant.stop()
    except BaseException as exc:  # noqa: BLE001 - report, then still try to close
        log.error("could not command zero torque: %s", exc)
        problems += f"; WARNING: zero torque could not be commanded ({exc})"
    try:
        plant.close()
    except BaseException as exc:  # noqa: BLE001
        log.error("could not close the plant: %s", exc)
        problems += f"; closing the plant failed ({exc})"
    return problems


def _close_telemetry(sink: TelemetrySink) -> str:
    """Close the sink (after the plant). Returns text to append to the exit message if it failed."""
    try:
        sink.close()
    except BaseException as exc:  # noqa: BLE001 - the run's result is still reported
        log.error("telemetry: %s", exc)
        return f"; WARNING: {exc}"
    return ""
