"""The device end of a pseudo-terminal, as every emulator (ours and the vendors') serves it."""

from __future__ import annotations

import os
import tty


def open_raw_pty() -> tuple[int, int, str]:
    """A new pseudo-terminal in raw mode (no echo, no line editing, set before any host opens
    it): ``(master, slave, path)``, the master non-blocking; ``path`` is what a host opens."""
    master, slave = os.openpty()
    tty.setraw(slave)
    os.set_blocking(master, False)
    return master, slave, os.ttyname(slave)


def close_fds(*fds: int | None) -> None:
    """Close the descriptors that are open (None is skipped)."""
    for fd in fds:
        if fd is not None:
            os.close(fd)
