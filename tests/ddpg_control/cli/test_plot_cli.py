"""``ddpg-control plot``: where the picture goes."""

from __future__ import annotations

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
