"""A sweep: candidate policies from seeds and grids of config values, each trained, exported
and scored somewhere (:mod:`~ddpg_control.pipeline.executor`), then ranked by a rule.

The sweep's folder holds its record, ``sweep.json``: every candidate with its settings, its
status (``pending``, ``done`` or ``failed`` with a one-line error) and what it measured,
rewritten atomically after each candidate so that a sweep killed half-way resumes where it
stopped. Each finished candidate's run directory comes back from its worker as bytes (an
uncompressed tar, :func:`pack_folder`) and is unpacked under ``runs/<candidate>/``. Torch-free.
"""

from __future__ import annotations

import io
import itertools
import json
import math
import shutil
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ddpg_control.runtime.errors import ConfigError, RunDirectoryError
from ddpg_control.runtime.files import write_atomically

STATE_FILE = "sweep.json"
RUNS_FOLDER = "runs"
TABLE_FILE = "sweep.csv"
SUMMARY_FILE = "summary.txt"
PLOT_FILE = "sweep.png"
#: The sweep record's layout version.
FORMAT = 1
PENDING, DONE, FAILED = "pending", "done", "failed"
#: The default rule: the overall score, ties broken by the nominal tight-band success, then the
#: nominal success. A key that no candidate reports is left out of the rule (and the rule says so).
DEFAULT_RANK = ("overall_score", "nominal.success_tight", "nominal.success")


@dataclass(frozen=True)
class Candidate:
    """One policy to train: its seed and the config values of its grid point, as typed."""

    name: str
    seed: int
    settings: tuple[tuple[str, str], ...] = ()

    @property
    def overrides(self) -> list[str]:
        """``KEY=VALUE`` texts, as ``train --set`` takes them (the seed first)."""
        return [f"seed={self.seed}", *(f"{key}={value}" for key, value in self.settings)]

    @property
    def label(self) -> str:
        return " ".join(self.overrides)


def split_values(text: str) -> list[str]:
    """``"1e-3,3e-4"`` -> ``["1e-3", "3e-4"]``; commas inside brackets or quotes stay
    (``"[64, 64],[256, 256]"`` is two values)."""
    values, depth, quote, start = [], 0, "", 0
    for i, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            values.append(text[start:i].strip())
            start = i + 1
    values.append(text[start:].strip())
    if not all(values):
        raise ConfigError(f"'{text}' has an empty value: separate values with single commas")
    return values


def expand(seeds: Sequence[int], grids: Sequence[tuple[str, Sequence[str]]]) -> list[Candidate]:
    """Every seed at every point of the grids (their product), named ``c00``, ``c01`` ..."""
    keys = [key for key, _ in grids]
    if len(set(keys)) != len(keys):
        raise ConfigError("a config key is set twice: give all its values in one --set")
    if "seed" in keys:
        raise ConfigError("set the seeds with --seeds, not --set seed=...")
    points = list(itertools.product(*(values for _, values in grids)))
    count = len(seeds) * len(points)
    width = max(2, len(str(count - 1)))
    return [
        Candidate(f"c{i:0{width}d}", seed, tuple(zip(keys, point, strict=True)))
        for i, (point, seed) in enumerate(itertools.product(points, seeds))
    ]


@dataclass(frozen=True)
class Outcome:
    """What a worker sends back for one candidate: all of it data, none of it a path."""

    run_files: bytes  # the run directory, as :func:`pack_folder` made it
    train: dict[str, Any]  # steps, episodes, seconds, evaluation return of best.pt
    score: dict[str, Any]  # score's JSON summary of the candidate's policy
    seconds: dict[str, float]  # wall-clock of train, export, score
    worker: str  # host and process that ran it


def pack_folder(folder: Path) -> bytes:
    """``folder``'s files as an uncompressed tar (checkpoints hardly compress)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for path in sorted(folder.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(folder)), recursive=False)
    return out.getvalue()


def unpack_folder(data: bytes, folder: Path) -> Path:
    """Write :func:`pack_folder`'s bytes as ``folder`` (replacing what a killed attempt left)."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
        tar.extractall(folder, filter="data")
    return folder


#: Numbers of score's summary that describe the run, not the policy.
NOT_MEASURES = ("seed", "episodes_per_point")


