"""The one emulator every driver's device model plugs into: a pseudo-terminal (or a loopback TCP
port) served in real time, with the PyBullet pendulum behind the device.

:class:`Emulator` owns everything that is not the vendor's protocol: one thread waits on the port
with ``select`` (until just after the physics' next 1 ms step, so the device's watchdog and
physics run between requests and a request finds the physics up to date), hands
the bytes to the driver's :meth:`Emulator.answer`, queues the replies by their due time (the
device's own reply delay plus any injected latency), drops or corrupts a share of them when
:class:`LinkImpairments` ask, runs the fault schedule and prints the summary line. A driver's
emulator subclasses it with its device model (``device.py``: a pure state machine, no I/O) and
says which faults it can inject.

Speed: the device's time is a :class:`ServeClock`, so the physics takes whole steps on a 1 ms
grid, as the C device's firmware loop does, and a request costs at most one of them; a device's
process calls :func:`freeze_startup_objects` before it serves, so no full garbage collection
stalls a reply. Together they let the emulator answer at 200 Hz and beyond as the C device does.

Faults are a schedule of :class:`ScheduledFault` (``emulate --fault KIND[@SECONDS]``), counted
from the moment the device is first enabled (armed, torque enabled, in closed loop), so a test
does not depend on how long the host took to start. ``silence`` is every driver's: the device
stops answering (the port stays open); what it still hears is the driver's to say.
"""

from __future__ import annotations

import gc
import heapq
import logging
import math
import os
import select
import socket
import threading
import time
import tty
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ddpg_control.runtime.errors import ConfigError, first_line

if TYPE_CHECKING:
    from ddpg_control.runtime.contracts import Plant
    from hardware.drivers import EmulatorOptions

log = logging.getLogger(__name__)

#: The longest the serve loop waits before it runs the device's watchdog and physics again.
POLL_S = 0.001
#: The fault every emulator can inject: the device stops answering.
SILENCE = "silence"


@dataclass(frozen=True, slots=True)
class ScheduledFault:
    """Inject fault ``kind`` ``at_s`` seconds after the device is first enabled."""

    kind: str
    at_s: float = 0.0

    def __post_init__(self) -> None:
        if not self.kind:
            raise ConfigError("a fault needs a kind")
        if not (math.isfinite(self.at_s) and self.at_s >= 0):
            raise ConfigError(f"fault {self.kind} needs a time >= 0 s, got {self.at_s!r}")


