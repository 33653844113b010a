"""Run directories: ``runs/<name>/`` under the working directory.

Each command finds what the previous one made: ``train`` creates a run, ``export`` uses the
latest run's best checkpoint, ``run`` uses the latest run's ``policy.onnx``. Torch-free.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from ddpg_control.runtime.errors import RunDirectoryError, first_line
from ddpg_control.runtime.run_layout import POLICY_FILE

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
