"""One asyncio event loop on a dedicated thread, for a synchronous caller of an asyncio library.

The moteus package is asyncio; the control loop and the ``Plant`` contract are synchronous.
:class:`EventLoopThread` runs one loop for the life of a plant, so the transport (and its reader
task) is created once, inside the loop that serves it, and keeps reading between calls;
:meth:`EventLoopThread.call` hands a coroutine to it and waits at most a deadline, then cancels
it; :meth:`EventLoopThread.submit` queues one without waiting. The thread is a daemon: a loop
stuck in a vendor's call never keeps the process alive.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class CallTimeout(TimeoutError):
    """The coroutine did not finish within its deadline (it has been cancelled)."""


class EventLoopThread:
    def __init__(self, name: str) -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._loop is not None

    def start(self) -> None:
        loop = asyncio.new_event_loop()
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(started.set)
            loop.run_forever()

        self._thread = threading.Thread(target=run, name=self._name, daemon=True)
        self._thread.start()
        started.wait()
        self._loop = loop

    def call(self, coroutine: Coroutine[Any, Any, T], timeout_s: float) -> T:
        """Run ``coroutine`` on the loop; its result, or its exception, or CallTimeout."""
        if self._loop is None:
            coroutine.close()
            raise RuntimeError("the event loop is not running")
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(timeout_s)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise CallTimeout(f"no answer within {timeout_s * 1000:.0f} ms") from None

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Queue ``coroutine`` on the loop and return at once. Coroutines run in the order they
        were submitted or called, so a later call waits for this one."""
        if self._loop is None:
            coroutine.close()
            raise RuntimeError("the event loop is not running")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def stop(self, timeout_s: float = 1.0) -> None:
        """Cancel what still runs on the loop, stop it and join the thread. Idempotent."""
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is None or thread is None:
            return

        async def cancel_the_rest() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
            asyncio.run_coroutine_threadsafe(cancel_the_rest(), loop).result(timeout_s)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout_s)
        if not thread.is_alive():
            loop.close()


class InlineEventLoop:
    """The other seam: one event loop, run only inside :meth:`call`, on the caller's thread.

    No thread hop per call (the loop thread's wake-up and the caller's are each an OS
    scheduling delay, large on a loaded machine); in exchange the transport's reader runs only
    during calls (bytes that arrive between them wait in the kernel's buffer) and
    :meth:`submit` runs its coroutine to the end before it returns.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def running(self) -> bool:
        return self._loop is not None

    def start(self) -> None:
        self._loop = asyncio.new_event_loop()

    def call(self, coroutine: Coroutine[Any, Any, T], timeout_s: float) -> T:
        if self._loop is None:
            coroutine.close()
            raise RuntimeError("the event loop is not running")

        async def bounded() -> T:
            return await asyncio.wait_for(coroutine, timeout_s)

        try:
            return self._loop.run_until_complete(bounded())
        except TimeoutError:
            raise CallTimeout(f"no answer within {timeout_s * 1000:.0f} ms") from None

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``coroutine`` now (within 1 s) and return its outcome as a finished future."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        try:
            future.set_result(self.call(coroutine, 1.0))
        except Exception as exc:
            future.set_exception(exc)
        return future

    def stop(self, timeout_s: float = 1.0) -> None:
        loop, self._loop = self._loop, None
        if loop is None:
            return

        async def cancel_the_rest() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(Exception, asyncio.CancelledError):
            loop.run_until_complete(cancel_the_rest())
        loop.close()


def make_event_loop(kind: str, name: str) -> EventLoopThread | InlineEventLoop:
    """``"thread"``: :class:`EventLoopThread`; ``"inline"``: :class:`InlineEventLoop`."""
    if kind == "thread":
        return EventLoopThread(name)
    if kind == "inline":
        return InlineEventLoop(name)
    raise ValueError(f"event loop must be 'thread' or 'inline', got {kind!r}")
