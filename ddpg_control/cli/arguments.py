"""Options several commands share."""

from __future__ import annotations

import argparse
from pathlib import Path

from ddpg_control.cli.runs import DEFAULT_RUNS_ROOT


def add_runs_dir_argument(
    parser: argparse.ArgumentParser, help: str = "where to look for the latest run"
) -> None:
    """``--runs-dir DIR``: the folder holding run directories (default ``./runs``)."""
    parser.add_argument(
        "--runs-dir",
        type=Path,
        default=DEFAULT_RUNS_ROOT,
        metavar="DIR",
        help=f"{help} (default: %(default)s/)",
    )
