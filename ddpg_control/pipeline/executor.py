"""Where many independent tasks run: in this process, or in a pool of local worker processes.

A mapper takes ``(function, items)`` and yields the results in the items' order, whatever the
number of workers, so seeded work gives the same results on any machine.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from typing import Any

Mapper = Callable[[Callable[[Any], Any], Iterable[Any]], Iterator[Any]]


@contextlib.contextmanager
def local_mapper(jobs: int) -> Iterator[Mapper]:
    """``map`` for one job, else a pool of ``jobs`` spawned worker processes (stopped on exit)."""
    if jobs == 1:
        yield map
        return
    pool = multiprocessing.get_context("spawn").Pool(jobs)

    def imap(function: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        return pool.imap(function, items, chunksize=2)

    try:
        yield imap
    finally:
        pool.terminate()
        pool.join()
