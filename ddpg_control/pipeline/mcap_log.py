"""Read a run's telemetry back from its MCAP log, or from its CSV: :func:`read_telemetry`.

The MCAP file's tick channel holds, per tick, every CSV column and more
(:data:`~ddpg_control.runtime.tick_feed.TICK_FIELDS`). The file is read as a stream, record by
record, so a file cut short by a killed process is read up to its last whole chunk (a note is
logged); the ``mcap`` package (part of the ``foxglove`` extra) is imported here only.
"""

from __future__ import annotations

import json
import logging
import math
import struct
from pathlib import Path

import numpy as np

from ddpg_control.runtime.errors import ConfigError, first_line
from ddpg_control.runtime.telemetry import COLUMNS, Telemetry
from ddpg_control.runtime.tick_feed import TICK_TOPIC

log = logging.getLogger(__name__)

MCAP_SUFFIX = ".mcap"


def read_telemetry(path: Path) -> Telemetry:
    """The telemetry in ``path``: an MCAP log (by its ``.mcap`` suffix) or a telemetry CSV."""
    if path.suffix.lower() == MCAP_SUFFIX:
        return read_mcap_telemetry(path)
    return Telemetry.read_csv(path)


def read_mcap_telemetry(path: Path) -> Telemetry:
    """The tick channel of an MCAP log as telemetry columns, in the order written."""
    try:
        from mcap.exceptions import McapError
        from mcap.records import Channel, Message
        from mcap.stream_reader import StreamReader
    except ImportError:
        from ddpg_control.pipeline.foxglove_view import INSTALL_HINT

        raise ConfigError(f"reading an MCAP log needs the mcap package: {INSTALL_HINT}") from None
    columns: dict[str, list[float]] = {name: [] for name in COLUMNS}
    tick_channels: set[int] = set()
    try:
        with path.open("rb") as f:
            try:
                for record in StreamReader(f, skip_magic=False).records:
                    if isinstance(record, Channel) and record.topic == TICK_TOPIC:
                        tick_channels.add(record.id)
                    elif isinstance(record, Message) and record.channel_id in tick_channels:
                        tick = json.loads(record.data)
                        for name in COLUMNS:
                            value = tick[name]
                            columns[name].append(math.nan if value is None else float(value))
            except (McapError, struct.error) as exc:  # struct: too short even for a header
                if not tick_channels:
                    raise ConfigError(f"'{path}' is not an MCAP log ({exc})") from None
                log.info("%s: read up to its last whole chunk (%s)", path, exc)
    except FileNotFoundError:
        raise ConfigError(f"MCAP log '{path}' does not exist") from None
    except ConfigError:
        raise
    except (KeyError, ValueError, TypeError) as exc:  # a field missing, or not a number
        raise ConfigError(
            f"'{path}' has a {TICK_TOPIC} message that is not a ddpg-control tick "
            f"({type(exc).__name__}: {first_line(exc)})"
        ) from None
    if not tick_channels:
        raise ConfigError(f"'{path}' has no {TICK_TOPIC} channel: is it a ddpg-control log?")
    return Telemetry({k: np.asarray(v, dtype=np.float64) for k, v in columns.items()})