@dataclass(frozen=True, slots=True)
class LinkImpairments:
    """What the link does to replies: every reply late, a share dropped, a share with one bit
    flipped. Probabilities are per reply."""

    reply_latency_s: float = 0.0
    drop_reply_probability: float = 0.0
    corrupt_reply_probability: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.reply_latency_s) and self.reply_latency_s >= 0):
            raise ConfigError(f"reply latency must be >= 0 s, got {self.reply_latency_s!r}")
        for name in ("drop_reply_probability", "corrupt_reply_probability"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be in [0, 1], got {value!r}")


class ServeClock:
    """The device's time as its physics sees it: real monotonic time taken once per turn of the
    serve loop (:meth:`latch`), rounded down to a grid of ``step_s``.

    So the physics behind the device (a :class:`~sim.plant.SimPlant` on this clock) takes whole
    steps only, as the C device's 1 ms firmware loop does, and everything the device does in one
    turn (run its watchdog, sample the physics, apply a torque, sample again for the reply) sees
    one instant, as a firmware's interrupt handler does. A request then costs at most one whole
    physics step, and its reply carries the state of the latest step (at most ``step_s`` old).
    """

    def __init__(
        self, step_s: float = POLL_S, *, time_source: Callable[[], float] = time.monotonic
    ) -> None:
        if not (math.isfinite(step_s) and step_s > 0):
            raise ConfigError(f"the device's time step must be > 0 s, got {step_s!r}")
        self.step_s = step_s
        self._time_source = time_source
        self._start_s: float | None = None  # the grid starts at the first reading
        self._now_s = 0.0

    def now(self) -> float:
        """The latest grid point at or before the last :meth:`latch` (the first reading
        latches)."""
        if self._start_s is None:
            self.latch()
        return self._now_s

    def latch(self) -> float:
        """Take the time; return it (real, unrounded) for the device's watchdog and replies."""
        real_s = self._time_source()
        if self._start_s is None:
            self._start_s = real_s
        steps = math.floor((real_s - self._start_s) / self.step_s)
        self._now_s = self._start_s + steps * self.step_s
        return real_s

    def next_step_s(self) -> float:
        """The real time of the grid point after :meth:`now`."""
        return self.now() + self.step_s

    def sleep_until(self, deadline_s: float) -> None:
        time.sleep(max(0.0, deadline_s - self._time_source()))
        self.latch()


def open_raw_pty() -> tuple[int, int, str]:
    """A new pseudo-terminal in raw mode (no echo, no line editing, set before any host opens
    it): ``(master, slave, path)``, the master non-blocking; ``path`` is what a host opens."""
    master, slave = os.openpty()
    tty.setraw(slave)
    os.set_blocking(master, False)
    return master, slave, os.ttyname(slave)


class Emulator(ABC):
    """Serves a device model on a port. ``open()`` returns the path or URL for the host.

    A driver's subclass says which faults it injects beside ``silence`` (:attr:`DEVICE_FAULTS`,
    the registry's ``faults``) and what injecting each does (:meth:`inject`)."""

    DEVICE_FAULTS: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        device: Any,
        *,
        link: LinkImpairments | None = None,
        faults: tuple[ScheduledFault, ...] = (),
        tcp_port: int | None = None,
        seed: int = 0,
        clock: ServeClock | None = None,
    ) -> None:
        self.device = device
        self.clock = clock or ServeClock()
        self.link = link or LinkImpairments()
        self.faults = faults
        self.tcp_port = tcp_port  # None: a pseudo-terminal; 0: any free TCP port
        kinds = self.fault_kinds()
        for fault in faults:
            if fault.kind not in kinds:
                raise ConfigError(
                    f"{type(self).__name__} cannot inject fault {fault.kind!r}: "
                    f"it injects {', '.join(kinds)}"
                )
        self._rng = np.random.default_rng(seed)
        self._injected: set[int] = set()
        self._pending: list[tuple[float, int, bytes]] = []  # (due time, order, frame)
        self._order = 0
        self._master: int | None = None
        self._slave: int | None = None
        self._listener: socket.socket | None = None
        self._conn: socket.socket | None = None
        self.silent = False
        self.disconnected = False
        self.replies_dropped = 0
        self.replies_corrupted = 0

    # -- what a driver provides ----------------------------------------------------------------

    @abstractmethod
    def answer(self, data: bytes, now_s: float) -> list[bytes]:
        """The reply frames to the bytes ``data`` received at ``now_s``."""

    @abstractmethod
    def enabled_at_s(self) -> float | None:
        """When the device was first enabled (the fault schedule's zero); None: not yet."""

    @classmethod
    @abstractmethod
    def device_for(cls, physics: Plant, start_s: float, options: EmulatorOptions) -> Any:
        """The device model ``emulate`` serves with these options, over ``physics``."""

    @abstractmethod
    def inject(self, kind: str, now_s: float) -> None:
        """Inject the device fault ``kind`` (one of :attr:`DEVICE_FAULTS`) at ``now_s``."""

    @abstractmethod
    def summary_fields(self) -> Mapping[str, object]:
        """The counters of the summary line, in order."""

    def reply_delay_s(self) -> float:
        """The device's own delay before it replies (e.g. Dynamixel's Return Delay Time)."""
        return 0.0

    def finished(self) -> bool:
        """True when nothing is left to serve (the loop ends before ``stop``)."""
        return False

    def reset_input(self) -> None:  # noqa: B027 (most devices keep no partial request)
        """A new host connected (TCP): forget any partial request."""

    # -- the port ------------------------------------------------------------------------------

    @classmethod
    def fault_kinds(cls) -> tuple[str, ...]:
        return (SILENCE, *cls.DEVICE_FAULTS)

    def open(self) -> str:
        """Create the port; return what to pass to ``run --device``."""
        if self.tcp_port is None:
            self._master, self._slave, path = open_raw_pty()
            return path
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", self.tcp_port))
            listener.listen(1)
            listener.setblocking(False)
        except OSError:
            listener.close()
            raise
        self._listener = listener
        return f"socket://127.0.0.1:{listener.getsockname()[1]}"

    def close(self) -> None:
        for sock in (self._conn, self._listener):
            if sock is not None:
                sock.close()
        self._conn = self._listener = None
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = None

    def summary(self) -> str:
        return " ".join(f"{key}={value}" for key, value in self.summary_fields().items())

    # -- the loop ------------------------------------------------------------------------------

    def serve(self, stop: threading.Event) -> None:
        """Run until ``stop`` is set, or until :meth:`finished`."""
        while not stop.is_set():
            # wake just after the physics' next whole step, so a request finds it done
            wake_s = self.clock.next_step_s()
            if self._pending:
                wake_s = min(wake_s, self._pending[0][0])
            timeout = min(POLL_S, max(0.0, wake_s - time.monotonic()))
            readable = self._readable()
            if readable:
                ready, _, _ = select.select(readable, [], [], timeout)
            else:
                ready = []
                time.sleep(timeout)
            now = self.clock.latch()
            for source in ready:
                self._receive(source, now)
            self._flush(now)
            self.device.tick(now)
            self._run_schedule(now)
            self._flush(now)
            if self.finished():
                break
        log.info("emulator summary: %s", self.summary())

    def _readable(self) -> list[int | socket.socket]:
        if self.disconnected:
            return []
        if self._master is not None:
            return [self._master]
        return [s for s in (self._conn, self._listener) if s is not None]

    def _receive(self, source: int | socket.socket, now: float) -> None:
        if source is self._listener:
            assert self._listener is not None
            conn, peer = self._listener.accept()
            if self._conn is not None:
                self._conn.close()  # one host at a time; the newest wins
            conn.setblocking(False)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._conn = conn
            self.reset_input()
            log.info("host connected from %s:%d", *peer)
            return
        try:
            data = os.read(source, 4096) if isinstance(source, int) else source.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:  # EIO: no host has the pty open
            log.debug("read: %s", exc)
            time.sleep(POLL_S)
            return
        if not data:
            if isinstance(source, socket.socket):
                log.info("host disconnected")
                source.close()
                self._conn = None
            return
        due = now + self.reply_delay_s() + self.link.reply_latency_s
        for frame in self.answer(data, now):
            self._queue(due, frame)

    def _queue(self, due_s: float, frame: bytes) -> None:
        link = self.link
        if link.drop_reply_probability and self._rng.random() < link.drop_reply_probability:
            self.replies_dropped += 1
            return
        if link.corrupt_reply_probability and self._rng.random() < link.corrupt_reply_probability:
            bit = int(self._rng.integers(len(frame) * 8))
            damaged = bytearray(frame)
            damaged[bit // 8] ^= 1 << (bit % 8)
            frame = bytes(damaged)
            self.replies_corrupted += 1
        self._order += 1
        heapq.heappush(self._pending, (due_s, self._order, frame))

    def _flush(self, now_s: float) -> None:
        while self._pending and self._pending[0][0] <= now_s:
            _, _, frame = heapq.heappop(self._pending)
            self._write(frame)

    def _write(self, frame: bytes) -> None:
        if self.silent:
            self.replies_dropped += 1
            return
        try:
            if self._master is not None:
                os.write(self._master, frame)
            elif self._conn is not None:
                self._conn.sendall(frame)
        except (BlockingIOError, InterruptedError):
            log.debug("host is not reading; reply dropped")
        except OSError as exc:
            log.info("write: %s", exc)

    # -- faults --------------------------------------------------------------------------------

    def _run_schedule(self, now_s: float) -> None:
        enabled_s = self.enabled_at_s()
        if enabled_s is None:
            return
        for index, fault in enumerate(self.faults):
            if index in self._injected or now_s - enabled_s < fault.at_s:
                continue
            self._injected.add(index)
            if fault.kind == SILENCE:
                log.warning("fault injection: the device stops answering")
                self.silence()
            else:
                log.warning("fault injection: %s", fault.kind)
                self.inject(fault.kind, now_s)

    def silence(self) -> None:
        """Stop answering: replies not yet sent are lost, later ones are never sent."""
        self.silent = True
        self._pending.clear()

    def hang_up(self) -> None:
        """Close the port, as a cable pulled out: the host's next read fails."""
        self.disconnected = True
        self._pending.clear()
        self.close()


def freeze_startup_objects() -> None:
    """Collect once, then keep every object alive now out of the garbage collector's scans
    (``gc.freeze``). Call it in a device's own process once it is set up, before it serves: a
    full collection over everything imported takes tens of milliseconds (several missed replies
    at 200 Hz) where the few objects a device allocates while serving take microseconds."""
    gc.collect()
    gc.freeze()


def torque_command_fields(device: Any) -> dict[str, object]:
    """The summary's first fields for a device that counts its requests and torque commands."""
    last = device.last_torque_command_nm
    return {
        "requests": device.requests,
        "torque_commands": device.torque_commands,
        "last_torque_command_nm": "none" if last is None else f"{last:.4f}",
        "applied_torque_nm": f"{device.applied_torque_nm:.4f}",
    }


def serve_pendulum(
    options: EmulatorOptions,
    stop: threading.Event,
    announce: Callable[[str], None],
    emulator: type[Emulator],
) -> str:
    """Serve ``emulator`` around its :meth:`~Emulator.device_for` until ``stop``, with the
    PyBullet pendulum as the physics (``options.params``, else Pendulum-v1 with the device's torque
    limit, stepped every millisecond so it runs smoothly in real time); call ``announce(port)``
    once the host can open the port; return the summary line."""
    from sim.params import PendulumParams
    from sim.plant import SimPlant

    params = options.params or PendulumParams(
        max_torque_nm=options.device_torque_limit_nm, physics_substeps=50
    )
    clock = ServeClock(min(params.physics_dt_s, POLL_S))
    with SimPlant(params, clock=clock, start_angle_rad=options.start_angle_rad) as physics:
        served = emulator(
            emulator.device_for(physics, clock.now(), options),
            link=options.link,
            faults=options.faults,
            tcp_port=options.tcp_port,
            seed=options.seed,
            clock=clock,
        )
        try:
            port = served.open()
        except OSError as exc:
            if options.tcp_port is None:
                raise ConfigError(f"cannot open a pseudo-terminal: {first_line(exc)}") from None
            raise ConfigError(
                f"cannot listen on 127.0.0.1:{options.tcp_port} ({first_line(exc)}): pick "
                "another --tcp port, or --tcp 0 for any free one"
            ) from None
        try:
            announce(port)
            served.serve(stop)
        finally:
            served.close()
        return served.summary()
