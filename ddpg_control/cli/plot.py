"""``ddpg-control plot [FILE]``: turn a run's telemetry (CSV or MCAP log) into a PNG."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ddpg_control.cli.arguments import add_output_argument, add_runs_dir_argument, image_file
from ddpg_control.pipeline.runs import newest_telemetry
from ddpg_control.runtime.errors import ConfigError, first_line
from ddpg_control.runtime.run_layout import TELEMETRY_DIR

HELP = "plot a run's telemetry CSV or MCAP log (angle, velocity, torque, lateness) to a PNG"
DESCRIPTION = (
    "Plot the telemetry that 'ddpg-control run' wrote: angle, velocity, torque asked and "
    "sent, and how late each tick started, against time, from its CSV or from the MCAP "
    "log of 'run --mcap' (a file cut short is read up to its last whole chunk). Default: the "
    "newest telemetry "
    f"CSV recorded in any run directory ({TELEMETRY_DIR}/ in each), by the time it was recorded."
)


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("plot", help=HELP, description=DESCRIPTION)
    parser.add_argument(
        "file", nargs="?", type=Path, default=None, help="telemetry CSV or .mcap log"
    )
    add_output_argument(parser, "the picture to write", "FILE with .png", type=image_file)
    add_runs_dir_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ddpg_control.pipeline.mcap_log import read_telemetry
    from ddpg_control.pipeline.telemetry_plot import plot_telemetry

    source = args.file
    if source is None:
        source = newest_telemetry(args.runs_dir)
        print(f"telemetry: {source} (the newest recorded)")
    try:
        telemetry = read_telemetry(source)
    except OSError as exc:
        raise ConfigError(f"cannot read telemetry file '{source}': {first_line(exc)}") from None
    out = args.output if args.output is not None else source.with_suffix(".png")
    try:
        plot_telemetry(telemetry, out, title=str(source))
    except OSError as exc:
        raise ConfigError(f"cannot write the plot to '{out}': {first_line(exc)}") from None
    print(f"plot: {out}")
    return 0
