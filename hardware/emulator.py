"""A virtual motor driver: the VirtualDevice behind a pseudo-terminal or a loopback TCP port.

It runs in real time: one thread waits on the port with ``select``, decodes requests, lets the
:class:`~hardware.device.VirtualDevice` answer them (the physics advances to the current time at
each sample), runs the device watchdog every millisecond, and sends the replies, possibly late,
dropped or corrupted when fault injection asks for it. Schedules of the injected disconnect and
stuck sensor count from the first ARM, so a test does not depend on how long the host took to
start.

``protocol_version`` other than 1 makes every reply carry that version: a stand-in for a device
with other firmware, to test the host's version check.
"""

from __future__ import annotations

import heapq
import logging
import math
import os
import select
import socket
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from ddpg_control.runtime.errors import ConfigError
from hardware.device import DeviceConfig, VirtualDevice
from hardware.protocol import FrameDecoder, encode
from hardware.pseudo_terminal import close_fds, open_raw_pty

log = logging.getLogger(__name__)

WATCHDOG_POLL_S = 0.001


@dataclass(frozen=True, slots=True)
class FaultInjection:
    """Faults the emulator injects. Probabilities are per reply; times in seconds."""

    reply_latency_s: float = 0.0
    drop_reply_probability: float = 0.0
    corrupt_reply_probability: float = 0.0  # flip one random bit of the reply
    disconnect_after_s: float | None = None  # after the first ARM
    stuck_sensor_after_s: float | None = None  # after the first ARM

    def __post_init__(self) -> None:
        if not (math.isfinite(self.reply_latency_s) and self.reply_latency_s >= 0):
            raise ConfigError(f"reply latency must be >= 0 s, got {self.reply_latency_s!r}")
        for name in ("drop_reply_probability", "corrupt_reply_probability"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be in [0, 1], got {value!r}")
        for name in ("disconnect_after_s", "stuck_sensor_after_s"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"{name} must be >= 0 s, got {value!r}")


@dataclass(frozen=True, slots=True)
class EmulatorConfig:
    tcp_port: int | None = None  # None: a pseudo-terminal; 0: any free TCP port
    device: DeviceConfig = field(default_factory=DeviceConfig)
    faults: FaultInjection = field(default_factory=FaultInjection)
    seed: int = 0


def answer(decoder: FrameDecoder, device: VirtualDevice, data: bytes, now_s: float) -> list[bytes]:
    """The reply frames to the bytes ``data`` received at ``now_s``: the device's receive path.

    ``decoder`` must keep raw frames (``keep_raw=True``) so the device can answer unknown types.
    """
    frames = []
    for packet in decoder.feed(data, now_s):
        reply = device.handle(packet.message, now_s)
        if reply is not None:
            frames.append(encode(reply, packet.seq, version=device.config.protocol_version))
    return frames


class Emulator:
    """Serves a VirtualDevice on a port. ``open()`` returns the URL/path for the host."""

    def __init__(self, device: VirtualDevice, config: EmulatorConfig) -> None:
        self.device = device
        self.config = config
        self._rng = np.random.default_rng(config.seed)
        self._decoder = FrameDecoder(version=device.config.protocol_version, keep_raw=True)
        self._pending: list[tuple[float, int, bytes]] = []  # (due time, order, frame)
        self._order = 0
        self._master: int | None = None
        self._slave: int | None = None
        self._listener: socket.socket | None = None
        self._conn: socket.socket | None = None
        self.disconnected = False
        self.replies_dropped = 0
        self.replies_corrupted = 0

    def open(self) -> str:
        """Create the port; return what to pass to ``run --device``."""
        if self.config.tcp_port is None:
            self._master, self._slave, path = open_raw_pty()
            return path
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", self.config.tcp_port))
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
        close_fds(self._master, self._slave)
        self._master = self._slave = None

    def _readable(self) -> list[int | socket.socket]:
        if self.disconnected:
            return []
        if self._master is not None:
            return [self._master]
        return [s for s in (self._conn, self._listener) if s is not None]

    def serve(self, stop: threading.Event) -> None:
        """Run until ``stop`` is set, or until the injected disconnect has tripped the watchdog."""
        device = self.device
        while not stop.is_set():
            now = time.monotonic()
            timeout = WATCHDOG_POLL_S
            if self._pending:
                timeout = max(0.0, min(timeout, self._pending[0][0] - now))
            readable = self._readable()
            if readable:
                ready, _, _ = select.select(readable, [], [], timeout)
            else:
                ready = []
                time.sleep(timeout)
            for source in ready:
                self._receive(source)
            now = time.monotonic()
            device.tick(now)
            self._inject(now)
            self._flush(now)
            if self.disconnected and not device.armed:
                break
        log.info("emulator summary: %s", self.summary())

    def summary(self) -> str:
        d = self.device
        last = "none" if d.last_torque_command_nm is None else f"{d.last_torque_command_nm:.4f}"
        return (
            f"requests={d.requests} torque_commands={d.torque_commands} "
            f"last_torque_command_nm={last} applied_torque_nm={d.applied_torque_nm:.4f} "
            f"armed={int(d.armed)} "
            f"watchdog_trips={d.watchdog_trips} faults={d.faults:#04x} "
            f"replies_dropped={self.replies_dropped} replies_corrupted={self.replies_corrupted} "
            f"bad_frames={self._decoder.stats.dropped}"
        )

    def _receive(self, source: int | socket.socket) -> None:
        if source is self._listener:
            assert self._listener is not None
            conn, peer = self._listener.accept()
            if self._conn is not None:
                self._conn.close()  # one host at a time; the newest wins
            conn.setblocking(False)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._conn = conn
            self._decoder.reset()
            log.info("host connected from %s:%d", *peer)
            return
        try:
            data = os.read(source, 4096) if isinstance(source, int) else source.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            log.info("read: %s", exc)
            data = b""
        if not data:
            if isinstance(source, socket.socket):
                log.info("host disconnected")
                source.close()
                self._conn = None
            return
        now = time.monotonic()
        for frame in answer(self._decoder, self.device, data, now):
            self._queue(now, frame)

    def _queue(self, now: float, frame: bytes) -> None:
        faults = self.config.faults
        if faults.drop_reply_probability and self._rng.random() < faults.drop_reply_probability:
            self.replies_dropped += 1
            return
        if (
            faults.corrupt_reply_probability
            and self._rng.random() < faults.corrupt_reply_probability
        ):
            bit = int(self._rng.integers(len(frame) * 8))
            damaged = bytearray(frame)
            damaged[bit // 8] ^= 1 << (bit % 8)
            frame = bytes(damaged)
            self.replies_corrupted += 1
        self._order += 1
        heapq.heappush(self._pending, (now + faults.reply_latency_s, self._order, frame))

    def _flush(self, now: float) -> None:
        while self._pending and self._pending[0][0] <= now:
            _, _, frame = heapq.heappop(self._pending)
            self._write(frame)

    def _write(self, frame: bytes) -> None:
        try:
            if self._master is not None:
                os.write(self._master, frame)
            elif self._conn is not None:
                self._conn.sendall(frame)
        except (BlockingIOError, InterruptedError):
            log.debug("host is not reading; reply dropped")
        except OSError as exc:
            log.info("write: %s", exc)

    def _inject(self, now: float) -> None:
        faults, device = self.config.faults, self.device
        if device.armed_at_s is None:
            return
        since_arm_s = now - device.armed_at_s
        stuck_at = faults.stuck_sensor_after_s
        if stuck_at is not None and since_arm_s >= stuck_at and device.frozen_sample is None:
            sample = device.sample(now)
            device.frozen_sample = (sample.position_counts, sample.velocity_rad_s)
            log.warning("fault injection: the position sensor is stuck from now on")
        cut_at = faults.disconnect_after_s
        if cut_at is not None and since_arm_s >= cut_at and not self.disconnected:
            log.warning("fault injection: disconnecting the host")
            self.disconnected = True
            self._pending.clear()
            self.close()
