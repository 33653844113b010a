"""Writing files so that a crash never leaves a half-written one: checkpoints, the ONNX policy,
telemetry. The new content goes to a temporary file beside the target, is flushed to disk, and
only then renamed over the target (a rename within one folder is atomic on POSIX)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write; when the block ends without an error,
    fsync it and rename it over ``path``. On any error the temporary file is removed and
    ``path`` is left as it was (absent, or its old content).

    The block may also read the temporary file back (the ONNX export verifies it there) and
    raise to abandon it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with tmp.open("rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def write_atomically(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through :func:`replacing`; return ``path``."""
    with replacing(path) as tmp:
        tmp.write_bytes(data)
    return path


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (best effort: not every file system allows it)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
