"""The options several commands share, each defined once, and the ``type=`` functions that
check every option's value.

A ``type=`` function turns an option's text into its value or raises
:class:`argparse.ArgumentTypeError`; argparse then prints the usage line and
``ddpg-control COMMAND: error: argument --OPTION: <message>`` and exits with code 2, before the
command runs. The range checks are those of :mod:`ddpg_control.runtime.validation`.

An option several commands share is added by its ``add_<concept>_argument`` helper below, and its
help text starts with its one meaning from :data:`MEANINGS`; the vocabulary is docs/cli.md.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ddpg_control.pipeline.controllers import CLASSICAL
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
#: pyserial URL schemes that connect to a TCP host and port.
TCP_URL_SCHEMES = ("socket", "rfc2217")


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


def listen_address(text: str) -> tuple[str | None, int]:
    """``[HOST:]PORT`` for a server to listen on (``[::1]:PORT`` for IPv6); no host: None."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if sep and not host:
        raise argparse.ArgumentTypeError(f"expected [HOST:]PORT, a host before the colon: {text!r}")
    return (host if sep else None), tcp_port(port)


def serial_port_or_url(text: str) -> str:
    """``--device``: a serial port path or a pyserial URL. A ``socket://`` or ``rfc2217://`` URL
    must name a TCP port 1..65535 after its host, e.g. ``socket://127.0.0.1:5000``."""
    _check(require, bool(text), "needs a serial port or URL, e.g. /dev/ttyUSB0")
    scheme, sep, _ = text.partition("://")
    if sep and scheme.lower() in TCP_URL_SCHEMES:
        try:
            port = urlsplit(text).port
        except ValueError:  # not a number, or beyond 65535
            port = None
        message = (
            f"{text!r} needs a TCP port 1..65535 after the host, e.g. {scheme}://127.0.0.1:5000"
        )
        _check(require, bool(port), message)
    return text


def direction(text: str) -> int:
    """``--direction``: 1, or -1 for a device that counts clockwise as positive."""
    value = whole_number(text)
    _check(require, value in (1, -1), f"must be 1 or -1, got {value}")
    return value