def numbers(summary: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """Every number of a JSON summary, nested keys joined with dots (lists are left out), so a
    measure ``score`` adds shows up in the sweep's table without a change here."""
    out: dict[str, float] = {}
    for key, value in summary.items():
        name = prefix + key
        if isinstance(value, Mapping):
            out.update(numbers(value, name + "."))
        elif isinstance(value, int | float) and name not in NOT_MEASURES:
            out[name] = float(value)
        elif value is None:
            out[name] = math.nan
    return out


@dataclass
class Record:
    """One candidate in the sweep's record."""

    candidate: Candidate
    config: dict[str, Any]  # the resolved training config
    status: str = PENDING
    error: str = ""
    train: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    worker: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.candidate.name,
            "seed": self.candidate.seed,
            "settings": [list(pair) for pair in self.candidate.settings],
            "config": self.config,
            "status": self.status,
            "error": self.error,
            "train": self.train,
            "metrics": {k: (None if math.isnan(v) else v) for k, v in self.metrics.items()},
            "seconds": self.seconds,
            "worker": self.worker,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Record:
        pairs = tuple((str(k), str(v)) for k, v in data["settings"])
        metrics = {k: (math.nan if v is None else float(v)) for k, v in data["metrics"].items()}
        return cls(
            Candidate(data["name"], int(data["seed"]), pairs),
            dict(data["config"]),
            data["status"],
            data["error"],
            dict(data["train"]),
            metrics,
            dict(data["seconds"]),
            data["worker"],
        )


@dataclass
class SweepState:
    """The sweep's record: what every candidate is (``settings`` says how they are scored and
    ranked) and how far each got."""

    settings: dict[str, Any]
    records: list[Record]
    best: dict[str, Any] = field(default_factory=dict)

    def unfinished(self) -> list[Record]:
        """Candidates without a result: never run, interrupted, or failed."""
        return [r for r in self.records if r.status != DONE]

    def save(self, folder: Path) -> Path:
        data = {
            "format": FORMAT,
            "settings": self.settings,
            "candidates": [r.to_json() for r in self.records],
            "best": self.best,
        }
        text = json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n"
        return write_atomically(folder / STATE_FILE, text.encode())

    @classmethod
    def load(cls, folder: Path) -> SweepState:
        path = folder / STATE_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RunDirectoryError(
                f"no {STATE_FILE} in '{folder}': pass the folder a sweep made to --resume"
            ) from None
        except (OSError, ValueError) as exc:
            raise RunDirectoryError(f"cannot read '{path}': {exc}") from None
        if data.get("format") != FORMAT:
            raise RunDirectoryError(f"'{path}' is not a sweep record this version reads")
        records = [Record.from_json(c) for c in data["candidates"]]
        return cls(dict(data["settings"]), records, dict(data.get("best", {})))


def _sort_value(record: Record, key: str) -> float:
    value = record.metrics.get(key, math.nan)
    return -math.inf if math.isnan(value) else value


@dataclass(frozen=True)
class Choice:
    """The ranked candidates that finished, the rule's keys in use, and how the best won."""

    ranked: list[Record]
    keys: tuple[str, ...]
    reason: str

    @property
    def best(self) -> Record | None:
        return self.ranked[0] if self.ranked else None


def rank(records: Sequence[Record], rule: Sequence[str]) -> Choice:
    """The finished candidates, best first: by each key of ``rule`` in turn, higher is better
    (missing values last), then by name. Keys no candidate reports are dropped from the rule."""
    done = [r for r in records if r.status == DONE]
    keys = tuple(k for k in rule if any(k in r.metrics for r in done)) or tuple(rule[:1])
    ranked = sorted(done, key=lambda r: (*(-_sort_value(r, k) for k in keys), r.candidate.name))
    return Choice(ranked, keys, _reason(ranked, keys, rule))


def _reason(ranked: Sequence[Record], keys: Sequence[str], rule: Sequence[str]) -> str:
    if not ranked:
        return "no candidate finished"
    best = ranked[0]
    text = f"highest {keys[0]} ({_shown(best, keys[0])})"
    for n, key in enumerate(keys[1:], start=1):
        tied = [r for r in ranked if all(_same(r, best, k) for k in keys[:n])]
        if len(tied) > 1:
            text += f"; {len(tied)} tied, broken by {key} ({_shown(best, key)})"
    still = [r for r in ranked if all(_same(r, best, k) for k in keys)]
    if len(still) > 1:
        text += f"; {len(still)} still tied, the first by name"
    dropped = [k for k in rule if k not in keys]
    if dropped:
        text += f"; not reported by score, so not used: {', '.join(dropped)}"
    return text + f"; rule: {','.join(rule)}"


def _same(a: Record, b: Record, key: str) -> bool:
    return _sort_value(a, key) == _sort_value(b, key)


def _shown(record: Record, key: str) -> str:
    value = record.metrics.get(key, math.nan)
    return "n/a" if math.isnan(value) else f"{value:.3f}"
