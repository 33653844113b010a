"""Where many independent tasks run: in this process, in local worker processes, or on a Ray
cluster. One seam, two backends; the commands choose with :func:`open_executor`.

An :class:`Executor` offers two shapes of the same work:

* :meth:`~Executor.map` yields the results in the items' order, whatever the number of workers,
  so seeded work gives the same results on any machine (``score``'s episodes). On Ray the items
  travel in batches, never one task an item.
* :meth:`~Executor.as_done` yields ``(index, result)`` as each item finishes (``sweep``'s
  candidates). A task that raises yields :class:`Failed` with its one-line error instead of
  ending the others; on Ray, a task whose worker dies is retried (:data:`MAX_RETRIES`).

Everything a task needs travels with it (pickled), and so does everything it returns: no backend
assumes that its workers share this machine's disk. Ray is imported only when a cluster is named
(``pip install 'ddpg-control[ray]'``).
"""

from __future__ import annotations

import contextlib
import functools
import math
import multiprocessing
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Protocol

from ddpg_control.runtime.errors import ConfigError, first_line

Mapper = Callable[[Callable[[Any], Any], Iterable[Any]], Iterator[Any]]

#: The environment variable Ray itself reads for the cluster to join.
RAY_ADDRESS_ENV = "RAY_ADDRESS"
#: How many times Ray runs a task again when its worker process or node dies.
MAX_RETRIES = 3
#: ``map`` on Ray sends about this many batches per cluster CPU: enough to balance the load,
#: few enough that each batch's overhead (a task, its arguments, its results) stays small.
BATCHES_PER_CPU = 4
#: How long a cluster's head may take to accept a connection before the command gives up.
CONNECT_TIMEOUT_S = 5.0
#: The port of Ray's client server on the head node (``ray://HOST``).
RAY_CLIENT_PORT = 10001
RAY_MISSING = (
    "a Ray cluster (--address or RAY_ADDRESS) needs the optional 'ray' extra: "
    "pip install 'ddpg-control[ray]'"
)


@dataclass(frozen=True)
class Failed:
    """What a task that raised (or whose retries ran out) returns: its one-line error."""

    error: str


class Executor(Protocol):
    #: Where the tasks run, for the commands' first line ("2 local processes", "Ray at ...").
    description: str
    #: How many tasks run at once.
    workers: int

    def map(self, function: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]: ...

    def as_done(
        self, function: Callable[[Any], Any], items: Iterable[Any]
    ) -> Iterator[tuple[int, Any]]: ...


def cluster_address(jobs: int | None, address: str | None) -> str | None:
    """The Ray cluster to use: ``address`` when given, else ``$RAY_ADDRESS`` unless local
    ``jobs`` were asked for, else None (local worker processes)."""
    if address is not None and jobs is not None:
        raise ConfigError(
            "--jobs counts worker processes on this machine; with --address the cluster's "
            "CPUs run the tasks: drop one of them"
        )
    if jobs is not None:
        return None
    return address or os.environ.get(RAY_ADDRESS_ENV) or None


@contextlib.contextmanager
def open_executor(jobs: int, address: str | None = None) -> Iterator[Executor]:
    """Ray at ``address`` when one is given, else ``jobs`` local workers (1: this process).
    Workers started here are stopped on exit; a Ray cluster is left running (only this
    process's connection to it is closed)."""
    if address is not None:
        with _ray_executor(address) as executor:
            yield executor
        return
    if jobs == 1:
        yield InProcess()
        return
    local = LocalProcesses(jobs)
    try:
        yield local
    finally:
        local.stop()


@contextlib.contextmanager
def local_mapper(jobs: int) -> Iterator[Mapper]:
    """:meth:`Executor.map` of ``jobs`` local workers."""
    with open_executor(jobs) as executor:
        yield executor.map


def one_line(exc: BaseException) -> str:
    """``Type: first line of the message`` (the type alone when the message is empty)."""
    text = first_line(exc)
    return text if text == type(exc).__name__ else f"{type(exc).__name__}: {text}"


def call_catching(function: Callable[[Any], Any], item: Any) -> Any:
    """``function(item)``, or :class:`Failed` with the error's first line if it raises."""
    try:
        return function(item)
    except Exception as exc:  # a task's error is its result, so the other tasks go on
        return Failed(one_line(exc))


def call_batch(function: Callable[[Any], Any], batch: list[Any]) -> list[Any]:
    return [function(item) for item in batch]


def batches(items: list[Any], workers: int) -> list[list[Any]]:
    """``items`` cut in order into about :data:`BATCHES_PER_CPU` batches per worker."""
    size = max(1, math.ceil(len(items) / (workers * BATCHES_PER_CPU)))
    return [items[start : start + size] for start in range(0, len(items), size)]


