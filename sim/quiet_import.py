"""PyBullet, imported without the ``pybullet build time: ...`` line its C extension writes to
the process's stderr on import (every command that simulates printed it, once per worker
process). Only that import is silenced; errors raised by it still reach the caller."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from types import ModuleType


@contextlib.contextmanager
def stderr_silenced() -> Iterator[None]:
    """File descriptor 2 goes to the null device for the block (C code writes there directly,
    past ``sys.stderr``)."""
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def import_pybullet() -> ModuleType:
    with stderr_silenced():
        import pybullet
    return pybullet