def key_value(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` (e.g. ``--driver-option``): the key and the value, both non-empty."""
    key, sep, value = text.partition("=")
    _check(
        require, bool(sep and key.strip() and value.strip()), f"expected KEY=VALUE, got {text!r}"
    )
    return key.strip(), value.strip()


def kind_at_seconds(text: str) -> tuple[str, float]:
    """``KIND[@SECONDS]`` (e.g. ``--fault``): a name and a time >= 0 in seconds (default 0)."""
    kind, sep, at = text.partition("@")
    _check(require, bool(kind.strip()), f"expected KIND or KIND@SECONDS, got {text!r}")
    return kind.strip(), non_negative_float(at) if sep else 0.0


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


def at_most(high: float, unit: str) -> Callable[[str], float]:
    """A ``type=`` function for a finite number in ``(0, high]``, in ``unit``."""

    def parse(text: str) -> float:
        value = positive_float(text)
        _check(require, value <= high, f"value must be at most {high:g} {unit}, got {value!r}")
        return value

    return parse


def at_least(low: float, unit: str, strictly: bool = False) -> Callable[[str], float]:
    """A ``type=`` function for a finite number ``>= low`` (``> low`` if ``strictly``), in
    ``unit``."""

    def parse(text: str) -> float:
        value = finite_float(text)
        ok = value > low if strictly else value >= low
        bound = "more than" if strictly else "at least"
        _check(require, ok, f"value must be {bound} {low:g} {unit}, got {value!r}")
        return value

    return parse


def file_with_suffix(*suffixes: str) -> Callable[[str], Path]:
    """A ``type=`` function for a file to write whose name ends in one of ``suffixes``."""

    def parse(text: str) -> Path:
        names = " or ".join(suffixes)
        _check(require, text.lower().endswith(suffixes), f"needs a {names} file name, got {text!r}")
        return file_to_write(text)

    return parse


def image_file(text: str) -> Path:
    """A picture to write: its suffix, if it has one, is an image format matplotlib writes
    (without one, matplotlib adds ``.png``)."""
    from ddpg_control.pipeline.telemetry_plot import image_formats

    suffix = Path(text).suffix.lstrip(".").lower()
    formats = image_formats()
    message = f"cannot write a .{suffix} image; use one of: {', '.join(formats)}"
    _check(require, not suffix or suffix in formats, message)
    return Path(text)


def folder_to_write(text: str) -> Path:
    """A folder to write files in (created when missing); an existing file is refused."""
    _check(require, bool(text), "needs a folder name")
    _check(require, not Path(text).is_file(), f"'{text}' is a file: name a folder")
    return Path(text)


def names_from(choices: Sequence[str]) -> Callable[[str], tuple[str, ...]]:
    """A ``type=`` function for a comma-separated selection from ``choices``."""

    def parse(text: str) -> tuple[str, ...]:
        names = tuple(name.strip() for name in text.split(",") if name.strip())
        unknown = [name for name in names if name not in choices]
        message = (
            f"unknown name {', '.join(unknown) or repr(text)}; choose from {','.join(choices)}"
        )
        _check(require, bool(names) and not unknown, message)
        return names

    return parse


def seed_list(text: str) -> tuple[int, ...]:
    """Seeds ``0,1,2``, a range ``0-3`` (both ends included) or both (``0-3,7``), each once."""
    seeds: list[int] = []
    for part in text.split(","):
        low, sep, high = part.strip().partition("-")
        first = non_negative_int(low)
        last = non_negative_int(high) if sep else first
        _check(require, first <= last, f"a range of seeds goes up, got {part.strip()!r}")
        seeds += [s for s in range(first, last + 1) if s not in seeds]
    return tuple(seeds)


def comma_names(text: str) -> tuple[str, ...]:
    """Comma-separated names, at least one, none empty."""
    names = tuple(name.strip() for name in text.split(","))
    _check(require, all(names), f"expected comma-separated names, got {text!r}")
    return names


def cluster_address(text: str) -> str:
    """``--address``: ``auto`` (the Ray cluster this machine belongs to), ``HOST:PORT`` (its
    head node) or ``ray://HOST:PORT`` (a Ray client server, port 10001 by default)."""
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "", text
    message = f"expected auto, HOST:PORT or ray://HOST:10001, got {text!r}"
    _check(require, scheme in ("", "ray") and bool(rest.strip()), message)
    if text == "auto":
        return text
    host, colon, port = rest.rpartition(":")
    if colon:
        _check(require, bool(host), message)
        int_in_range(1, MAX_TCP_PORT)(port)
    else:
        _check(require, bool(scheme), message)
    return text


def policy_path(text: str) -> Path:
    """``--policy``: a run directory or a policy file."""
    _check(require, bool(text), "needs a run directory or a policy file")
    return Path(text)


def policy_or_classical(text: str) -> Path | str:
    """``--policy`` where the classical controller may act: the name ``classical``, else a run
    directory or a policy file."""
    return CLASSICAL if text == CLASSICAL else policy_path(text)


# --- the shared options: each defined once ----------------------------------------------------

#: The one meaning of each shared option; every command's help for it starts with this text.
MEANINGS: dict[str, str] = {
    "--policy": "what acts",
    "--output": "the command's main output",
    "--quiet": "no progress bar and no live status line",
    "--seed": "the seed of every random draw of this command",
    "--preset": "a simulator preset (see docs/sim.md)",
    "--runs-dir": "the folder of run directories",
    "--duration-s": "how long, in seconds",
    "--rate-hz": "the control loop's rate, in Hz",
    "--torque-limit-nm": "your own cap on the torque sent to the plant in this session, N*m",
    "--max-velocity-rad-s": "stop when |velocity| exceeds this, rad/s",
    "--start-angle-rad": "the simulated pendulum's start angle, rad, 0 = upright",
    "--start-velocity-rad-s": "the simulated pendulum's start velocity, rad/s",
    "--episodes": "episodes to run",
    "--env": "a Gymnasium environment id",
    "--randomize": "domain randomisation (PyBullet pendulum only)",
    "--virtual-time": "run in simulated time, as fast as possible",
    "--sim": "on the PyBullet pendulum",
    "--params": "the rig's parameters (a params.toml, e.g. written by 'ddpg-control identify')",
    "--plot": "the picture drawn beside the main output",
    "--device": "on the motor driver at this serial port or pyserial URL",
    "--device-torque-limit-nm": "the motor driver's own torque limit, N*m",
    "--driver": "the motor driver's protocol",
    "--device-id": "the device's id on its bus (Dynamixel ID, moteus CAN id, ODrive axis)",
    "--set": "override a config value, KEY=VALUE with a key of the config file (agent.tau=0.005)",
    "--resume": "continue what an interrupted command left",
    "--jobs": "worker processes on this machine",
    "--address": "the Ray cluster to run on: auto, HOST:PORT or ray://HOST:10001 (needs the "
    "'ray' extra)",
}


def _help(name: str, detail: str = "") -> str:
    return MEANINGS[name] + (f" ({detail})" if detail else "")


def _add(parser: Any, name: str, detail: str = "", **kwargs: Any) -> None:
    """Add the shared option ``name``, its help its meaning and then ``detail``."""
    parser.add_argument(name, help=_help(name, detail), **kwargs)


def add_policy_argument(
    parser: Any, kinds: str, default: str, repeatable: bool = False, classical: bool = False
) -> None:
    """``--policy PATH``: the one way to name what acts. ``kinds`` says what this command takes,
    ``default`` what it takes when the option is not given."""
    if classical:
        kinds += f", or '{CLASSICAL}' (energy shaping + LQR, designed from the rig)"
    _add(
        parser,
        "--policy",
        kinds + ("; repeatable" if repeatable else "") + f"; default: {default}",
        dest="policies" if repeatable else "policy",
        type=policy_or_classical if classical else policy_path,
        action="append" if repeatable else "store",
        metavar="PATH",
    )


def add_output_argument(parser: Any, what: str, default: str, type: Callable[[str], Any]) -> None:
    """``-o/--output PATH``: the command's main output."""
    parser.add_argument(
        "-o",
        "--output",
        type=type,
        metavar="PATH",
        help=_help("--output", f"{what}; default: {default}"),
    )


def add_quiet_argument(parser: Any) -> None:
    """``--quiet``, for every command that shows progress or a live status."""
    _add(parser, "--quiet", action="store_true")


def add_seed_argument(parser: Any, draws: str, default: int | None = 0) -> None:
    """``--seed N``: ``draws`` says what this command draws at random."""
    shown = "" if default is None else f"; default: {default}"
    _add(parser, "--seed", draws + shown, type=non_negative_int, default=default, metavar="N")


def add_preset_argument(parser: Any, fallback: str) -> None:
    """``--preset NAME``, default None: ``fallback`` says what the command builds without it."""
    detail = f"e.g. default or realistic; default: {fallback}"
    _add(parser, "--preset", detail, default=None, metavar="NAME")


def add_runs_dir_argument(parser: Any, what: str = "where to look for the latest run") -> None:
    """``--runs-dir DIR``: the folder holding run directories (default ``./runs``)."""
    detail = f"{what}; default: %(default)s/"
    _add(parser, "--runs-dir", detail, type=Path, default=DEFAULT_RUNS_ROOT, metavar="DIR")


def add_duration_argument(
    parser: Any, what: str, default: float, type: Callable[[str], float]
) -> None:
    """``--duration-s SECONDS``: ``type`` says which durations this command takes."""
    detail = f"{what}; default: %(default)s"
    _add(parser, "--duration-s", detail, type=type, default=default, metavar="SECONDS")


def add_rate_argument(parser: Any, default: float | None, shown: str = "%(default)s") -> None:
    """``--rate-hz HZ``: the loop rate."""
    detail = f"default: {shown}"
    _add(parser, "--rate-hz", detail, type=positive_float, default=default, metavar="HZ")


def add_safety_arguments(parser: Any, max_velocity_rad_s: float) -> None:
    """``--torque-limit-nm`` and ``--max-velocity-rad-s``: the user's limits of the safety
    layer between the controller and the plant."""
    _add(parser, "--torque-limit-nm", "optional", type=positive_float, metavar="NM")
    detail = "default: %(default)s"
    kwargs = {"type": positive_float, "default": max_velocity_rad_s, "metavar": "RAD_S"}
    _add(parser, "--max-velocity-rad-s", detail, **kwargs)


def add_start_state_arguments(parser: Any, angle_rad: float, shown: str, velocity: bool) -> None:
    """``--start-angle-rad`` and, with ``velocity``, ``--start-velocity-rad-s`` (default 0)."""
    detail = f"default: {shown}"
    _add(parser, "--start-angle-rad", detail, type=finite_float, default=angle_rad, metavar="RAD")
    if velocity:
        detail = "default: %(default)s"
        kwargs = {"type": finite_float, "default": 0.0, "metavar": "RAD_S"}
        _add(parser, "--start-velocity-rad-s", detail, **kwargs)


def add_episodes_argument(parser: Any, default: int | None, shown: str = "%(default)s") -> None:
    detail = f"default: {shown}"
    _add(parser, "--episodes", detail, type=positive_int, default=default, metavar="N")


def add_env_argument(parser: Any, default: str) -> None:
    _add(parser, "--env", f"default: {default}", metavar="ID")


def add_randomize_argument(parser: Any, default: bool | None = False) -> None:
    _add(parser, "--randomize", action="store_true", default=default)


def add_virtual_time_argument(parser: Any) -> None:
    _add(parser, "--virtual-time", "for checks; timings read zero", action="store_true")


def add_target_arguments(parser: Any) -> None:
    """``--sim`` or ``--device PORT``, one of them required: where the loop runs."""
    target = parser.add_mutually_exclusive_group(required=True)
    _add(target, "--sim", "in real time", action="store_true")
    _add(target, "--device", type=serial_port_or_url, metavar="PORT")


def add_device_torque_limit_argument(parser: Any, detail: str, default: float | None) -> None:
    """``--device-torque-limit-nm``: the motor driver's own limit (not the user's cap)."""
    _add(
        parser,
        "--device-torque-limit-nm",
        detail,
        type=positive_float,
        default=default,
        metavar="NM",
    )


def add_driver_argument(
    parser: Any, choices: Sequence[str], detail: str, default: str | None
) -> None:
    """``--driver NAME``: a row of the driver registry."""
    _add(parser, "--driver", detail, choices=list(choices), default=default)


def add_device_id_argument(parser: Any, detail: str, type: Callable[[str], int]) -> None:
    """``--device-id N``: the device's id on its bus."""
    _add(parser, "--device-id", detail, type=type, default=None, metavar="N")


def add_set_argument(parser: Any, detail: str, metavar: str = "KEY=VALUE", **kwargs: Any) -> None:
    """``--set KEY=VALUE``, repeatable: a config value over the config file's."""
    _add(
        parser,
        "--set",
        detail,
        dest="overrides",
        action="append",
        default=[],
        metavar=metavar,
        **kwargs,
    )


def add_resume_argument(parser: Any, detail: str, metavar: str) -> None:
    """``--resume PATH``: what to continue."""
    _add(parser, "--resume", detail, type=Path, metavar=metavar)


def add_executor_arguments(parser: Any, per_task: str) -> None:
    """``--jobs N`` and ``--address ADDRESS``: where the command's tasks run (``per_task``: what
    one task is). Without either: ``$RAY_ADDRESS`` when set, else local workers."""
    detail = f"{per_task}; default: the number of CPUs, at most 8; not with --address"
    _add(parser, "--jobs", detail, type=positive_int, default=None, metavar="N")
    detail = "default: $RAY_ADDRESS when set, else local worker processes (--jobs)"
    _add(parser, "--address", detail, type=cluster_address, default=None, metavar="ADDRESS")