class InProcess:
    """One task at a time, in this process."""

    description = "this process"
    workers = 1

    def map(self, function: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        return map(function, items)

    def as_done(
        self, function: Callable[[Any], Any], items: Iterable[Any]
    ) -> Iterator[tuple[int, Any]]:
        for index, item in enumerate(items):
            yield index, call_catching(function, item)


def _start_worker() -> None:
    """Each local worker: one thread for numpy's and torch's kernels (set before they load),
    so ``jobs`` workers share the cores instead of fighting for them."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = "1"


class LocalProcesses:
    """A pool of ``jobs`` spawned worker processes on this machine. A worker that dies fails the
    tasks still pending (recorded as :class:`Failed`, never a hang)."""

    def __init__(self, jobs: int) -> None:
        self.workers = jobs
        self.description = f"{jobs} local worker processes"
        self._pool = ProcessPoolExecutor(
            jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker
        )

    def map(self, function: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        return self._pool.map(function, items, chunksize=2)

    def as_done(
        self, function: Callable[[Any], Any], items: Iterable[Any]
    ) -> Iterator[tuple[int, Any]]:
        catching = functools.partial(call_catching, function)
        pending: dict[Future[Any], int] = {
            self._pool.submit(catching, item): index for index, item in enumerate(items)
        }
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                index = pending.pop(future)
                try:
                    yield index, future.result()
                except Exception as exc:  # the worker process died (BrokenProcessPool)
                    yield index, Failed(one_line(exc))

    def stop(self) -> None:
        """Stop the workers now, running tasks included (an interrupted command must not leave
        processes behind)."""
        processes = list(getattr(self._pool, "_processes", {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join()


def import_ray() -> Any:
    """The ``ray`` module, or a :class:`ConfigError` naming the extra to install."""
    try:
        import ray
    except ImportError:
        raise ConfigError(RAY_MISSING) from None
    return ray


def check_reachable(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Refuse at once a ``HOST:PORT`` or ``ray://HOST[:PORT]`` where nothing listens (Ray itself
    retries for minutes); ``auto`` is Ray's to resolve."""
    if address == "auto":
        return
    scheme, _, rest = address.rpartition("://")
    host, colon, port = rest.partition("/")[0].rpartition(":")
    if not colon:
        host, port = rest, str(RAY_CLIENT_PORT)
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"no Ray cluster answers at '{address}' ({first_line(exc)}): start one with "
            "'ray start --head' (docs/sweep.md), or name another with --address"
        ) from None


@contextlib.contextmanager
def _ray_executor(address: str) -> Iterator[RayCluster]:
    ray = import_ray()
    connected_here = not ray.is_initialized()  # a caller that already joined keeps its link
    sigterm = signal.getsignal(signal.SIGTERM)  # ray.init installs its own; put back after
    if connected_here:
        check_reachable(address)
        try:
            ray.init(address=address, log_to_driver=False, logging_level="WARNING")
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ConfigError(
                f"cannot join the Ray cluster at '{address}': {first_line(exc)}; start one with "
                "'ray start --head' (docs/sweep.md) or name another with --address"
            ) from None
    try:
        yield RayCluster(ray, address)
    finally:
        if connected_here:
            ray.shutdown()
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGTERM, sigterm)


class RayCluster:
    """Tasks on a Ray cluster, one CPU each, retried when their worker dies."""

    def __init__(self, ray: Any, address: str) -> None:
        self._ray = ray
        self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.description = f"the Ray cluster at {address} ({self.workers} CPUs)"
        options = {"num_cpus": 1, "max_retries": MAX_RETRIES}
        self._batch = ray.remote(**options)(call_batch)
        self._catching = ray.remote(**options)(call_catching)

    def map(self, function: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        shared = self._ray.put(function)  # sent to each node once, not with every batch
        refs = [self._batch.remote(shared, b) for b in batches(list(items), self.workers)]
        for ref in refs:
            yield from self._ray.get(ref)

    def as_done(
        self, function: Callable[[Any], Any], items: Iterable[Any]
    ) -> Iterator[tuple[int, Any]]:
        shared = self._ray.put(function)
        pending = {self._catching.remote(shared, item): i for i, item in enumerate(items)}
        while pending:
            done, _ = self._ray.wait(list(pending), num_returns=1)
            for ref in done:
                index = pending.pop(ref)
                try:
                    yield index, self._ray.get(ref)
                except self._ray.exceptions.RayError as exc:  # retries ran out
                    yield index, Failed(one_line(exc))
