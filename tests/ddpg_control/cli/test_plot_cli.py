"""``ddpg-control plot``: where the picture goes."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from ddpg_control.cli.main import main

CliError = Callable[[list[str]], str]


@pytest.fixture
def telemetry_csv(tiny_policy: Path, tmp_path: Path) -> Path:
    """The telemetry of a short run in simulated time, as 'ddpg-control run' writes it."""
    csv = tmp_path / "sim.csv"
    argv = ["run", "--sim", "--policy", str(tiny_policy), "--virtual-time", "--quiet"]
    assert main([*argv, "--duration-s", "0.5", "--output", str(csv)]) == 0
    return csv


def test_plot_to_another_image_format(
    telemetry_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["plot", str(telemetry_csv), "-o", str(tmp_path / "plot.pdf")]) == 0
    assert (tmp_path / "plot.pdf").read_bytes()[:4] == b"%PDF"


def test_plot_to_a_place_that_cannot_be_written_is_one_error_line(
    telemetry_csv: Path, tmp_path: Path, cli_error: CliError
) -> None:
    (tmp_path / "a-file").write_text("")
    message = cli_error(["plot", str(telemetry_csv), "-o", str(tmp_path / "a-file" / "p.png")])
    assert "cannot write the plot" in message


def test_plot_with_no_file_takes_the_newest_recorded_telemetry_of_any_run(
    tmp_path: Path, linear_policy: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"
    linear_policy(runs / "lin" / "policy.onnx")
    short = ["--runs-dir", str(runs), "--virtual-time", "--duration-s", "0.2", "--quiet"]
    assert main(["run", "--sim", *short]) == 0
    assert main(["run", "--sim", "--policy", "classical", *short]) == 0
    os.utime(runs / "lin", ns=(2**62, 2**62))  # the trained run's folder changed last
    capsys.readouterr()
    assert main(["plot", "--runs-dir", str(runs)]) == 0
    (classical,) = (runs / "classical" / "telemetry").glob("*.csv")
    out = capsys.readouterr().out
    assert f"telemetry: {classical}" in out and classical.with_suffix(".png").is_file()
