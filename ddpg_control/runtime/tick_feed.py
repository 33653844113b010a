"""A copy of every tick for live viewers and logs, kept off the control loop's time.

:class:`TickFeed` is a :class:`~ddpg_control.runtime.telemetry.TelemetrySink` that wraps the
run's own sink (the CSV writer, the primary record): each row goes to that sink first; then the
feed adds what the CSV does not hold (the velocity as read before the estimator, the safety
layer's flags), formats the tick as one JSON message by a format string (numbers as the CSV
writes them, ``%.9g``; a few microseconds, after the tick's torque is written) and puts it in a
queue (a C ``SimpleQueue``: under a microsecond). A thread of its own hands each message to an
:class:`Outlet` (a Foxglove WebSocket server, an MCAP file). The loop never waits for it: when
the thread is ``max_pending`` messages behind, further ones are dropped and counted, never the
tick (in virtual time, ``wait_when_behind``, the loop waits instead, as nothing is late there).

Why the work is split so (as for the CSV writer): formatting in the thread would hold the
interpreter lock there, 10-15 us a tick, which the loop waits for when it wakes, and which a
thread without the loop's real-time priority may hold while it is descheduled. The thread is
left only the hand-over to the outlet (a call into foxglove-sdk's Rust core, a few
microseconds), done in the slack after the tick that made the message; it gives the lock back
between messages, so the loop waking from its sleep finds it free within microseconds, well
inside the loop's busy-wait margin. Every ``flush_interval_s`` of run time it asks the outlet to
flush (an MCAP file then ends its chunk, so a process killed later still leaves every chunk
before it).

Status messages (a few a second: rate achieved, missed deadlines, lateness, link counters,
rows dropped, faults) take the same path from the loop's status callback and are encoded in the
thread; a last one, with how the run ended, goes out from :meth:`TickFeed.finish` after the loop
is over.

Channels: :data:`TICK_TOPIC` with :data:`TICK_SCHEMA` and :data:`STATUS_TOPIC` with
:data:`STATUS_SCHEMA` (JSON schemas, so a viewer plots the fields without set-up).
Standard library only.
"""

from __future__ import annotations

import json
import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ddpg_control.runtime.contracts import JointState
from ddpg_control.runtime.errors import TelemetryError
from ddpg_control.runtime.telemetry import TelemetrySink
from ddpg_control.runtime.validation import require, require_positive

if TYPE_CHECKING:
    from ddpg_control.runtime.control_loop import LoopStatus, Observer

log = logging.getLogger(__name__)

TICK_TOPIC = "/tick"
STATUS_TOPIC = "/status"

DEFAULT_MAX_PENDING = 4096
DEFAULT_FLUSH_INTERVAL_S = 0.5

_NUMBER = {"type": ["number", "null"]}

#: One message per tick. Times in seconds; ``time_s`` from the run's first deadline.
TICK_FIELDS: dict[str, str] = {
    "time_s": "when the tick started, s since the run's first deadline",
    "angle_rad": "joint angle read (0 = upright, counter-clockwise positive)",
    "velocity_rad_s": "velocity the policy saw (the estimator's, when it has one)",
    "velocity_observed_rad_s": "velocity as the plant reported it (null: it reports none)",
    "torque_cmd_nm": "torque the policy asked for, N*m",
    "torque_sent_nm": "torque the safety layer let through to the plant, N*m",
    "torque_clipped": "the torque asked was beyond the torque limit",
    "slew_limited": "the slew limit held the torque back",
    "read_s": "time spent reading the plant",
    "infer_s": "time spent building the observation and asking the policy",
    "write_s": "time spent in the safety layer and writing the plant",
    "lateness_s": "tick start minus its deadline",
}
_FLAGS = ("torque_clipped", "slew_limited")
#: The numbers of a tick, in the order the feed queues them; then the flags.
_TICK_NUMBERS = tuple(name for name in TICK_FIELDS if name not in _FLAGS)
_TICK_FORMAT = (
    "{"
    + ",".join([f'"{name}":%.9g' for name in _TICK_NUMBERS] + [f'"{name}":%s' for name in _FLAGS])
    + "}"
)
_JSON_BOOL = {False: "false", True: "true"}

TICK_SCHEMA: dict[str, Any] = {
    "title": "ddpg_control.Tick",
    "type": "object",
    "properties": {
        name: {"type": "boolean", "description": text}
        if name in _FLAGS
        else {**_NUMBER, "description": text}
        for name, text in TICK_FIELDS.items()
    },
}

