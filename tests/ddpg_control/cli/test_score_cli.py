"""``ddpg-control score``: the classical anchor, reproducibility, the delay trend, the outputs."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ddpg_control.cli.main import main
from ddpg_control.cli.score import nominal_line
from ddpg_control.pipeline.controllers import CLASSICAL
from ddpg_control.pipeline.runs import new_run_dir
from ddpg_control.pipeline.score_report import score_figure
from ddpg_control.pipeline.scoring import (
    AXES,
    Axis,
    Episode,
    Plan,
    PointResult,
    ScoreResult,
    _measure,
    benchmark_params,
    score,
)
from ddpg_control.runtime.run_layout import POLICY_FILE
from sim.params import preset


def _score(out: Path, *options: str) -> int:
    return main(
        ["score", "--policy", CLASSICAL, "--quick", "--quiet", "--output", str(out), *options]
    )


def test_classical_scores_one_at_nominal_and_same_seed_writes_the_same_bytes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    axes = "mass,pushes"
    one, two = tmp_path / "one", tmp_path / "two"
    assert _score(one, "--axes", axes, "--seed", "7", "--jobs", "1") == 0
    assert _score(two, "--axes", axes, "--seed", "7", "--jobs", "2") == 0
    out = capsys.readouterr().out
    for name in ("classical.score.csv", "classical.score.json"):
        assert (one / name).read_bytes() == (two / name).read_bytes(), name
    result = json.loads((one / "classical.score.json").read_text())
    assert result["nominal"]["success"] == 1.0
    assert set(result["axis_success"]) == set(axes.split(","))
    assert result["overall_score"] == pytest.approx(np.mean(list(result["axis_success"].values())))
    assert "overall score" in out and "nominal: success 1.00" in out
    assert (one / "score.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_score_prints_and_writes_both_success_rates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The classical controller (LQR about upright, no friction) ends in the tight band at the
    nominal rig: both rates show per axis, in the nominal lines, the JSON and the CSV."""
    assert _score(tmp_path, "--axes", "mass", "--seed", "2", "--jobs", "1") == 0
    out = capsys.readouterr().out
    assert "loose  tight" in out
    assert "nominal, tight band (0.02 rad and 0.2 rad/s to the end): success 1.00" in out
    mass_line = next(line for line in out.splitlines() if line.strip().startswith("mass"))
    assert "1:1.00/1.00" in mass_line
    result = json.loads((tmp_path / "classical.score.json").read_text())
    assert result["nominal"]["success_tight"] == 1.0
    assert 0.0 < result["nominal"]["time_to_tight_s"] < 10.0
    assert abs(result["nominal"]["rest_angle_rad"]) < 1e-3
    assert result["overall_tight"] == pytest.approx(result["axis_success_tight"]["mass"])
    assert result["overall_score"] == pytest.approx(result["axis_success"]["mass"])
    header = (tmp_path / "classical.score.csv").read_text().splitlines()[0].split(",")
    for column in ("success", "success_tight", "time_to_tight_s", "rest_angle_rad"):
        assert column in header


def test_an_episode_that_rests_off_upright_succeeds_loosely_but_not_tightly() -> None:
    period, ticks = 0.05, 300
    swing = np.linspace(np.pi, 0.05, 60)
    leaning = np.concatenate([swing, np.full(ticks - 60, 0.05)])
    episode = _measure(leaning, np.zeros(ticks), np.full(ticks, 0.4), period)
    assert episode.success and not episode.success_tight
    assert math.isnan(episode.time_to_tight_s)
    assert episode.rest_angle_rad == pytest.approx(0.05)
    assert episode.rest_torque_nm == pytest.approx(0.4)
    upright = np.concatenate([swing, np.full(ticks - 60, 0.005)])
    upright[200] = 0.03  # leaves the tight band once, then comes back for good
    episode = _measure(upright, np.zeros(ticks), np.zeros(ticks), period)
    assert episode.success and episode.success_tight
    assert episode.time_to_tight_s == pytest.approx(201 * period)


