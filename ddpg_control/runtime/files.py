"""Writing files so that a crash never leaves a half-written one: checkpoints, the ONNX policy,
telemetry. The new content goes to a temporary file beside the target, is flushed to disk, and
only then renamed over the target (a rename within one folder is atomic on POSIX). The file gets
the mode a plain ``open`` would give it under the process's umask (0644 under the usual 022), not
the temporary file's private 0600."""

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
        tmp.chmod(0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def current_umask() -> int:
    """The process's umask, read without changing it where Linux reports it (``os.umask`` can
    only be read by setting it, which would race with other threads creating files)."""
    with contextlib.suppress(OSError, ValueError, StopIteration):
        status = Path("/proc/self/status").read_text().splitlines()
        return int(next(line for line in status if line.startswith("Umask:")).split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


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
