"""Options several commands share, and the ``type=`` functions that check option values.

A ``type=`` function turns an option's text into its value or raises
:class:`argparse.ArgumentTypeError`; argparse then prints the usage line and
``ddpg-control COMMAND: error: argument --OPTION: <message>`` and exits with code 2, before the
command runs. The range checks are those of :mod:`ddpg_control.runtime.validation`.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ddpg_control.pipeline.runs import DEFAULT_RUNS_ROOT
from ddpg_control.runtime.errors import ConfigError
from ddpg_control.runtime.validation import (
    require,
    require_finite,
    require_non_negative,
    require_positive,
)

#: The largest TCP port number.
MAX_TCP_PORT = 0xFFFF


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


def _check(check: Callable[..., object], *args: Any) -> None:
    """Run a check from :mod:`~ddpg_control.runtime.validation`; report its failure the way
    argparse reports a bad value."""
    try:
        check(*args)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def whole_number(text: str) -> int:
    """An integer; ``_`` may group digits (``20_000``)."""
    try:
        return int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def finite_float(text: str) -> float:
    """A finite number (no nan, no inf)."""
    return _check_number(require_finite, text)


def positive_float(text: str) -> float:
    """A finite number > 0."""
    return _check_number(require_positive, text)


def non_negative_float(text: str) -> float:
    """A finite number >= 0."""
    return _check_number(require_non_negative, text)


def _check_number(check: Callable[[str, Any], float], text: str) -> float:
    value = _number(text)
    _check(check, "value", value)
    return value


def probability(text: str) -> float:
    """A number in [0, 1]."""
    value = non_negative_float(text)
    _check(require, value <= 1, f"value must be in [0, 1], got {value!r}")
    return value


def positive_int(text: str) -> int:
    """A whole number > 0."""
    value = whole_number(text)
    _check(require, value > 0, f"value must be a whole number > 0, got {value}")
    return value


def non_negative_int(text: str) -> int:
    """A whole number >= 0."""
    value = whole_number(text)
    _check(require, value >= 0, f"value must be a whole number >= 0, got {value}")
    return value


def int_in_range(low: int, high: int) -> Callable[[str], int]:
    """A ``type=`` function for a whole number in ``low..high`` (both included)."""

    def parse(text: str) -> int:
        value = whole_number(text)
        message = f"value must be a whole number in {low}..{high}, got {value}"
        _check(require, low <= value <= high, message)
        return value

    return parse


def tcp_port(text: str) -> int:
    """A TCP port to listen on: 1..65535, or 0 for any free port."""
    return int_in_range(0, MAX_TCP_PORT)(text)


def run_name(text: str) -> str:
    """A run directory's name: one folder name, so the run lands directly under ``--runs-dir``."""
    one_folder = text not in ("", ".", "..") and not any(c in text for c in ("/", os.sep, "\0"))
    _check(require, one_folder, f"must be a folder name without '/', got {text!r}")
    return text


def file_to_write(text: str) -> Path:
    """A file to write; an existing folder is refused now, not after the work is done."""
    _check(require, bool(text), "needs a file name")
    _check(require, not Path(text).is_dir(), f"'{text}' is a folder: pass a file name in it")
    return Path(text)
