import math
from pathlib import Path

import numpy as np
import pytest

from ddpg_control.pipeline.telemetry_plot import plot_telemetry
from ddpg_control.runtime.errors import ConfigError
from ddpg_control.runtime.telemetry import (
    COLUMNS,
    CSV_HEADER,
    CSV_ROW_FORMAT,
    Stats,
    Telemetry,
    TelemetryRecorder,
    holding_upright,
    summarize,
)


def recorded(angles: list[float], period_s: float = 0.05) -> Telemetry:
    recorder = TelemetryRecorder()
    for i, angle in enumerate(angles):
        recorder.record(
            i * period_s,
            angle,
            -0.5 * angle,
            3.0 * angle,
            2.0,
            1e-4,
            2e-4 + i * 1e-6,
            1e-5,
            i * 1e-6,
        )
    return recorder.freeze()


def test_csv_round_trip_keeps_every_column(tmp_path: Path) -> None:
    telemetry = recorded([math.pi, 2.0, 1.0, 0.05, -0.01])
    path = telemetry.write_csv(tmp_path / "deep" / "run.csv")
    assert path.read_text().splitlines()[0] == ",".join(COLUMNS)
    back = Telemetry.read_csv(path)
    assert len(back) == 5
    for name in COLUMNS:
        np.testing.assert_allclose(back[name], telemetry[name], rtol=1e-8)


def test_an_empty_run_writes_a_header_only_csv(tmp_path: Path) -> None:
    path = TelemetryRecorder().freeze().write_csv(tmp_path / "empty.csv")
    back = Telemetry.read_csv(path)
    assert len(back) == 0
    summary = summarize(back, missed_deadlines=0, period_s=0.05)
    assert summary.ticks == 0 and not summary.holding_upright
    assert math.isnan(summary.lateness.p99)


def test_reading_something_else_says_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        Telemetry.read_csv(tmp_path / "missing.csv")
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(ConfigError, match="missing column"):
        Telemetry.read_csv(other)
    garbage = tmp_path / "garbage.csv"
    garbage.write_text(",".join(COLUMNS) + "\n1,2,three\n")
    with pytest.raises(ConfigError, match="not a telemetry CSV"):
        Telemetry.read_csv(garbage)


def test_stats_are_percentiles_and_max() -> None:
    stats = Stats.of(np.arange(1, 101, dtype=np.float64))
    assert stats.p50 == pytest.approx(50.5)
    assert stats.p99 == pytest.approx(99.01)
    assert stats.max == 100.0


def test_holding_upright_looks_at_the_last_window_only() -> None:
    swing_then_hold = [math.pi] * 100 + [0.05, -0.05] * 60  # 5 s swinging, 6 s near upright
    assert holding_upright(recorded(swing_then_hold))
    assert not holding_upright(recorded([*swing_then_hold, 0.2]))
    assert holding_upright(recorded([2 * math.pi + 0.01] * 120))  # angle is wrapped first


def test_summary_reports_ticks_misses_and_stage_latencies() -> None:
    summary = summarize(recorded([0.0] * 200), missed_deadlines=3, period_s=0.05)
    assert summary.ticks == 200
    assert summary.elapsed_s == pytest.approx(10.0)
    assert summary.achieved_rate_hz == pytest.approx(20.0)
    assert summary.read.p50 == pytest.approx(1e-4)
    assert summary.infer.max == pytest.approx(2e-4 + 199e-6)
    text = "\n".join(summary.lines())
    assert "3 deadlines" in text and "holding upright" in text


def final_line(angles: list[float]) -> str:
    return summarize(recorded(angles), missed_deadlines=0, period_s=0.05).lines()[-1]


def test_a_run_shorter_than_the_hold_window_is_not_called_holding_or_falling() -> None:
    upright_for_3_s = final_line([0.05] * 60)
    assert "|angle| < 0.1 rad for the whole run" in upright_for_3_s
    assert "3.00 s is too short to judge holding (it takes 5 s)" in upright_for_3_s
    assert "holding upright" not in upright_for_3_s
    tilted_in_3_s = final_line([0.05] * 59 + [0.3])
    assert "broken during the run" in tilted_in_3_s and "too short" in tilted_in_3_s
    assert "holding upright" not in tilted_in_3_s


def test_a_run_as_long_as_the_hold_window_gets_a_verdict() -> None:
    assert "(holding upright: |angle| < 0.1 rad over the last 5 s)" in final_line([0.0] * 100)
    assert "(not holding upright: " in final_line([0.0] * 99 + [0.2])
    assert "no readings" in summarize(recorded([]), 0, 0.05).hold_verdict()


def test_a_summary_without_verdict_says_only_the_final_angle() -> None:
    summary = summarize(recorded([0.0] * 100), missed_deadlines=0, period_s=0.05)
    assert summary.lines(verdict=False)[-1] == "final angle  +0.000 rad"
    assert summary.lines(verdict=False)[:-1] == summary.lines()[:-1]


def test_recorder_refuses_unequal_columns() -> None:
    with pytest.raises(ConfigError, match="differ in length"):
        Telemetry({name: np.zeros(3 if name == "angle_rad" else 2) for name in COLUMNS})


def test_plot_writes_a_png(tmp_path: Path) -> None:
    telemetry = recorded([math.pi - 0.02 * i for i in range(160)])
    out = plot_telemetry(telemetry, tmp_path / "run.png", title="test run")
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 20_000


@pytest.mark.parametrize("cut", ["0.15", "0.15,0.0", "0.15,0.05,-0.025,"])
def test_a_last_line_cut_short_is_dropped(tmp_path: Path, cut: str) -> None:
    path = recorded([0.1, 0.2, 0.3]).write_csv(tmp_path / "run.csv")
    path.write_text(path.read_text() + cut)  # killed while writing a fourth row
    back = Telemetry.read_csv(path)
    np.testing.assert_allclose(back["angle_rad"], [0.1, 0.2, 0.3])


def test_a_row_cut_inside_its_last_value_is_dropped_not_misread(tmp_path: Path) -> None:
    path = recorded([0.1, 0.2, 0.3]).write_csv(tmp_path / "run.csv")
    text = path.read_text()
    assert text.endswith(",2e-06\n")
    path.write_text(text[:-2])  # ",2e-0" would parse, as 2.0
    back = Telemetry.read_csv(path)
    np.testing.assert_allclose(back["angle_rad"], [0.1, 0.2])
    assert back["lateness_s"].max() < 1e-5


def test_a_header_only_file_cut_before_any_row_reads_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "run.csv"
    path.write_text(",".join(COLUMNS) + "\n0.0,3.1")
    assert len(Telemetry.read_csv(path)) == 0


def test_rows_are_written_in_the_csv_row_format(tmp_path: Path) -> None:
    telemetry = recorded([math.pi, 1e-12])
    lines = telemetry.write_csv(tmp_path / "run.csv").read_text().splitlines(keepends=True)
    assert lines[0] == CSV_HEADER
    for i, line in enumerate(lines[1:]):
        assert line == CSV_ROW_FORMAT % tuple(float(telemetry[c][i]) for c in COLUMNS)
    assert lines[1].split(",")[1] == "3.14159265"  # '%.9g'
