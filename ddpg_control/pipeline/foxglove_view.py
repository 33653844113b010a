"""The Foxglove outlet of a run's tick feed: a live WebSocket server, an MCAP file, or both.

One foxglove-sdk ``Context`` holds the two channels (:data:`~ddpg_control.runtime.tick_feed.
TICK_TOPIC`, :data:`~ddpg_control.runtime.tick_feed.STATUS_TOPIC`, JSON with JSON schemas)
and the sinks: a message published once goes to the MCAP file and to every subscribed client.
The SDK's server keeps a bounded backlog per client and drops a slow client's oldest messages
instead of waiting; the MCAP writer takes every message.

The MCAP file is written in chunks (lz4) that end at each :meth:`FoxgloveOutlet.flush` (the
feed flushes every half second of run time). The SDK writes a chunk's header when the chunk
opens and its length when it closes, so a process killed mid-run leaves a file whose last
chunk has no length: every chunk before it is whole and readable
(:func:`ddpg_control.pipeline.mcap_log.read_mcap_telemetry` stops there; ``mcap recover``
rewrites such a file with a summary for other tools). A finished run's file is complete.

foxglove-sdk (the ``foxglove`` extra) is imported when an outlet opens; without it
:func:`require_foxglove` says how to install it. Servers bind to 127.0.0.1 unless the user
names another host.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from ddpg_control.runtime.errors import ConfigError, first_line
from ddpg_control.runtime.tick_feed import STATUS_SCHEMA, STATUS_TOPIC, TICK_SCHEMA, TICK_TOPIC

log = logging.getLogger(__name__)

EXTRA = "foxglove"
INSTALL_HINT = f"pip install 'ddpg-control[{EXTRA}]'"
LOOPBACK_HOST = "127.0.0.1"
SERVER_NAME = "ddpg-control"
#: How long a closing server waits for its last messages (the run's end) to reach viewers.
LINGER_S = 0.25


@dataclass(frozen=True, slots=True)
class LiveAddress:
    """Where the live view listens (port 0: any free port)."""

    host: str
    port: int

    @classmethod
    def of(cls, host: str | None, port: int) -> LiveAddress:
        """127.0.0.1 unless the user named a host."""
        return cls(host or LOOPBACK_HOST, port)

    @property
    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def require_foxglove(option: str) -> None:
    """Raise a one-line :class:`ConfigError` naming the extra when foxglove-sdk is missing."""
    try:
        import foxglove  # noqa: F401
    except ImportError:
        raise ConfigError(f"{option} needs the {EXTRA} extra: {INSTALL_HINT}") from None


class FoxgloveOutlet:
    """Publishes the feed's messages to a live server and/or an MCAP file.

    The constructor does no I/O; :meth:`open` creates the file and starts the server (a
    :class:`ConfigError` if the port is taken or the file cannot be written); :meth:`close`
    stops the server and finishes the file. A context manager.
    """

    def __init__(self, live: LiveAddress | None = None, mcap_path: Path | None = None) -> None:
        self.live = live
        self.mcap_path = mcap_path
        self._context: Any = None
        self._channels: dict[str, Any] = {}
        self._server: Any = None
        self._writer: Any = None

    def open(self) -> FoxgloveOutlet:
        require_foxglove("--live" if self.live is not None else "--mcap")
        import foxglove
        from foxglove.mcap import MCAPCompression, MCAPWriteOptions

        # the context must outlive open(): its channels close when it is collected
        self._context = context = foxglove.Context()
        self._channels = {
            topic: foxglove.Channel(topic, schema=schema, context=context)
            for topic, schema in ((TICK_TOPIC, TICK_SCHEMA), (STATUS_TOPIC, STATUS_SCHEMA))
        }
        try:
            if self.mcap_path is not None:
                self.mcap_path.parent.mkdir(parents=True, exist_ok=True)
                options = MCAPWriteOptions(compression=MCAPCompression.Lz4, chunk_size=None)
                self._writer = foxglove.open_mcap(
                    self.mcap_path, allow_overwrite=True, context=context, writer_options=options
                )
        except Exception as exc:  # the SDK raises its own types; every one means: no file
            self.close()
            raise ConfigError(
                f"cannot write the MCAP log {self.mcap_path} ({first_line(exc)}): name a "
                "writable file with --mcap"
            ) from None
        if self.live is not None:
            try:
                self._server = foxglove.start_server(
                    name=SERVER_NAME, host=self.live.host, port=self.live.port, context=context
                )
            except Exception as exc:
                self.close()
                raise ConfigError(
                    f"cannot serve the live view on {self.live.host}:{self.live.port} "
                    f"({first_line(exc)}): choose another port with --live"
                ) from None
        return self

    @property
    def port(self) -> int | None:
        """The port the server listens on (the one chosen when asked for port 0)."""
        return None if self._server is None else int(self._server.port)

    @property
    def url(self) -> str | None:
        if self._server is None or self.live is None:
            return None
        host = f"[{self.live.host}]" if ":" in self.live.host else self.live.host
        return f"ws://{host}:{self.port}"

    def publish(self, topic: str, log_time_ns: int, data: bytes) -> None:
        self._channels[topic].log(data, log_time=log_time_ns)

    def flush(self) -> None:
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        """Stop the server and finish the MCAP file; safe to call more than once."""
        server, self._server = self._server, None
        writer, self._writer = self._writer, None
        try:
            if server is not None:
                time.sleep(LINGER_S)
                server.stop()
        finally:
            if writer is not None:
                writer.close()
            for channel in self._channels.values():
                channel.close()
            self._channels, self._context = {}, None

    def __enter__(self) -> FoxgloveOutlet:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


#: The plots of the shipped layout: (title, y-axis label, [(tick field, legend label)]).
LAYOUT_PLOTS: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    ("angle", "rad (0 = upright)", (("angle_rad", "angle"),)),
    (
        "velocity",
        "rad/s",
        (("velocity_observed_rad_s", "as read"), ("velocity_rad_s", "as the policy saw it")),
    ),
    ("torque", "N*m", (("torque_cmd_nm", "asked"), ("torque_sent_nm", "sent"))),
    ("lateness", "s", (("lateness_s", "tick start - deadline"),)),
)


def layout_json() -> str:
    """The Foxglove layout shipped as ``docs/foxglove_layout.json``: angle, velocity, torque
    and lateness plots of the tick channel over the last 10 s, beside the latest status."""
    import foxglove.layouts as fl

    def plot(title: str, y_label: str, series: tuple[tuple[str, str], ...]) -> Any:
        paths = [fl.PlotSeries(value=f"{TICK_TOPIC}.{name}", label=label) for name, label in series]
        config = fl.PlotConfig(
            paths=paths,
            show_legend=True,
            legend_display="top",
            y_axis_label=y_label,
            following_view_width=10.0,
        )
        return fl.SplitItem(content=fl.PlotPanel(title=title, config=config))

    status = fl.RawMessagesPanel(
        title="status", config=fl.RawMessagesConfig(topic_path=STATUS_TOPIC, expansion="all")
    )
    layout = fl.Layout(
        content=fl.SplitContainer(
            direction="row",
            items=[
                fl.SplitItem(
                    proportion=3,
                    content=fl.SplitContainer(
                        direction="column", items=[plot(*p) for p in LAYOUT_PLOTS]
                    ),
                ),
                fl.SplitItem(proportion=1, content=status),
            ],
        )
    )
    return json.dumps(json.loads(layout.to_json()), indent=2) + "\n"
