"""``ddpg-control`` as a user runs it, in subprocesses: an emulator (or any device process that
prints its port and an exit summary) and ``run --device``, with the checks every driver's end-to-end
tests share."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np

CLI = [sys.executable, "-m", "ddpg_control.cli.main"]


class EmulatorProcess:
    def __init__(self, command: list[str], *options: str) -> None:
        self.proc = subprocess.Popen(
            [*command, *options],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.port = self.proc.stdout.readline().strip()
        assert self.port, self.finish()

    def finish(self, timeout_s: float = 5.0) -> dict[str, str]:
        """Stop it (if it still runs) and return its exit summary as a dict."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=timeout_s)
        match = re.search(r"^emulator: (.*)$", err, re.MULTILINE)
        assert match, f"no emulator summary in:\n{err}"
        return dict(item.split("=", 1) for item in match.group(1).split())


def emulate(started: list[EmulatorProcess], driver: str, *options: str) -> EmulatorProcess:
    """``ddpg-control emulate --driver DRIVER OPTIONS``, appended to ``started``."""
    emu = EmulatorProcess([*CLI, "emulate", "--driver", driver], *options)
    started.append(emu)
    return emu


def run_device(
    port: str, policy: Path, *options: str, timeout_s: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """``ddpg-control run --device PORT --policy POLICY --quiet OPTIONS``."""
    return subprocess.run(
        [*CLI, "run", "--device", port, "--policy", str(policy), "--quiet", *options],
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


def assert_clean_failure(result: subprocess.CompletedProcess[str], code: int, pattern: str) -> None:
    """Exit ``code``, ``pattern`` in the output, at most one ``error:`` line, no traceback."""
    out = result.stdout + result.stderr
    assert result.returncode == code, out
    assert re.search(pattern, out), out
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) <= 1 and "Traceback" not in result.stderr, out


def run_and_hold(port: str, policy: Path, telemetry: Path, *options: str) -> None:
    """``run --device`` for 10 s, its telemetry to ``telemetry``: it exits 0, upright (the
    default policy enters 0.1 rad about 3 s after hanging down through every emulator)."""
    result = run_device(port, policy, "--duration-s", "10", "--output", str(telemetry), *options)
    assert result.returncode == 0, result.stdout + result.stderr
    assert_held_upright(telemetry)


def assert_held_upright(telemetry: Path) -> None:
    """The run's last 5 s (20 Hz) stayed within 0.1 rad of upright."""
    data = np.genfromtxt(telemetry, delimiter=",", names=True)
    last = data[data["time_s"] >= data["time_s"][-1] - 5.0]
    assert len(last) >= 95  # 20 Hz for 5 s, give or take a tick
    assert np.all(np.abs(last["angle_rad"]) < 0.1), np.abs(last["angle_rad"]).max()
