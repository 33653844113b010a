"""The ``ddpg-control`` command line: the only place that wires the packages together.

Each command lives in its own module here with two functions: ``add_parser(subparsers)`` and
``run(args) -> int``: parse, call :mod:`ddpg_control.pipeline` and the packages under it, print.
Beside them only parse helpers: :mod:`~ddpg_control.cli.arguments` (the shared options and the
value checks; the vocabulary is docs/cli.md), :mod:`~ddpg_control.cli.params_option` and
:mod:`~ddpg_control.cli.progress`. Command modules import heavy packages (torch, gymnasium,
pybullet, onnxruntime) inside ``run``, so every ``--help`` works without them (tested) and
``run --device`` never imports torch.
"""

from ddpg_control.cli.main import main

__all__ = ["main"]
