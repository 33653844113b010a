"""``run``/``excite`` with ``--live`` and ``--mcap``, end to end: the real foxglove-sdk server
and MCAP writer, a client speaking Foxglove's WebSocket protocol, the ``mcap`` reader, the real
simulator and control loop. The ``foxglove`` extra is part of ``make test``'s install."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from ddpg_control.cli.main import main
from ddpg_control.pipeline.foxglove_view import (
    LAYOUT_PLOTS,
    FoxgloveOutlet,
    LiveAddress,
    layout_json,
)
from ddpg_control.pipeline.mcap_log import read_mcap_telemetry, read_telemetry
from ddpg_control.runtime.telemetry import COLUMNS, Telemetry, TelemetryRecorder
from ddpg_control.runtime.tick_feed import (
    STATUS_TOPIC,
    TICK_FIELDS,
    TICK_TOPIC,
    FeedConfig,
    TickFeed,
)
from tests.ddpg_control.foxglove_client import FoxgloveClient

CLASSICAL_SIM = ["run", "--sim", "--policy", "classical", "--quiet"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def same_rows(a: Telemetry, b: Telemetry) -> bool:
    """Equal as the CSV writes them (%.9g): the MCAP keeps full doubles."""
    return len(a) == len(b) and all(
        [f"{v:.9g}" for v in a[name]] == [f"{v:.9g}" for v in b[name]] for name in COLUMNS
    )


def test_a_client_gets_every_tick_at_the_loop_rate_while_another_is_stalled(
    tmp_path: Path,
) -> None:
    port = free_port()
    url = f"ws://127.0.0.1:{port}"
    reader = FoxgloveClient(url)
    stalled = FoxgloveClient(url, topics=(TICK_TOPIC,))

    def watch() -> None:
        reader.connect().start_reading()
        stalled.connect(receive_buffer=4096, max_queue=1)  # and never reads

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    csv, log = tmp_path / "run.csv", tmp_path / "run.mcap"
    argv = [*CLASSICAL_SIM, "--runs-dir", str(tmp_path), "--rate-hz", "200", "--duration-s", "1"]
    assert main([*argv, "--live", str(port), "--output", str(csv), "--mcap", str(log)]) == 0
    watcher.join(5)
    reader.wait_closed()  # the server stops when the run ends
    stalled.close()

    rows = Telemetry.read_csv(csv)
    assert same_rows(read_mcap_telemetry(log), rows)
    ticks = [r.message for r in reader.on(TICK_TOPIC)]
    assert set(ticks[0]) == set(TICK_FIELDS)
    assert {c["schemaEncoding"] for c in reader.advertised.values()} == {"jsonschema"}
    # from its first message on, the client got every tick, in order, at the loop's rate
    first = int(np.searchsorted(rows["time_s"], ticks[0]["time_s"]))
    assert len(ticks) >= 0.25 * len(rows)  # it subscribed while the loop started
    assert [f"{t['time_s']:.9g}" for t in ticks] == [f"{t:.9g}" for t in rows["time_s"][first:]]
    assert np.median(np.diff([t["time_s"] for t in ticks])) == pytest.approx(0.005, rel=0.01)
    statuses = [r.message for r in reader.on(STATUS_TOPIC)]
    assert statuses[-1]["state"] == "completed" and statuses[-1]["faults"] == []
    assert statuses[-2]["rate_hz"] == pytest.approx(200, rel=0.25)


def test_a_stalled_client_loses_messages_and_the_feed_never_waits_for_it(
    tmp_path: Path,
) -> None:
    ticks = 20_000  # ~7 MB of messages: more than the kernel buffers and the server's backlog
    log = tmp_path / "stalled.mcap"
    with FoxgloveOutlet(LiveAddress("127.0.0.1", 0), log).open() as outlet:
        stalled = FoxgloveClient(f"ws://127.0.0.1:{outlet.port}", topics=(TICK_TOPIC,))
        stalled.connect(receive_buffer=4096, max_queue=1)
        recorder = TelemetryRecorder()
        # The feed waits for its own thread here, never drops: a thread held up by the
        # stalled client would hold this loop up too.
        feed = TickFeed(recorder, outlet, FeedConfig(1.0, 0.001, wait_when_behind=True)).open()
        started = time.perf_counter()
        for i in range(ticks):
            feed.record(i * 0.001, 0.1, 0.2, 0.3, 0.3, 1e-5, 2e-5, 1e-5, 3e-6)
        feed.close()
        took_s = time.perf_counter() - started
        stalled.start_reading()
        time.sleep(0.2)
    stalled.wait_closed()
    assert took_s < 10.0
    assert len(read_mcap_telemetry(log)) == ticks  # every tick in the log
    assert 0 < len(stalled.on(TICK_TOPIC)) < ticks  # the stalled client's oldest were dropped


def test_the_mcap_log_equals_the_csv_row_for_row_and_plots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [*CLASSICAL_SIM, "--runs-dir", str(tmp_path), "--virtual-time", "--duration-s", "4"]
    assert main([*argv, "--mcap"]) == 0  # no FILE: beside the CSV
    (csv,) = (tmp_path / "classical" / "telemetry").glob("*.csv")
    log = csv.with_suffix(".mcap")
    assert f"mcap log: {log}" in capsys.readouterr().err
    rows = Telemetry.read_csv(csv)
    assert len(rows) == 80 and same_rows(read_telemetry(log), rows)
    assert main(["plot", str(log), "--output", str(tmp_path / "p.png")]) == 0
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


def test_excite_writes_the_same_mcap_log(tmp_path: Path) -> None:
    csv, log = tmp_path / "x.csv", tmp_path / "x.mcap"
    argv = ["excite", "--sim", "--virtual-time", "--duration-s", "2", "--quiet"]
    assert main([*argv, "--output", str(csv), "--mcap", str(log)]) == 0
    assert same_rows(read_mcap_telemetry(log), Telemetry.read_csv(csv))


def test_an_mcap_log_cut_by_sigkill_is_read_up_to_its_last_chunk(tmp_path: Path) -> None:
    csv, log = tmp_path / "killed.csv", tmp_path / "killed.mcap"
    cmd = [sys.executable, "-m", "ddpg_control.cli.main", "run", "--sim", "--policy"]
    cmd += ["classical", "--runs-dir", str(tmp_path), "--rate-hz", "1000", "--duration-s", "0"]
    proc = subprocess.Popen(
        [*cmd, "--output", str(csv), "--mcap", str(log)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 30
    while "lateness p99" not in proc.stderr.readline() and time.monotonic() < deadline:
        pass
    time.sleep(1.2)  # the MCAP's chunks end every 0.5 s of run time
    proc.kill()
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert not log.read_bytes().endswith(b"\x89MCAP0\r\n")  # no footer: really cut short
    cut = read_mcap_telemetry(log)
    rows = Telemetry.read_csv(csv)
    assert cut["time_s"][-1] >= 0.5  # all but the last half second or so
    n = min(len(cut), len(rows))
    head = Telemetry({k: v[:n] for k, v in rows.columns.items()})
    assert same_rows(Telemetry({k: v[:n] for k, v in cut.columns.items()}), head)


@pytest.mark.parametrize(
    "argv",
    [
        [*CLASSICAL_SIM, "--virtual-time", "--live", "8765"],
        ["excite", "--sim", "--virtual-time", "--mcap", "x.mcap"],
    ],
)
def test_without_the_extra_live_and_mcap_are_a_one_line_error(
    argv: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "foxglove", None)  # as if not installed: import fails
    monkeypatch.chdir(tmp_path)
    assert main([*argv, "--runs-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    option = "--live" if "--live" in argv else "--mcap"
    assert err == f"error: {option} needs the foxglove extra: pip install 'ddpg-control[foxglove]'"
    assert not list(tmp_path.rglob("*.csv"))  # refused before anything was written


def test_a_live_view_on_another_host_warns_and_a_bad_mcap_path_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [*CLASSICAL_SIM, "--runs-dir", str(tmp_path), "--virtual-time", "--duration-s", "1"]
    assert main([*argv, "--live", "0.0.0.0:0"]) == 0
    err = capsys.readouterr().err
    assert "live view: ws://0.0.0.0:" in err
    assert "warning: the live view listens on 0.0.0.0, not only on this machine" in err
    assert main([*argv, "--live", "0"]) == 0
    assert "warning" not in capsys.readouterr().err
    (tmp_path / "a_file").write_text("")
    assert main([*argv, "--mcap", str(tmp_path / "a_file" / "x.mcap")]) == 2
    assert "error: cannot write the MCAP log" in capsys.readouterr().err


def test_the_shipped_layout_is_the_one_built_and_plots_tick_fields() -> None:
    shipped = Path(__file__).resolve().parents[3] / "docs" / "foxglove_layout.json"
    assert shipped.read_text() == layout_json()  # docs/live.md says how to rebuild it
    plotted = {name for _, _, series in LAYOUT_PLOTS for name, _ in series}
    assert plotted <= set(TICK_FIELDS)
    assert {"angle_rad", "velocity_rad_s", "torque_sent_nm", "lateness_s"} <= plotted
    assert all(f'"{TICK_TOPIC}.{name}"' in shipped.read_text() for name in plotted)


@pytest.mark.parametrize("content", [b"hello", b"not an mcap file at all, " * 10])
def test_plot_of_a_file_that_is_not_an_mcap_log_is_a_one_line_error(
    content: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.mcap"
    bad.write_bytes(content)
    assert main(["plot", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: '{bad}' is not an MCAP log") and "\n" not in err