STATUS_SCHEMA: dict[str, Any] = {
    "title": "ddpg_control.Status",
    "type": "object",
    "properties": {
        "state": {"type": "string", "description": "running, or how the run ended"},
        "elapsed_s": _NUMBER,
        "ticks": {"type": "integer"},
        "rate_hz": {**_NUMBER, "description": "ticks per second since the last status"},
        "rate_asked_hz": _NUMBER,
        "missed_deadlines": {"type": "integer"},
        "missed_percent": _NUMBER,
        "lateness_p99_s": {**_NUMBER, "description": "over the ticks since the last status"},
        "angle_rad": _NUMBER,
        "torque_nm": _NUMBER,
        "feed_dropped": {"type": "integer", "description": "ticks this feed could not publish"},
        "telemetry_dropped": {"type": "integer", "description": "CSV rows dropped (disk slow)"},
        "link": {
            "type": "object",
            "description": "the device link's counters (empty on the simulator)",
            "additionalProperties": {"type": "integer"},
        },
        "faults": {"type": "array", "items": {"type": "string"}},
    },
}


class Outlet(Protocol):
    """Where encoded messages go (see :mod:`ddpg_control.pipeline.foxglove_view`). ``publish``
    is called from the feed's thread only and must never wait for a slow reader."""

    def publish(self, topic: str, log_time_ns: int, data: bytes) -> None: ...

    def flush(self) -> None: ...


class VelocityTap:
    """An observer for the loop that remembers the velocity as read, before ``inner`` (the
    policy's velocity estimator, if any) replaces it."""

    def __init__(self, inner: Observer | None) -> None:
        self._inner = inner
        self.velocity_rad_s = math.nan

    def __call__(self, state: JointState) -> JointState:
        self.velocity_rad_s = state.velocity_rad_s
        return state if self._inner is None else self._inner(state)


@dataclass(frozen=True)
class FeedConfig:
    """``torque_limit_nm`` is the safety layer's, for the flags; ``period_s`` the loop's; the
    rest says how far the feed may fall behind and how often the outlet flushes."""

    torque_limit_nm: float
    period_s: float
    max_pending: int = DEFAULT_MAX_PENDING
    flush_interval_s: float = DEFAULT_FLUSH_INTERVAL_S
    wait_when_behind: bool = False

    def __post_init__(self) -> None:
        require_positive("torque_limit_nm", self.torque_limit_nm)
        require_positive("period_s", self.period_s)
        require(self.max_pending >= 1, f"max_pending must be >= 1, got {self.max_pending!r}")
        require_positive("flush_interval_s", self.flush_interval_s)


