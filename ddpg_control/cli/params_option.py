"""``--params FILE``: a rig's ``params.toml`` for every command that builds the simulated pendulum.

One argparse helper (:func:`add_params_argument`) and one reader of the parsed option
(:func:`params_from_args`), so a command gains the option in two lines. Which rig a command
builds from it is :mod:`ddpg_control.pipeline.rig`'s.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ddpg_control.cli.arguments import MEANINGS

if TYPE_CHECKING:
    from sim.params_file import ParamsFile


def add_params_argument(parser: argparse.ArgumentParser | Any, randomize: bool = False) -> None:
    """Add ``--params FILE`` to ``parser`` (or an argument group); ``randomize`` says how
    ``--randomize`` uses it, for commands that have that option."""
    text = MEANINGS["--params"]
    if randomize:
        text += (
            "; overrides --preset. With --randomize, randomisation is centred on them (ranges "
            "from the file's [randomize] table, else +-3 standard deviations from its "
            "[uncertainty], at least +-5%%)"
        )
    parser.add_argument("--params", type=Path, metavar="TOML", default=None, help=text)


def params_from_args(args: argparse.Namespace) -> ParamsFile | None:
    """The loaded ``--params`` file, or None when the option was not given."""
    from ddpg_control.pipeline.rig import load_rig_file

    return load_rig_file(getattr(args, "params", None))
