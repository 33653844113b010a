"""Simulating prints nothing on stderr of its own: PyBullet's import line is silenced."""

from __future__ import annotations

import subprocess
import sys


def test_building_the_simulator_writes_nothing_to_stderr() -> None:
    code = "import sim.bullet_pendulum, pybullet; print(pybullet.__name__)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "pybullet"
    assert "pybullet build time" not in done.stderr, done.stderr
    assert done.stderr == ""


def test_stderr_works_again_after_the_import() -> None:
    code = (
        "import os, sys, sim.bullet_pendulum\n"
        "print('after', file=sys.stderr)\n"
        "os.write(2, b'fd2')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stderr == "after\nfd2"
