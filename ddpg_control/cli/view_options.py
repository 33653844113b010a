"""``--live [HOST:]PORT`` and ``--mcap [FILE]`` (``run``, ``excite``): watch a running rig in
Foxglove and keep its log as MCAP beside the CSV, through a
:class:`~ddpg_control.runtime.tick_feed.TickFeed` that never holds the loop up."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ddpg_control.cli.arguments import listen_address

if TYPE_CHECKING:
    from ddpg_control.pipeline.foxglove_view import LiveAddress
    from ddpg_control.runtime.contracts import Plant
    from ddpg_control.runtime.control_loop import (
        LoopConfig,
        LoopResult,
        LoopStatus,
        Observer,
    )
    from ddpg_control.runtime.telemetry import TelemetrySink
    from ddpg_control.runtime.tick_feed import TickFeed

#: ``--mcap`` given without a file: the telemetry CSV's path with ``.mcap``.
BESIDE_CSV = ""
LAYOUT_FILE = "docs/foxglove_layout.json"


def add_view_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("watching the run (needs the foxglove extra)")
    group.add_argument(
        "--live",
        type=listen_address,
        default=None,
        metavar="[HOST:]PORT",
        help="serve every tick and a status a few times a second to Foxglove over WebSocket "
        f"(open ws://127.0.0.1:PORT in Foxglove, layout {LAYOUT_FILE}); binds 127.0.0.1 "
        "unless HOST is given; a slow viewer loses messages, never ticks",
    )
    group.add_argument(
        "--mcap",
        nargs="?",
        const=BESIDE_CSV,
        default=None,
        metavar="FILE",
        help="also log the ticks and statuses to an MCAP file (default FILE: the telemetry "
        "CSV's name with .mcap); 'ddpg-control plot' reads it",
    )


def check_view_options(args: argparse.Namespace) -> None:
    """Before anything moves: a missing foxglove extra is a one-line error."""
    from ddpg_control.pipeline.foxglove_view import require_foxglove

    if args.live is not None:
        require_foxglove("--live")
    if args.mcap is not None:
        require_foxglove("--mcap")


@dataclass(frozen=True)
class Watch:
    """What the loop is given: the sink, the status callback and the observer to use, the feed
    behind them when watching is on (else they are the run's own)."""

    sink: TelemetrySink
    on_status: Callable[[LoopStatus], None] | None
    observer: Observer | None
    feed: TickFeed | None = None

    def finish(self, result: LoopResult) -> None:
        """Publish how the run ended (a fault, a safety stop, an error: in ``faults``)."""
        from ddpg_control.runtime.control_loop import ExitReason

        if self.feed is None:
            return
        stopped = (ExitReason.COMPLETED, ExitReason.INTERRUPTED, ExitReason.TERMINATED)
        ok = result.reason in stopped and "WARNING" not in result.message
        self.feed.finish(result.reason.value, [] if ok else [result.message])


def _link_stats(plant: Plant) -> Callable[[], Mapping[str, int]] | None:
    stats = getattr(plant, "stats", None)
    if stats is None or not dataclasses.is_dataclass(stats) or isinstance(stats, type):
        return None
    return lambda: dataclasses.asdict(stats)


@contextlib.contextmanager
def watched(
    args: argparse.Namespace,
    telemetry: TelemetrySink,
    telemetry_path: Path,
    *,
    plant: Plant,
    policy_max_torque_nm: float,
    config: LoopConfig,
    on_status: Callable[[LoopStatus], None] | None,
    observer: Observer | None = None,
    virtual_time: bool = False,
) -> Iterator[Watch]:
    """The run's sink, status callback and observer, fed to Foxglove when --live or --mcap is
    given; the outlet (server, file) is closed on leaving."""
    if args.live is None and args.mcap is None:
        yield Watch(telemetry, on_status, observer)
        return
    from ddpg_control.pipeline.foxglove_view import FoxgloveOutlet, LiveAddress
    from ddpg_control.runtime.safety import SafetyLayer
    from ddpg_control.runtime.tick_feed import FeedConfig, TickFeed, VelocityTap

    mcap: Path | None = None
    if args.mcap is not None:
        mcap = telemetry_path.with_suffix(".mcap") if args.mcap == BESIDE_CSV else Path(args.mcap)
    limit = SafetyLayer.for_loop(
        policy_max_torque_nm, plant.max_torque_nm, config.period_s, config.limits
    ).torque_limit_nm
    live = None if args.live is None else LiveAddress.of(*args.live)
    with FoxgloveOutlet(live, mcap).open() as outlet:
        _announce(live, outlet.url, mcap)
        tap = VelocityTap(observer)
        feed = TickFeed(
            telemetry,
            outlet,
            FeedConfig(limit, config.period_s, wait_when_behind=virtual_time),
            tap=tap,
            on_status=on_status,
            link_stats=_link_stats(plant),
            complete_log=None if mcap is None else f"the MCAP log {mcap}",
        ).open()
        try:
            yield Watch(feed, feed.on_status, tap, feed)
        finally:
            feed.close()  # the loop closed it already, unless it never ran


def _announce(live: LiveAddress | None, url: str | None, mcap: Path | None) -> None:
    if live is not None and url is not None:
        print(
            f"live view: {url} (Foxglove: Open connection > Foxglove WebSocket; layout "
            f"{LAYOUT_FILE})",
            file=sys.stderr,
        )
        if not live.is_loopback:
            print(
                f"warning: the live view listens on {live.host}, not only on this machine: "
                "anyone who can reach it there can watch the rig (it has no authentication)",
                file=sys.stderr,
            )
    if mcap is not None:
        print(f"mcap log: {mcap} (plot it: ddpg-control plot {mcap})", file=sys.stderr)
