"""ONNX policies carried to the workers as bytes, for ``score`` on a cluster whose machines do
not share this one's disk.

:class:`CarriedPolicies` wraps the benchmark's episode function: it holds each policy file's
bytes (read once, here), and in a worker writes them once to a local cache file named by their
SHA-256, then runs each episode with its task pointing at that file. Torch-free.
"""

from __future__ import annotations

import dataclasses
import hashlib
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ddpg_control.pipeline.controllers import is_classical
from ddpg_control.runtime.files import write_atomically

#: The folder, under the worker's temporary directory, of the policies it was sent.
CACHE_FOLDER = "ddpg-control-policies"


class CarriedPolicies:
    """``function(task)`` with ``task.controller`` (a policy path on this machine) replaced by
    the worker's own copy of that file."""

    def __init__(self, function: Callable[[Any], Any], controllers: Sequence[str]) -> None:
        self.function = function
        self.files = {
            name: Path(name).read_bytes() for name in controllers if not is_classical(name)
        }
        self._local: dict[str, str] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"function": self.function, "files": self.files, "_local": {}}

    def local_copy(self, name: str) -> str:
        """The worker's path for the policy called ``name`` here, written on first use."""
        if name not in self._local:
            data = self.files[name]
            path = Path(tempfile.gettempdir()) / CACHE_FOLDER / (_digest(data) + ".onnx")
            if not path.is_file() or path.read_bytes() != data:
                write_atomically(path, data)
            self._local[name] = str(path)
        return self._local[name]

    def __call__(self, task: Any) -> Any:
        if task.controller not in self.files:
            return self.function(task)
        local = self.local_copy(task.controller)
        return self.function(dataclasses.replace(task, controller=local))


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
