"""``ddpg-control run --sim`` and ``ddpg-control plot`` end to end: real onnxruntime, real PyBullet.

The policies here are small hand-built ONNX graphs (``max_torque * tanh(obs @ w + b)``) with
real artifact metadata, so these tests need no training and no torch.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ddpg_control.cli.main import main
from ddpg_control.runtime.telemetry import Telemetry

LinearPolicyWriter = Callable[..., Path]

DDPG_CONTROL = [sys.executable, "-m", "ddpg_control.cli.main"]


@pytest.fixture
def runs(tmp_path: Path, linear_policy: LinearPolicyWriter) -> Path:
    linear_policy(tmp_path / "runs" / "lin" / "policy.onnx")
    return tmp_path / "runs"


def run_cli(*argv: str) -> int:
    return main(list(argv))


def start_running(runs: Path, *options: str) -> subprocess.Popen[str]:
    """``run --sim`` until stopped, as a subprocess, returned once its live status line shows
    that the loop runs."""
    proc = subprocess.Popen(
        [*DDPG_CONTROL, "run", "--sim", "--runs-dir", str(runs), "--duration-s", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    line = ""
    deadline = time.monotonic() + 30
    while "lateness p99" not in line and time.monotonic() < deadline:
        line = proc.stderr.readline()
    return proc


def test_run_sim_defaults_to_the_latest_policy_and_writes_telemetry(
    runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cli("run", "--sim", "--runs-dir", str(runs), "--virtual-time", "--duration-s", "3")
    out, err = capsys.readouterr()
    assert code == 0
    assert "exit: completed (0)" in out
    assert "ticks        60 in 3.00 s" in out
    assert "at 20 Hz" in err and "rate" in err  # the start line and the live status
    csvs = list((runs / "lin" / "telemetry").glob("sim-*.csv"))
    assert len(csvs) == 1 and f"telemetry: {csvs[0]}" in out
    telemetry = Telemetry.read_csv(csvs[0])
    assert len(telemetry) == 60
    assert np.abs(telemetry["torque_sent_nm"]).max() <= 2.0
    assert telemetry["angle_rad"][0] == pytest.approx(-np.pi)  # started hanging down (wrapped)


def test_max_torque_start_angle_and_rate_options(
    runs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "out.csv"
    args = ["run", "--sim", "--runs-dir", str(runs), "--virtual-time", "--duration-s", "1"]
    args += [
        "--torque-limit-nm",
        "0.5",
        "--start-angle-rad",
        "1.0",
        "--rate-hz",
        "50",
        "--output",
        str(csv),
    ]
    code = run_cli(*args)
    out, err = capsys.readouterr()
    assert code == 0
    assert "differs from the 20 Hz" in err
    telemetry = Telemetry.read_csv(csv)
    assert len(telemetry) == 50
    assert np.abs(telemetry["torque_sent_nm"]).max() == pytest.approx(0.5)
    assert np.abs(telemetry["torque_cmd_nm"]).max() > 0.5
    assert telemetry["angle_rad"][0] == pytest.approx(1.0, abs=1e-6)


def test_telemetry_option_may_name_a_folder(runs: Path, tmp_path: Path) -> None:
    folder = tmp_path / "tele"
    code = run_cli(
        "run",
        "--sim",
        "--runs-dir",
        str(runs),
        "--virtual-time",
        "--quiet",
        "--duration-s",
        "1",
        "--output",
        str(folder),
    )
    assert code == 0
    (csv,) = folder.glob("sim-*.csv")
    assert len(Telemetry.read_csv(csv)) == 20


def test_leaving_the_velocity_envelope_is_a_safety_stop_exit(
    runs: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    linear_policy: LinearPolicyWriter,
) -> None:
    policy = linear_policy(tmp_path / "push" / "policy.onnx", weights=(0, 0, 0), bias=5.0)
    args = ["run", "--sim", "--policy", str(policy), "--virtual-time", "--max-velocity-rad-s", "3"]
    args += ["--start-angle-rad", "0.5"]  # falls from near upright, pushed the same way
    code = run_cli(*args)
    out, _ = capsys.readouterr()
    assert code == 4
    assert "exit: safety stop (4)" in out and "envelope" in out


def test_real_time_run_keeps_time(runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run_cli(
        "run", "--sim", "--runs-dir", str(runs), "--duration-s", "0.5", "--rate-hz", "100"
    )
    out, _ = capsys.readouterr()
    assert code == 0
    ticks = int(re.search(r"ticks\s+(\d+)", out).group(1))  # type: ignore[union-attr]
    missed = int(re.search(r"missed\s+(\d+) deadlines", out).group(1))  # type: ignore[union-attr]
    assert ticks + missed == 50  # every deadline of the 0.5 s either ran or was counted
    csv = next((runs / "lin" / "telemetry").glob("*.csv"))
    telemetry = Telemetry.read_csv(csv)
    assert len(telemetry) == ticks
    # Every tick belongs to its own deadline on the absolute 10 ms grid (no drift, no repeats).
    slots = (telemetry["time_s"] - telemetry["lateness_s"]) / 0.01
    np.testing.assert_allclose(slots, np.round(slots), atol=1e-6)
    assert np.all(np.diff(np.round(slots)) >= 1)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run"], "one of the arguments --sim --device is required"),
        (["run", "--sim", "--device", "/dev/null"], "not allowed with argument"),
    ],
)
def test_sim_or_device_is_required_and_exclusive(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        run_cli(*argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_no_policy_says_what_to_run_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cli("run", "--sim", "--runs-dir", str(tmp_path / "nothing"))
    assert code == 2
    assert "ddpg-control train" in capsys.readouterr().err


def test_a_policy_stronger_than_the_plant_is_clipped_to_the_plant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], linear_policy: LinearPolicyWriter
) -> None:
    strong = linear_policy(tmp_path / "strong" / "policy.onnx", max_torque_nm=5.0)
    csv = tmp_path / "strong.csv"
    args = ["--start-angle-rad", "2.0", "--duration-s", "2", "--output", str(csv), "--quiet"]
    code = run_cli("run", "--sim", "--policy", str(strong), "--virtual-time", *args)
    assert code == 0
    assert "2 N*m torque limit" in capsys.readouterr().out
    telemetry = Telemetry.read_csv(csv)
    assert np.abs(telemetry["torque_cmd_nm"]).max() > 2.0
    assert np.abs(telemetry["torque_sent_nm"]).max() == pytest.approx(2.0)


@pytest.mark.parametrize(
    "option", [["--duration-s", "-1"], ["--rate-hz", "0"], ["--torque-limit-nm", "0"]]
)
def test_bad_options_are_refused(
    runs: Path, option: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        run_cli("run", "--sim", "--runs-dir", str(runs), "--virtual-time", *option)
    assert exc.value.code == 2
    assert f"error: argument {option[0]}: " in capsys.readouterr().err


@pytest.mark.parametrize(
    ("sig", "code", "reason"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
)
def test_signals_stop_a_real_run_with_its_exit_code(
    runs: Path, sig: signal.Signals, code: int, reason: str
) -> None:
    proc = start_running(runs)
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == code
    assert f"exit: {reason} ({code})" in out
    assert len(list((runs / "lin" / "telemetry").glob("*.csv"))) == 1


def test_the_run_path_never_imports_torch(runs: Path) -> None:
    # The import contracts (pyproject.toml) check the source; this checks what a real
    # `run --sim` loads, third-party packages included, in a fresh interpreter.
    code = (
        "import sys\n"
        "from ddpg_control.cli.main import main\n"
        f"rc = main(['run', '--sim', '--runs-dir', {str(runs)!r}, '--virtual-time', '--quiet'])\n"
        "assert rc == 0, rc\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'onnx'})\n"
        "learning = sorted(m for m in sys.modules if m.startswith('ddpg_control.learning'))\n"
        "print('HEAVY', heavy + learning)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "HEAVY []" in done.stdout, done.stdout


def test_plot_turns_the_latest_telemetry_into_a_png(
    runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli("run", "--sim", "--runs-dir", str(runs), "--virtual-time", "--quiet") == 0
    capsys.readouterr()
    assert run_cli("plot", "--runs-dir", str(runs)) == 0
    out = capsys.readouterr().out
    png = Path(out.split("plot: ")[1].strip())
    assert png.suffix == ".png" and png.parent == runs / "lin" / "telemetry"
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_plot_of_a_bad_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("not,telemetry\n")
    assert run_cli("plot", str(bad)) == 2
    assert "missing column" in capsys.readouterr().err
    assert run_cli("plot", "--runs-dir", str(tmp_path / "none")) == 2
    assert os.path.exists(bad)


def test_sigkill_of_a_1_khz_run_leaves_the_telemetry_recorded_so_far(
    runs: Path, tmp_path: Path
) -> None:
    csv = tmp_path / "killed.csv"
    proc = start_running(runs, "--rate-hz", "1000", "--output", str(csv))
    time.sleep(5.0)
    proc.kill()
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    telemetry = Telemetry.read_csv(csv)
    assert telemetry["time_s"][-1] - telemetry["time_s"][0] >= 4.0


def test_a_telemetry_file_that_cannot_be_written_stops_the_run_before_it_starts(
    runs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a_file").write_text("")
    code = run_cli(
        "run",
        "--sim",
        "--runs-dir",
        str(runs),
        "--virtual-time",
        "--output",
        str(tmp_path / "a_file" / "run.csv"),
    )
    out, err = capsys.readouterr()
    assert code == 2
    assert "error: cannot write telemetry to" in err and "--output" in err
    assert "Traceback" not in err
    assert "run summary" not in out  # nothing ran


def test_policy_classical_is_a_name_and_its_telemetry_goes_under_runs_classical(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"
    argv = ["run", "--sim", "--policy", "classical", "--runs-dir", str(runs), "--virtual-time"]
    assert run_cli(*argv, "--duration-s", "1", "--quiet") == 0
    out, err = capsys.readouterr()
    assert "running the classical controller on the simulator" in err
    (csv,) = (runs / "classical" / "telemetry").glob("sim-*.csv")
    assert f"telemetry: {csv}" in out
    assert [p.name for p in runs.rglob("*") if p.is_dir()] == ["classical", "telemetry"]
    assert len(Telemetry.read_csv(csv)) == 20


def test_a_run_shorter_than_the_hold_window_that_stayed_upright_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", "--sim", "--policy", "classical", "--runs-dir", str(tmp_path / "runs")]
    assert run_cli(*argv, "--virtual-time", "--start-angle-rad", "0", "--duration-s", "3") == 0
    out = capsys.readouterr().out
    assert "not holding upright" not in out and "(holding upright" not in out
    assert "|angle| < 0.1 rad for the whole run; 3.00 s is too short to judge holding" in out
