"""A telemetry sink that streams rows to a CSV file while the loop runs, in bounded memory.

Each tick formats its row as a CSV line and appends it to the current chunk (2-3 us in a
tight loop; 5-10 us in a real 1 kHz loop, where caches are cold). Every ``chunk_s`` of run
time (0.5 s by default) the tick that ends the chunk joins its lines into one block of bytes
and hands it to a writer thread through a bounded queue (about 0.1 ms at 1 kHz, spent after
the tick's torque is written); the thread writes it and flushes it to the operating system.
So a process killed with SIGKILL leaves a file that holds every row but the last ``chunk_s``
or so (the kernel keeps what was flushed), with at most one last line cut short, which
:meth:`~ddpg_control.runtime.telemetry.Telemetry.read_csv` drops.

Why the work is split so (``bench/telemetry_sink.py`` measures the alternatives): formatting
takes ~1.5 us a row, 0.75 ms for a 0.5 s chunk at 1 kHz: too long for one tick's slack, and
in a thread it would hold the GIL that long, which the loop then waits for. A row at a time
it is a flat cost. The thread is left only the write, which can block (a slow SD card, a disk
under writeback pressure) but releases the GIL while it waits, so it never holds up a tick,
and holds the GIL itself for a few microseconds a chunk, which matters when the loop runs at
a real-time priority that the thread does not have.

Chunks are not fsynced (an fsync can take tens of milliseconds on flash and is not needed to
survive the process being killed); the file is fsynced once, at :meth:`TelemetryWriter.close`,
so a finished run also survives a power cut.

When the disk falls behind by ``max_pending_chunks`` chunks, further chunks are dropped and
counted instead of stalling the loop (``wait_when_behind=False``, for real time), or the loop
waits for the writer (``wait_when_behind=True``, for virtual time, where nothing is late).
"""

from __future__ import annotations

import logging
import os
import queue
import stat
import threading
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from ddpg_control.runtime.errors import TelemetryError
from ddpg_control.runtime.telemetry import CSV_HEADER, CSV_ROW_FORMAT
from ddpg_control.runtime.validation import require, require_positive

log = logging.getLogger(__name__)

DEFAULT_CHUNK_S = 0.5
DEFAULT_MAX_PENDING_CHUNKS = 8


class TelemetryWriter:
    """Streams telemetry rows to ``path`` as CSV; see the module docstring.

    The constructor does no I/O; :meth:`open` creates the folders and the file, writes the
    header and starts the writer thread; :meth:`close` writes what is left, waits for the
    thread, fsyncs and closes the file, and raises :class:`TelemetryError` if any row could
    not be written. A context manager (``with TelemetryWriter(path).open() as sink:``).
    """

    def __init__(
        self,
        path: Path,
        chunk_s: float = DEFAULT_CHUNK_S,
        max_pending_chunks: int = DEFAULT_MAX_PENDING_CHUNKS,
        wait_when_behind: bool = False,
    ) -> None:
        require_positive("chunk_s", chunk_s)
        require(
            max_pending_chunks >= 1,
            f"max_pending_chunks must be >= 1, got {max_pending_chunks!r}",
        )
        self.path = path
        self.chunk_s = chunk_s
        self.wait_when_behind = wait_when_behind
        self.rows_recorded = 0
        self.rows_dropped = 0
        self._lines: list[str] = []
        self._chunk_due_s = chunk_s
        self._queue: queue.Queue[tuple[bytes, int] | None] = queue.Queue(max_pending_chunks)
        self._file: BinaryIO | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        self._rows_written = 0
        self._write_error: Exception | None = None

    def open(self) -> TelemetryWriter:
        """Create the file (and its folders), write the header, start the writer thread.

        Raises ``OSError`` when the file cannot be created.
        """
        if self._file is not None or self._closed:
            raise TelemetryError(f"telemetry file {self.path} was already opened")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        file = self.path.open("wb")
        try:
            file.write(CSV_HEADER.encode())
            file.flush()
        except BaseException:
            file.close()
            raise
        self._file = file
        self._thread = threading.Thread(
            target=self._write_chunks, name=f"telemetry writer ({self.path.name})", daemon=True
        )
        self._thread.start()
        return self

    def __enter__(self) -> TelemetryWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def record(self, *row: float) -> None:
        self._lines.append(CSV_ROW_FORMAT % row)
        time_s = row[0]
        if time_s >= self._chunk_due_s:
            self._hand_over(wait=self.wait_when_behind)
            self._chunk_due_s = time_s + self.chunk_s

    def _hand_over(self, wait: bool) -> None:
        """Give the current chunk to the writer thread; drop it if the thread is behind."""
        if self._file is None:
            raise TelemetryError(f"telemetry file {self.path} is not open: call open() first")
        rows = len(self._lines)
        data = "".join(self._lines).encode()
        self._lines = []
        self.rows_recorded += rows
        try:
            self._queue.put((data, rows), block=wait)
        except queue.Full:
            if not self.rows_dropped:
                log.warning("telemetry: the disk fell behind, dropping rows (%s)", self.path)
            self.rows_dropped += rows

    def _write_chunks(self) -> None:
        """The writer thread: write and flush each chunk; after an error, only drain."""
        file = self._file
        assert file is not None
        while (chunk := self._queue.get()) is not None:
            if self._write_error is not None:
                continue
            data, rows = chunk
            try:
                file.write(data)
                file.flush()
                self._rows_written += rows
            except Exception as exc:  # disk full, device gone: the loop goes on, close() says so
                log.error("telemetry: writing %s failed: %s", self.path, exc)
                self._write_error = exc

    def close(self) -> None:
        """Write the rows not yet handed over, wait for the writer, fsync and close the file.

        Safe to call more than once. Raises :class:`TelemetryError` when rows were dropped or
        could not be written (the file then holds the rows written before that).
        """
        if self._closed:
            return
        self._closed = True
        if self._file is None:
            return
        if self._lines:
            self._hand_over(wait=True)
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join()
        try:
            self._file.flush()
            if stat.S_ISREG(os.fstat(self._file.fileno()).st_mode):
                os.fsync(self._file.fileno())
        except OSError as exc:
            self._write_error = self._write_error or exc
        finally:
            try:
                self._file.close()
            except OSError as exc:
                self._write_error = self._write_error or exc
        self._raise_if_incomplete()

    def _raise_if_incomplete(self) -> None:
        problems = []
        if self._write_error is not None:
            problems.append(
                f"writing stopped after {self._rows_written} of {self.rows_recorded} rows "
                f"({self._write_error})"
            )
        if self.rows_dropped:
            problems.append(
                f"{self.rows_dropped} of {self.rows_recorded} rows were dropped because the "
                "disk fell behind"
            )
        if problems:
            raise TelemetryError(f"telemetry {self.path} is incomplete: " + "; ".join(problems))