def test_success_does_not_rise_as_the_measurement_delay_grows() -> None:
    """Non-increasing within the benchmark's noise: one episode's worth (1/n) per step."""
    delay = next(a for a in AXES if a.name == "measurement delay")
    axis = Axis(delay.name, delay.field, (0.0, 1.0, 2.0, 3.0, 4.0, 5.0), delay.unit, delay.mode)
    episodes = 6
    base = benchmark_params(preset("default"))
    (result,) = score([CLASSICAL], base, Plan((axis,), episodes, seed=0), map)
    rates = [p.success_rate for p in result.points]
    assert rates[0] == 1.0 and rates[-1] < 1.0, rates
    for earlier, later in zip(rates, rates[1:], strict=False):
        assert later <= earlier + 1.0 / episodes, rates


def test_classical_holds_at_upright_with_no_steady_state_error() -> None:
    base = benchmark_params(preset("default"))
    mass = next(a for a in AXES if a.name == "mass")
    (result,) = score([CLASSICAL], base, Plan((mass,), 2, seed=0, duration_s=10.0), map)
    assert result.nominal.success_rate == 1.0
    assert abs(result.nominal.mean_over_successes("rest_angle_rad")) < 1e-3
    assert result.nominal.mean_over_successes("time_to_upright_s") < 5.0
    assert math.isfinite(result.nominal.mean_over_successes("energy_j"))


def test_params_file_sets_the_nominal_rig(tmp_path: Path) -> None:
    """``--params`` (e.g. from ``identify``) replaces the preset as the rig every axis is
    perturbed around; the classical controller is designed for it and holds it."""
    from sim.params_file import params_toml, write_params_file

    heavy = preset("default").with_changes(mass_kg=1.3, joint_damping_nm_s_rad=0.02)
    rig = write_params_file(tmp_path / "rig.toml", params_toml(heavy))
    nominal, fitted = tmp_path / "nominal", tmp_path / "fitted"
    assert _score(nominal, "--axes", "mass", "--seed", "3") == 0
    assert _score(fitted, "--axes", "mass", "--seed", "3", "--params", str(rig)) == 0
    default_run = json.loads((nominal / "classical.score.json").read_text())["nominal"]
    rig_run = json.loads((fitted / "classical.score.json").read_text())["nominal"]
    assert rig_run["success"] == 1.0
    assert rig_run["time_to_upright_s"] != default_run["time_to_upright_s"]


def _point(*successes: bool) -> PointResult:
    nan = math.nan
    episodes = tuple(
        Episode(ok, 2.0 if ok else nan, 9.0, 3.0, 0.01 if ok else nan, 0.2 if ok else nan)
        for ok in successes
    )
    return PointResult("nominal", 1.0, "x", episodes)


def test_the_nominal_line_says_there_is_nothing_to_average_instead_of_nan() -> None:
    line = nominal_line(_point(False, False))
    assert "nan" not in line
    assert line.startswith("  nominal: success 0.00 (no episode swung up and held")


def test_the_nominal_line_averages_the_successful_episodes() -> None:
    line = nominal_line(_point(True, False))
    assert "success 0.50, time to upright 2.00 s" in line
    assert "held at +0.0100 rad with +0.200 N*m" in line


