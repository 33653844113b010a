"""``ddpg-control sweep`` on local worker processes: candidates trained, exported and scored, a
failure recorded, the best delivered by the rule, ``--resume`` running only what is unfinished."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from ddpg_control.cli import main
from ddpg_control.runtime.run_layout import BEST_CHECKPOINT, POLICY_FILE
from tests.ddpg_control.cli.sweep_runs import TINY_SCORE, tiny_sweep

CliError = Callable[[list[str]], str]


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seeds 0 and 1 on Pendulum-v1 and on an environment that does not exist, --jobs 2."""
    folder = tmp_path_factory.mktemp("sweeps") / "s"
    argv = tiny_sweep(folder, "--seeds", "0,1", "--set", "env.id=Pendulum-v1,Nope-v9")
    assert main([*argv, "--jobs", "2"]) == 0
    return folder


def _state(folder: Path) -> dict[str, dict]:
    data = json.loads((folder / "sweep.json").read_text())
    return {c["name"]: c for c in data["candidates"]}


def test_each_candidate_is_trained_exported_and_scored_and_a_failure_is_recorded(
    local_sweep: Path,
) -> None:
    state = _state(local_sweep)
    assert {n: c["status"] for n, c in state.items()} == {
        "c00": "done",
        "c01": "done",
        "c02": "failed",
        "c03": "failed",
    }
    for name in ("c02", "c03"):
        assert "Nope-v9" in state[name]["error"] and "\n" not in state[name]["error"]
    for name in ("c00", "c01"):
        run = local_sweep / "runs" / name
        for part in (BEST_CHECKPOINT, POLICY_FILE, "policy.score.json", "metrics.csv"):
            assert (run / part).is_file(), (name, part)
        score = json.loads((run / "policy.score.json").read_text())
        assert state[name]["metrics"]["overall_score"] == score["overall_score"]
        assert state[name]["config"]["seed"] == int(name[-1])
    rows = list(csv.DictReader((local_sweep / "sweep.csv").open()))
    assert [r["status"] for r in rows] == ["done", "done", "failed", "failed"]
    assert rows[0]["rank"] == "1" and "Nope-v9" in rows[2]["error"]
    assert "axis_success.mass" in rows[0] and "nominal.success" in rows[0]
    assert (local_sweep / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_best_by_the_rule_is_delivered_with_how_it_was_chosen(local_sweep: Path) -> None:
    state = _state(local_sweep)
    done = [c for c in state.values() if c["status"] == "done"]
    by_rule = sorted(
        done,
        key=lambda c: (
            -c["metrics"]["overall_score"],
            -c["metrics"]["nominal.success_tight"],
            -c["metrics"]["nominal.success"],
            c["name"],
        ),
    )
    best = by_rule[0]
    delivered = (local_sweep / POLICY_FILE).read_bytes()
    assert delivered == (local_sweep / "runs" / best["name"] / POLICY_FILE).read_bytes()
    summary = (local_sweep / "summary.txt").read_text()
    assert (
        f"best: {best['name']} (seed=" in summary and "chosen by highest overall_score" in summary
    )
    assert "failed: c02" in summary
    record = json.loads((local_sweep / "sweep.json").read_text())["best"]
    assert record["name"] == best["name"] and record["reason"].startswith("highest overall_score")


def test_resume_runs_only_the_unfinished_candidates(
    local_sweep: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "s"
    shutil.copytree(local_sweep, folder)
    data = json.loads((folder / "sweep.json").read_text())
    first = {c["name"]: dict(c) for c in data["candidates"]}
    for c in data["candidates"]:
        if c["name"] == "c01":  # as if the sweep had been killed while it ran
            c["status"], c["metrics"], c["worker"] = "pending", {}, ""
    (folder / "sweep.json").write_text(json.dumps(data))
    shutil.rmtree(folder / "runs" / "c01")
    kept = (folder / "runs" / "c00" / BEST_CHECKPOINT).stat().st_mtime_ns
    capsys.readouterr()
    assert main(["sweep", "--resume", str(folder), "--jobs", "1", "--quiet"]) == 0
    assert "3 of 4 candidates to run" in capsys.readouterr().err
    state = _state(folder)
    assert state["c00"] == first["c00"]  # finished: not run again
    assert (folder / "runs" / "c00" / BEST_CHECKPOINT).stat().st_mtime_ns == kept
    assert state["c01"]["status"] == "done"
    assert state["c01"]["metrics"] == first["c01"]["metrics"]  # same seed, same scores
    assert (folder / "runs" / "c01" / POLICY_FILE).is_file()
    assert state["c02"]["status"] == "failed"


def test_resume_refuses_options_that_would_change_the_candidates(
    local_sweep: Path, cli_error: CliError
) -> None:
    line = cli_error(["sweep", "--resume", str(local_sweep), "--seeds", "5"])
    assert "--seeds" in line and "--resume" in line


def test_a_rule_naming_no_measure_is_refused_before_any_work(
    tmp_path: Path, cli_error: CliError
) -> None:
    line = cli_error(tiny_sweep(tmp_path / "s", "--rank-by", "overall_score,speed"))
    assert "speed" in line and "nominal.success" in line
    assert not (tmp_path / "s").exists()


def test_a_sweep_where_every_candidate_fails_delivers_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "s"
    argv = tiny_sweep(folder, "--seeds", "0", "--set", "env.id=Nope-v9", "--jobs", "1")
    assert main(argv) == 1
    assert "no policy delivered" in capsys.readouterr().out
    assert not (folder / POLICY_FILE).exists() and (folder / "sweep.csv").is_file()


def test_a_candidate_is_the_policy_train_export_and_score_make_by_hand(
    local_sweep: Path, tmp_path: Path
) -> None:
    """Seed 0 on Pendulum-v1 with the sweep's config, by hand: the same scores, bit for bit."""
    runs = tmp_path / "runs"
    config = local_sweep.parent / "tiny.toml"
    assert main(["train", "--config", str(config), "--seed", "0", "--name", "hand",
                 "--runs-dir", str(runs), "--quiet"]) == 0  # fmt: skip
    assert main(["export", "--policy", str(runs / "hand")]) == 0
    out = tmp_path / "hand-score"
    score = ["score", "--policy", str(runs / "hand"), *TINY_SCORE, "--jobs", "1", "-o", str(out)]
    assert main(score) == 0
    (written,) = out.glob("*.score.json")
    by_hand = json.loads(written.read_text())
    swept = json.loads((local_sweep / "runs" / "c00" / "policy.score.json").read_text())
    by_hand.pop("controller"), swept.pop("controller")
    assert swept == by_hand