class TickFeed:
    """Tees the loop's rows to ``sink`` and, through a thread, to ``outlet``; see the module
    docstring. :meth:`open` starts the thread; :meth:`close` (the loop calls it) drains it
    and closes ``sink``; :meth:`finish` publishes the last status."""

    def __init__(
        self,
        sink: TelemetrySink,
        outlet: Outlet,
        config: FeedConfig,
        *,
        tap: VelocityTap | None = None,
        on_status: Callable[[LoopStatus], None] | None = None,
        link_stats: Callable[[], Mapping[str, int]] | None = None,
        complete_log: str | None = None,
    ) -> None:
        self._sink = sink
        self._outlet = outlet
        self.config = config
        self._tap = tap
        self._on_status = on_status
        self._link_stats = link_stats
        self._complete_log = complete_log
        self._torque_limit_nm = config.torque_limit_nm
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.ticks_recorded = 0
        self.ticks_dropped = 0
        self.ticks_published = 0
        self.publish_errors = 0  # of any message, and of flushes
        self._anchor_ns: int | None = None
        self._flush_due_s = config.flush_interval_s
        self._last_status: dict[str, Any] = {}

    def open(self) -> TickFeed:
        self._thread = threading.Thread(target=self._drain, name="tick feed", daemon=True)
        self._thread.start()
        return self

    # --- the loop's side ---------------------------------------------------------------

    def record(self, *row: float) -> None:
        self._sink.record(*row)
        time_s, angle_rad, velocity_rad_s, torque_cmd_nm, torque_sent_nm = row[:5]
        self.ticks_recorded += 1
        tap, limit = self._tap, self._torque_limit_nm
        observed = velocity_rad_s if tap is None else tap.velocity_rad_s
        clipped = abs(torque_cmd_nm) > limit
        slewed = torque_sent_nm != min(max(torque_cmd_nm, -limit), limit)
        tick = (time_s, angle_rad, velocity_rad_s, observed, *row[3:])
        if math.isfinite(angle_rad + velocity_rad_s + observed):  # the rest is always finite
            data = (_TICK_FORMAT % (*tick, _JSON_BOOL[clipped], _JSON_BOOL[slewed])).encode()
        else:
            data = _encode_slowly(tick, (clipped, slewed))
        self._put((time_s, data))

    def on_status(self, status: LoopStatus) -> None:
        """The loop's status callback: passes ``status`` on, then queues it for the outlet."""
        if self._on_status is not None:
            self._on_status(status)
        self._put(status)

    def _put(self, item: Any) -> None:
        q = self._queue
        if q.qsize() >= self.config.max_pending:
            if not self.config.wait_when_behind:
                if isinstance(item, tuple):
                    if not self.ticks_dropped:
                        log.warning("tick feed: the publishing thread fell behind, dropping")
                    self.ticks_dropped += 1
                return
            while q.qsize() >= self.config.max_pending:
                time.sleep(0.0005)
        q.put(item)

    def close(self) -> None:
        """Drain what is queued, flush the outlet, then close the wrapped sink.

        Raises the sink's error, else :class:`TelemetryError` when ``complete_log`` was named
        and rows were dropped or could not be published.
        """
        if self._closed:
            return
        self._closed = True
        try:
            if self._thread is not None:
                self._queue.put(None)
                self._thread.join()
                self._flush()
        finally:
            self._sink.close()
        lost = self.ticks_recorded - self.ticks_published
        if self._complete_log is not None and (lost or self.publish_errors):
            raise TelemetryError(
                f"{self._complete_log} misses {lost} of {self.ticks_recorded} ticks and had "
                f"{self.publish_errors} write errors (the publishing thread fell behind or "
                "failed); the CSV holds every tick"
            )

    def finish(self, state: str, faults: list[str]) -> None:
        """After the loop: publish a last status saying how the run ended, and flush."""
        message = {**self._last_status, "state": state, "faults": faults}
        message["feed_dropped"] = self.ticks_dropped
        message.setdefault("ticks", self.ticks_recorded)
        time_ns = self._log_time_ns(message.get("elapsed_s") or 0.0)
        self._publish(STATUS_TOPIC, time_ns, _encode(message))
        self._flush()

    # --- the thread's side -------------------------------------------------------------

    def _drain(self) -> None:
        get = self._queue.get
        while (item := get()) is not None:
            if isinstance(item, tuple):
                time_s, data = item
                if self._publish(TICK_TOPIC, self._log_time_ns(time_s), data):
                    self.ticks_published += 1
                if time_s >= self._flush_due_s:
                    self._flush()
                    self._flush_due_s = time_s + self.config.flush_interval_s
            else:
                message = self._status_message(item)
                self._last_status = message
                self._publish(STATUS_TOPIC, self._log_time_ns(item.elapsed_s), _encode(message))

    def _log_time_ns(self, time_s: float) -> int:
        """Wall-clock nanoseconds for a run time: anchored at the first message published."""
        offset_ns = round(time_s * 1e9)
        if self._anchor_ns is None:
            self._anchor_ns = time.time_ns() - offset_ns
        return self._anchor_ns + offset_ns

    def _status_message(self, s: LoopStatus) -> dict[str, Any]:
        scheduled = s.ticks + s.missed_deadlines
        dropped = getattr(self._sink, "rows_dropped", 0)
        return {
            "state": "running",
            "elapsed_s": s.elapsed_s,
            "ticks": s.ticks,
            "rate_hz": s.rate_hz,
            "rate_asked_hz": 1.0 / self.config.period_s,
            "missed_deadlines": s.missed_deadlines,
            "missed_percent": 100.0 * s.missed_deadlines / scheduled if scheduled else 0.0,
            "lateness_p99_s": s.lateness_p99_s,
            "angle_rad": s.angle_rad,
            "torque_nm": s.torque_nm,
            "feed_dropped": self.ticks_dropped,
            "telemetry_dropped": dropped if isinstance(dropped, int) else 0,
            "link": dict(self._link_stats()) if self._link_stats is not None else {},
            "faults": [],
        }

    def _publish(self, topic: str, log_time_ns: int, data: bytes) -> bool:
        try:
            self._outlet.publish(topic, log_time_ns, data)
        except Exception as exc:  # a viewer's failure never stops the run; close() says so
            if not self.publish_errors:
                log.error("tick feed: publishing on %s failed: %s", topic, exc)
            self.publish_errors += 1
            return False
        return True

    def _flush(self) -> None:
        try:
            self._outlet.flush()
        except Exception as exc:
            log.error("tick feed: flushing failed: %s", exc)
            self.publish_errors += 1


def _encode_slowly(row: tuple[float, ...], flags: tuple[bool, bool]) -> bytes:
    """A tick's JSON when a value is not finite (null), numbers as the CSV writes them."""
    message: dict[str, Any] = {
        name: float(f"{value:.9g}") for name, value in zip(_TICK_NUMBERS, row, strict=True)
    }
    message.update(zip(_FLAGS, flags, strict=True))
    return _encode(message)


def _encode(message: dict[str, Any]) -> bytes:
    """JSON bytes; a non-finite number (JSON has none) becomes null."""
    try:
        return json.dumps(message, allow_nan=False, separators=(",", ":")).encode()
    except ValueError:
        clean = {k: _finite_or_none(v) for k, v in message.items()}
        return json.dumps(clean, separators=(",", ":")).encode()


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