def test_score_with_no_policy_takes_the_newest_training_and_says_so(
    tmp_path: Path, linear_policy: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"
    old, new = new_run_dir("old", root=runs), new_run_dir("new", root=runs)
    for run in (old, new):
        linear_policy(run / POLICY_FILE)
    os.utime(old, ns=(2**62, 2**62))  # the older run's folder changed last
    argv = ["score", "--runs-dir", str(runs), "--quick", "--quiet", "--axes", "mass"]
    options = ["--episodes", "1", "--duration-s", "6", "--jobs", "1"]
    assert main([*argv, *options, "--output", str(tmp_path / "out")]) == 0
    assert f"policy: {new / POLICY_FILE} (the latest training's)" in capsys.readouterr().err


def test_score_writes_into_a_new_folder_of_its_own_never_into_the_policy_s_run(
    tmp_path: Path, linear_policy: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"
    run = new_run_dir("trained", root=runs)
    linear_policy(run / POLICY_FILE)
    before = sorted(p.name for p in run.rglob("*"))
    argv = ["score", "--runs-dir", str(runs), "--quick", "--quiet", "--axes", "mass"]
    options = ["--episodes", "1", "--duration-s", "6", "--jobs", "1"]
    assert main([*argv, *options]) == 0
    twice = ["--policy", str(run), "--policy", str(run / POLICY_FILE)]  # one name, two policies
    assert main([*argv, *options, "--policy", CLASSICAL, *twice]) == 0
    out = capsys.readouterr().out
    assert sorted(p.name for p in run.rglob("*")) == before
    first, second = sorted((runs / "scores").iterdir())  # one folder per scoring
    assert sorted(p.name for p in first.iterdir()) == [
        "score.png", "trained-policy.score.csv", "trained-policy.score.json"
    ]  # fmt: skip
    assert {"trained-policy.score.csv", "trained-policy-2.score.csv"} < {
        p.name for p in second.iterdir()
    }
    assert sorted(p.name for p in second.iterdir())[0] == "classical.score.csv"
    assert f"wrote {first / 'trained-policy.score.csv'}" in out
    assert f"plot: {second / 'score.png'}" in out


def _result(name: str, rates: tuple[float, ...]) -> ScoreResult:
    points = tuple(
        PointResult(
            axis, x, "x", tuple(Episode(i < 4 * r, 2.0, 9.0, 3.0, 0.0, 0.0) for i in range(4))
        )
        for axis in ("mass", "length")
        for x, r in zip((0.5, 1.0, 1.5), rates, strict=True)
    )
    return ScoreResult(name, 0, 4, points, points[1])


def test_lines_that_coincide_keep_the_colours_of_the_legend(tmp_path: Path) -> None:
    from matplotlib.colors import to_rgb

    results = [_result("a", (1.0, 1.0, 0.5)), _result("b", (1.0, 1.0, 0.5))]  # the same line
    figure = score_figure(results, ["a", "b"])
    drawn = [line for ax in figure.axes for line in ax.get_lines()]
    lines = [line for line in drawn if line.get_markerfacecolor() != "none"]  # loose success
    tight = [line for line in drawn if line.get_markerfacecolor() == "none"]
    assert len(tight) == len(lines) and {t.get_color() for t in tight} == {"C0", "C1"}
    (legend,) = figure.legends
    assert [t.get_text() for t in legend.get_texts()] == [
        "a: overall 0.83 (tight 0.00)",
        "b: overall 0.83 (tight 0.00)",
    ]
    looks = {(line.get_color(), line.get_marker(), line.get_linestyle()) for line in lines}
    handles = [(h.get_color(), h.get_marker(), h.get_linestyle()) for h in legend.legend_handles]
    assert looks == set(handles) and len(set(handles)) == 2  # each its own colour, marker, style
    assert all(line.get_alpha() in (None, 1.0) for line in lines)
    # In the panels (above the legend), both legend colours are drawn pure: none is blended.
    path = tmp_path / "score.png"
    figure.savefig(path, dpi=90)
    pixels = np.round(plt_imread(path)[..., :3] * 255).astype(int)
    panels = pixels[: int(pixels.shape[0] * 0.75)]
    for color in ("C0", "C1"):
        pure = np.round(np.array(to_rgb(color)) * 255).astype(int)
        assert np.any(np.all(panels == pure, axis=-1)), color


def plt_imread(path: Path) -> np.ndarray:
    import matplotlib.pyplot as plt

    return np.asarray(plt.imread(path))
