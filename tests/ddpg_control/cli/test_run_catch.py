"""``run --catch lqr``: the LQR near upright, the policy elsewhere, and a record of which acted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ddpg_control.cli.main import main


def test_catch_lqr_holds_upright_and_says_how_much_of_the_run_each_controller_had(
    linear_policy: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A policy that rests 0.1 rad off upright (a constant 0.5 N*m lean): with the catch the
    pendulum ends upright, and the record beside the telemetry has one entry per tick."""
    policy = linear_policy(tmp_path / "lean.onnx", weights=(0.0, -4.0, -1.0), bias=0.25)
    telemetry = tmp_path / "t.csv"
    argv = ["run", "--sim", "--virtual-time", "--quiet", "--policy", str(policy)]
    argv += ["--start-angle-rad", "0.1", "--duration-s", "10", "--preset", "default"]
    assert main([*argv, "-o", str(tmp_path / "alone.csv")]) == 0
    alone = np.genfromtxt(tmp_path / "alone.csv", delimiter=",", names=True)
    assert abs(alone["angle_rad"][-1]) > 0.03  # the policy alone leans
    capsys.readouterr()
    assert main([*argv, "--catch", "lqr", "-o", str(telemetry)]) == 0
    out = capsys.readouterr().out
    rows = np.genfromtxt(telemetry, delimiter=",", names=True)
    record = np.genfromtxt(tmp_path / "t.controller.csv", delimiter=",", names=True)
    assert len(record) == len(rows) == 200
    assert np.array_equal(record["time_s"], rows["time_s"])
    assert record["controller"].all()  # it starts inside the region and stays there
    assert abs(rows["angle_rad"][-1]) < 0.005
    assert "catch: policy 0 ticks (0.0%), lqr 200 ticks (100.0%); 1 handovers" in out
