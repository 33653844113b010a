"""The streaming telemetry sink: rows reach the file as the run goes, in the CSV format of a
whole-run write; a disk that stops keeping up costs rows, never a tick. "Disks" that stall or
break are real named pipes."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from ddpg_control.runtime.errors import TelemetryError
from ddpg_control.runtime.telemetry import CSV_HEADER, Telemetry, TelemetryRecorder
from ddpg_control.runtime.telemetry_writer import TelemetryWriter


def row(i: int, period_s: float = 0.01) -> tuple[float, ...]:
    return (i * period_s, 3.0 - 0.001 * i, -0.5, 2.5, 2.0, 1.5e-5, 3.25e-5, 4e-6, i * 1e-7)


def wait_for(condition, timeout_s: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_rows_reach_the_file_while_the_run_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "run.csv"
    writer = TelemetryWriter(path, chunk_s=0.5)
    assert not path.parent.exists()  # the constructor does no I/O
    writer.open()
    assert path.read_text() == CSV_HEADER  # the header is on disk before the first row
    for i in range(200):  # 2 s at 100 Hz
        writer.record(*row(i))
    # Chunks end at 0.5, 1.0 and 1.5 s; the rows after 1.5 s wait for the next one or close().
    wait_for(lambda: len(Telemetry.read_csv(path)) == 151)
    assert Telemetry.read_csv(path)["time_s"][-1] == pytest.approx(1.5)
    writer.close()
    assert len(Telemetry.read_csv(path)) == 200


def test_the_file_is_byte_for_byte_what_a_whole_run_write_gives(tmp_path: Path) -> None:
    recorder = TelemetryRecorder()
    streamed = TelemetryWriter(tmp_path / "streamed.csv", chunk_s=0.05, wait_when_behind=True)
    with streamed.open() as writer:
        for i in range(1000):
            writer.record(*row(i, period_s=0.001))
            recorder.record(*row(i, period_s=0.001))
    whole = recorder.freeze().write_csv(tmp_path / "whole.csv")
    assert (tmp_path / "streamed.csv").read_bytes() == whole.read_bytes()


def test_close_is_safe_twice_and_an_empty_run_leaves_a_header(tmp_path: Path) -> None:
    writer = TelemetryWriter(tmp_path / "empty.csv").open()
    writer.close()
    writer.close()
    assert len(Telemetry.read_csv(tmp_path / "empty.csv")) == 0
    with pytest.raises(TelemetryError, match="already opened"):
        writer.open()


def test_a_file_that_cannot_be_created_raises_on_open(tmp_path: Path) -> None:
    (tmp_path / "a_file").write_text("")
    with pytest.raises(OSError):
        TelemetryWriter(tmp_path / "a_file" / "run.csv").open()


def test_recording_into_a_writer_never_opened_is_an_error(tmp_path: Path) -> None:
    writer = TelemetryWriter(tmp_path / "run.csv", chunk_s=0.01)
    with pytest.raises(TelemetryError, match="call open"):
        for i in range(10):
            writer.record(*row(i))


@pytest.mark.timeout(60)
def test_a_stalled_disk_drops_rows_and_never_holds_up_a_tick(tmp_path: Path) -> None:
    fifo = tmp_path / "stalled.csv"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # open, but nobody reads: pipe fills
    writer = TelemetryWriter(fifo, chunk_s=0.01, max_pending_chunks=2).open()
    worst_s = 0.0
    for i in range(20_000):  # 20 s at 1 kHz, ~2 MB of CSV against a 64 kB pipe
        start = time.perf_counter()
        writer.record(*row(i, period_s=0.001))
        worst_s = max(worst_s, time.perf_counter() - start)
    assert writer.rows_dropped > 10_000
    assert worst_s < 0.5  # a blocked write would hold a tick for ever; the margin is for CI
    received = bytearray()

    def drain() -> None:
        os.set_blocking(reader, True)
        while chunk := os.read(reader, 1 << 16):
            received.extend(chunk)

    drainer = threading.Thread(target=drain)
    drainer.start()
    with pytest.raises(TelemetryError, match=r"rows were dropped because the disk fell behind"):
        writer.close()
    drainer.join()
    os.close(reader)
    copy = tmp_path / "received.csv"
    copy.write_bytes(bytes(received))
    kept = Telemetry.read_csv(copy)
    assert len(kept) == 20_000 - writer.rows_dropped
    assert np.all(np.diff(kept["time_s"]) > 0)  # whole chunks went missing, never parts


@pytest.mark.timeout(60)
def test_a_write_error_stops_writing_and_is_reported_at_close(tmp_path: Path) -> None:
    fifo = tmp_path / "broken.csv"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    writer = TelemetryWriter(fifo, chunk_s=0.01).open()
    os.close(reader)  # every write from now on fails: broken pipe
    for i in range(100):
        writer.record(*row(i))
    with pytest.raises(TelemetryError, match=r"writing stopped after 0 of 100 rows \(.*pipe"):
        writer.close()
