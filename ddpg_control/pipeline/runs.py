"""Run directories: ``runs/<name>/`` under the working directory, and the files in them.

Each command finds what the previous one made: ``train`` creates a run, ``export`` uses the
latest run's best checkpoint, ``run`` uses the latest run's ``policy.onnx`` and writes its
telemetry beside it. Torch-free.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import TYPE_CHECKING

from ddpg_control.runtime.errors import ConfigError, RunDirectoryError, first_line
from ddpg_control.runtime.run_layout import POLICY_FILE

if TYPE_CHECKING:
    from ddpg_control.runtime.telemetry_writer import TelemetryWriter

DEFAULT_RUNS_ROOT = Path("runs")


def new_run_dir(name: str | None = None, root: Path = DEFAULT_RUNS_ROOT) -> Path:
    """Create and return a fresh run directory. The default name is a timestamp."""
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
    return path


def latest_run(root: Path = DEFAULT_RUNS_ROOT, containing: str | None = None) -> Path:
    """The most recently modified run directory (optionally: one that holds ``containing``)."""
    if not root.is_dir():
        raise RunDirectoryError(
            f"no runs found under '{root}/': run 'ddpg-control train' first "
            "(or pass the file explicitly)"
        )
    candidates = [p for p in root.iterdir() if p.is_dir()]
    if containing is not None:
        candidates = [p for p in candidates if (p / containing).exists()]
    if not candidates:
        what = f" with {containing}" if containing else ""
        raise RunDirectoryError(
            f"no run{what} under '{root}/': run 'ddpg-control train'"
            + (" and 'ddpg-control export --onnx'" if containing == POLICY_FILE else "")
            + " first (or pass the file explicitly)"
        )
    return max(candidates, key=lambda p: p.stat().st_mtime_ns)


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
