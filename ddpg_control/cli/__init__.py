"""The ``ddpg-control`` command line: the only place that wires the packages together.

Each command lives in its own module here with two functions: ``add_parser(subparsers)`` and
``run(args) -> int``. Command modules import heavy packages (torch, pybullet, onnxruntime)
inside ``run``, so ``ddpg-control --help`` is fast and ``run --device`` never imports torch.
"""

from ddpg_control.cli.main import main

__all__ = ["main"]
