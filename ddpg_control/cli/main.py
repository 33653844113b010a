"""Argument parsing and error reporting for every command."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from ddpg_control import __version__
from ddpg_control.runtime.errors import DdpgControlError

#: Command modules under ddpg_control.cli, in the order ``--help`` lists them.
COMMANDS: tuple[str, ...] = (
    "train",
    "eval",
    "export",
    "inspect",
    "run",
    "plot",
    "emulate",
    "calibrate",
    "excite",
    "identify",
    "score",
    "sweep",
)

EPILOG = """\
typical session:
  ddpg-control train            # trains on Pendulum-v1, writes runs/<name>/
  ddpg-control export --onnx    # writes runs/<name>/policy.onnx, verified
  ddpg-control run --sim        # runs the policy on the PyBullet pendulum in real time

Each command finds what the previous one made; every default can be overridden.
Run 'ddpg-control COMMAND --help' for a command's options.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ddpg-control",
        allow_abbrev=False,
        description="Train a pendulum swing-up controller with DDPG and deploy it.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"ddpg_control.cli.{name}")
        module.add_parser(subparsers)
    for command in subparsers.choices.values():
        command.allow_abbrev = False  # a removed name must not live on as an abbreviation
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)],
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.handler(args))
    except DdpgControlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
