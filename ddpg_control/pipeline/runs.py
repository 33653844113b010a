"""Run directories: ``runs/<name>/`` under the working directory, and the files in them.

Each command finds what the previous one made: ``train`` creates a run, ``export`` uses the
latest run's best checkpoint, ``run`` uses the latest run's ``policy.onnx`` and writes its
telemetry beside it. Torch-free.
"""

from __future__ import annotations

import datetime as _dt
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ddpg_control.runtime.errors import ConfigError, RunDirectoryError, first_line
from ddpg_control.runtime.run_layout import CHECKPOINT_DIR, CREATED_FILE, POLICY_FILE, TELEMETRY_DIR

if TYPE_CHECKING:
    from ddpg_control.runtime.telemetry_writer import TelemetryWriter

DEFAULT_RUNS_ROOT = Path("runs")


def new_run_dir(name: str | None = None, root: Path = DEFAULT_RUNS_ROOT) -> Path:
    """Create and return a fresh run directory, with its creation time recorded in it
    (:data:`CREATED_FILE`). The default name is a timestamp."""
    if name is None:
        name = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = root / name
    suffix = 1
    while path.exists():
        suffix += 1
        path = root / f"{name}-{suffix}"
    try:
        path.mkdir(parents=True)
    except OSError as exc:
        raise RunDirectoryError(
            f"cannot create the run directory '{path}': {first_line(exc)}; pass another --runs-dir"
        ) from None
    (path / CREATED_FILE).write_text(f"{time.time_ns()}\n")
    return path


def _training_time(path: Path) -> tuple[int, int] | None:
    """When the training in ``path`` was created, as a sort key; None if ``path`` is not a
    training. A run records its creation time in :data:`CREATED_FILE`. A folder without it
    (a run from an older version, or a policy placed by hand) counts if it holds
    :data:`CHECKPOINT_DIR` or :data:`POLICY_FILE`; such folders rank below every recorded run,
    and among themselves by the modification time of that folder or file (not of the run)."""
    try:
        return (1, int((path / CREATED_FILE).read_text().strip()))
    except (OSError, ValueError):
        pass
    for name in (CHECKPOINT_DIR, POLICY_FILE):
        if (path / name).exists():
            return (0, (path / name).stat().st_mtime_ns)
    return None


def latest_run(root: Path = DEFAULT_RUNS_ROOT, containing: str | None = None) -> Path:
    """The newest training under ``root`` (optionally: the newest one that holds
    ``containing``), by the creation time ``train`` recorded in it, never by a folder's
    modification time (which any command writing into a run changes). Folders that are not
    trainings (``classical/``, holding the classical controller's telemetry) never count."""
    if not root.is_dir():
        raise RunDirectoryError(
            f"no runs found under '{root}/': run 'ddpg-control train' first "
            "(or pass the file explicitly)"
        )
    trainings = {p: _training_time(p) for p in root.iterdir() if p.is_dir()}
    keys = {p: key for p, key in trainings.items() if key is not None}
    candidates = list(keys)
    if containing is not None:
        candidates = [p for p in candidates if (p / containing).exists()]
    if not candidates:
        what = f" with {containing}" if containing else ""
        raise RunDirectoryError(
            f"no run{what} under '{root}/': run 'ddpg-control train'"
            + (" and 'ddpg-control export --onnx'" if containing == POLICY_FILE else "")
            + " first (or pass the file explicitly)"
        )
    return max(candidates, key=lambda p: (keys[p], p.name))


def run_file(given: Path | None, name: str, root: Path = DEFAULT_RUNS_ROOT) -> Path:
    """The file a command acts with: ``given`` itself when it names a file, ``given/name`` when
    it names a run directory, else the latest run's ``name`` under ``root``."""
    if given is None:
        return latest_run(root, containing=name) / name
    if given.is_dir():
        if not (given / name).exists():
            raise RunDirectoryError(
                f"no {name} in the run directory '{given}': pass the file itself, or a run "
                f"directory that holds {name}"
            )
        return given / name
    return given


def _telemetry_time(path: Path) -> float:
    """When a telemetry CSV was recorded: the time in its default name
    (``<kind>-%Y%m%d-%H%M%S-%f.csv``), else the file's own modification time."""
    stamp = path.stem.split("-", 1)[-1]
    try:
        return _dt.datetime.strptime(stamp, "%Y%m%d-%H%M%S-%f").timestamp()
    except ValueError:
        return path.stat().st_mtime


def newest_telemetry(root: Path = DEFAULT_RUNS_ROOT) -> Path:
    """The most recently recorded telemetry CSV in any run under ``root`` (trainings and
    ``classical/`` alike), by its recorded time, not by which run folder changed last."""
    files = list(root.glob(f"*/{TELEMETRY_DIR}/*.csv")) if root.is_dir() else []
    if not files:
        raise RunDirectoryError(
            f"no telemetry CSV under '{root}/*/{TELEMETRY_DIR}/': run 'ddpg-control run --sim' "
            "first (or pass the file)"
        )
    return max(files, key=lambda p: (_telemetry_time(p), str(p)))


def telemetry_path(output: Path | None, folder: Path, kind: str) -> Path:
    """Where a run's telemetry CSV goes: ``output`` if it names a file, a new
    ``<kind>-<time>.csv`` inside ``output`` if it names a folder (an existing one, or a name
    without a suffix), else that new name inside ``folder``."""
    name = f"{kind}-{_dt.datetime.now().strftime('%Y%m%d-%H%M%S-%f')}.csv"
    if output is None:
        return folder / name
    return output / name if output.is_dir() or output.suffix == "" else output


def open_telemetry(path: Path, virtual_time: bool) -> TelemetryWriter:
    """The telemetry file, opened before anything moves: a run that cannot be recorded does
    not start. In virtual time the loop waits for the disk rather than drop rows."""
    from ddpg_control.runtime.telemetry_writer import TelemetryWriter

    try:
        return TelemetryWriter(path, wait_when_behind=virtual_time).open()
    except OSError as exc:
        raise ConfigError(
            f"cannot write telemetry to {path} ({exc.strerror or exc}): name a writable file "
            "or folder with --output"
        ) from None
