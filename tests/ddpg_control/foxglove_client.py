"""A Foxglove WebSocket client for the tests and the live-view bench, written from the protocol
(github.com/foxglove/ws-protocol): JSON text frames for control (``serverInfo``, ``advertise``,
``subscribe``), binary frames for data (opcode 0x01, u32 subscription id, u64 log time in ns,
then the message). foxglove-sdk names the subprotocol ``foxglove.sdk.v1``; it is the same
protocol as ``foxglove.websocket.v1``, and the client offers both, as Foxglove does."""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

SUBPROTOCOLS = ["foxglove.sdk.v1", "foxglove.websocket.v1"]
MESSAGE_DATA = 0x01
_HEADER = struct.Struct("<BIQ")


@dataclass(frozen=True)
class Received:
    topic: str
    log_time_ns: int
    message: dict[str, Any]
    received_s: float


@dataclass
class FoxgloveClient:
    """Connects (retrying until the server is up), subscribes to ``topics`` once advertised
    and, with :meth:`start_reading`, collects every message on a thread until the server
    closes the connection."""

    url: str
    topics: Iterable[str] = ("/tick", "/status")
    advertised: dict[str, dict[str, Any]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    _ws: ClientConnection | None = None
    _thread: threading.Thread | None = None
    _topic_of: dict[int, str] = field(default_factory=dict)
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def connect(
        self, timeout_s: float = 20.0, receive_buffer: int | None = None, max_queue: int = 16
    ) -> FoxgloveClient:
        """``receive_buffer`` shrinks the socket's buffer and ``max_queue`` the library's, so a
        client that stops reading stalls the server's sending side soon."""
        host, port = self.url.removeprefix("ws://").rsplit(":", 1)
        deadline = time.monotonic() + timeout_s
        while True:
            sock = socket.socket()
            if receive_buffer is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
            try:
                sock.connect((host, int(port)))
                break
            except OSError:
                sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        self._ws = self._stack.enter_context(
            connect(
                self.url,
                sock=sock,
                subprotocols=SUBPROTOCOLS,
                max_size=None,
                max_queue=max_queue,
                close_timeout=0.5,
            )
        )
        wanted = set(self.topics)
        while not wanted <= set(self.advertised):
            op = json.loads(self._ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if op["op"] == "advertise":
                self.advertised.update({c["topic"]: c for c in op["channels"]})
        subscriptions = [
            {"id": i, "channelId": self.advertised[topic]["id"]}
            for i, topic in enumerate(sorted(wanted))
        ]
        self._topic_of = {
            s["id"]: topic for s, topic in zip(subscriptions, sorted(wanted), strict=True)
        }
        self._ws.send(json.dumps({"op": "subscribe", "subscriptions": subscriptions}))
        return self

    def start_reading(self) -> FoxgloveClient:
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        return self

    def _read(self) -> None:
        assert self._ws is not None
        try:
            for frame in self._ws:
                if isinstance(frame, bytes) and frame[0] == MESSAGE_DATA:
                    _, sub, log_time_ns = _HEADER.unpack_from(frame)
                    message = json.loads(frame[_HEADER.size :])
                    self.received.append(
                        Received(self._topic_of[sub], log_time_ns, message, time.monotonic())
                    )
        except ConnectionClosed:
            pass

    def wait_closed(self, timeout_s: float = 30.0) -> None:
        """Until the server ends the connection (or ``timeout_s``)."""
        if self._thread is not None:
            self._thread.join(timeout_s)

    def on(self, topic: str) -> list[Received]:
        return [r for r in self.received if r.topic == topic]

    def close(self) -> None:
        self._stack.close()
        self.wait_closed(5.0)
