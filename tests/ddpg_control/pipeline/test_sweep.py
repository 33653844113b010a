"""The sweep's parts: candidates from seeds and grids, the record, the rule, the files."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from ddpg_control.pipeline.carried_policies import CarriedPolicies
from ddpg_control.pipeline.sweep import (
    DONE,
    FAILED,
    Candidate,
    Record,
    SweepState,
    expand,
    numbers,
    pack_folder,
    rank,
    split_values,
    unpack_folder,
)
from ddpg_control.runtime.errors import ConfigError


def test_candidates_are_every_seed_at_every_grid_point() -> None:
    grids = [("agent.tau", ["0.01", "0.005"]), ("env.randomize", ["false", "true"])]
    candidates = expand([0, 1], grids)
    assert len(candidates) == 8 and len({c.name for c in candidates}) == 8
    assert candidates[0].overrides == ["seed=0", "agent.tau=0.01", "env.randomize=false"]
    assert {(c.seed, c.settings) for c in candidates} == {
        (s, (("agent.tau", t), ("env.randomize", r)))
        for s in (0, 1)
        for t in ("0.01", "0.005")
        for r in ("false", "true")
    }
    assert [c.name for c in expand(range(11), [])][-1] == "c10"
    with pytest.raises(ConfigError, match="--seeds"):
        expand([0], [("seed", ["1"])])
    with pytest.raises(ConfigError, match="twice"):
        expand([0], [("agent.tau", ["1"]), ("agent.tau", ["2"])])


def test_grid_values_split_on_commas_outside_lists_and_quotes() -> None:
    assert split_values("1e-3, 3e-4") == ["1e-3", "3e-4"]
    assert split_values("[64, 64],[256, 256]") == ["[64, 64]", "[256, 256]"]
    assert split_values('"a,b",ou') == ['"a,b"', "ou"]
    with pytest.raises(ConfigError, match="empty"):
        split_values("1,,2")


def _record(name: str, status: str = DONE, **metrics: float) -> Record:
    return Record(Candidate(name, 0), {}, status, metrics=dict(metrics))


def test_the_rule_ranks_by_its_keys_in_turn_and_says_how_the_best_won() -> None:
    records = [
        _record("c00", overall_score=0.8, **{"nominal.success": 0.5}),
        _record("c01", overall_score=0.9, **{"nominal.success": 0.7}),
        _record("c02", overall_score=0.9, **{"nominal.success": 1.0}),
        _record("c03", FAILED),
        _record("c04", overall_score=math.nan),
    ]
    choice = rank(records, ("overall_score", "nominal.tight", "nominal.success"))
    assert [r.candidate.name for r in choice.ranked] == ["c02", "c01", "c00", "c04"]
    assert choice.keys == ("overall_score", "nominal.success")
    assert "2 tied, broken by nominal.success (1.000)" in choice.reason
    assert "not reported by score, so not used: nominal.tight" in choice.reason
    assert "still tied" not in choice.reason
    tied = rank(
        [_record("c01", overall_score=0.5), _record("c00", overall_score=0.5)], ["overall_score"]
    )
    assert tied.best is not None and tied.best.candidate.name == "c00"
    assert "2 still tied, the first by name" in tied.reason
    assert rank([_record("c00", FAILED)], ("overall_score",)).best is None


def test_numbers_flattens_every_number_of_a_summary() -> None:
    summary = {
        "overall_score": 0.5,
        "seed": 3,
        "axis_success": {"mass": 1.0},
        "nominal": {"success": 1, "held": True, "energy_j": None, "note": "x"},
        "points": [{"success": 1.0}],
    }
    found = numbers(summary)
    assert found.keys() == {
        "overall_score",
        "axis_success.mass",
        "nominal.success",
        "nominal.held",
        "nominal.energy_j",
    }
    assert found["nominal.held"] == 1.0 and math.isnan(found["nominal.energy_j"])


def test_a_run_folder_travels_as_bytes_and_the_record_round_trips(tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "best.pt").write_bytes(b"\x00weights")
    (run / "metrics.csv").write_text("step\n1\n")
    data = pack_folder(run)
    out = tmp_path / "sweep" / "runs" / "c00"
    out.mkdir(parents=True)
    (out / "left-by-a-killed-attempt").write_text("x")
    unpack_folder(data, out)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "checkpoints",
        "checkpoints/best.pt",
        "metrics.csv",
    ]
    assert (out / "checkpoints" / "best.pt").read_bytes() == b"\x00weights"
    record = _record("c00", overall_score=0.25, **{"nominal.x": math.nan})
    state = SweepState({"rank_by": ["overall_score"]}, [record, _record("c01", "pending")])
    state.save(tmp_path)
    loaded = SweepState.load(tmp_path)
    assert loaded.records[0].metrics["overall_score"] == 0.25
    assert math.isnan(loaded.records[0].metrics["nominal.x"])
    assert [r.candidate.name for r in loaded.unfinished()] == ["c01"]


def test_a_policy_is_carried_as_bytes_not_as_a_path(tmp_path: Path) -> None:
    import dataclasses
    import operator
    import pickle

    policy = tmp_path / "p.onnx"
    policy.write_bytes(b"onnx bytes")

    @dataclasses.dataclass(frozen=True)
    class Task:
        controller: str

    controller = operator.attrgetter("controller")  # what the episode function is handed
    carried = pickle.loads(pickle.dumps(CarriedPolicies(controller, [str(policy), "classical"])))
    policy.unlink()  # the worker's machine never had it
    local = carried(Task(str(policy)))
    assert local != str(policy) and Path(local).read_bytes() == b"onnx bytes"
    assert carried(Task("classical")) == "classical"
