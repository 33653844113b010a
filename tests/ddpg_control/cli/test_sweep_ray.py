"""``sweep`` and ``score`` on a Ray cluster (a local one of 2 CPUs, started once per session):
a worker killed mid-task has its task retried and the sweep completes with every candidate;
``score --address`` gives the bytes ``--jobs 1`` gives."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ddpg_control.cli import main
from ddpg_control.runtime.run_layout import POLICY_FILE
from tests.ddpg_control.cli.sweep_runs import tiny_sweep

#: The title Ray gives a worker process while it runs one of the executor's tasks.
TASK_TITLE = b"ray::call_catching"


def _task_workers() -> list[int]:
    """Processes of this machine that are running an executor task for Ray now."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cmdline").read_bytes().startswith(TASK_TITLE):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_a_worker_killed_mid_task_is_retried_and_every_candidate_finishes(
    ray_cluster: str, tmp_path: Path
) -> None:
    folder = tmp_path / "s"
    argv = tiny_sweep(folder, "--seeds", "0,1", "--address", ray_cluster)
    codes: list[int] = []
    sweep = threading.Thread(target=lambda: codes.append(main(argv)))
    sweep.start()
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and sweep.is_alive() and time.monotonic() < deadline:
        workers = _task_workers()
        if workers:
            killed = workers[0]
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.05)
    sweep.join(timeout=180)
    assert killed is not None, "no worker was seen running a candidate"
    assert codes == [0]
    candidates = json.loads((folder / "sweep.json").read_text())["candidates"]
    assert [c["status"] for c in candidates] == ["done", "done"]
    assert all(not c["worker"].endswith(f":{killed}") for c in candidates)
    for c in candidates:
        assert (folder / "runs" / c["name"] / POLICY_FILE).is_file()
    assert (folder / POLICY_FILE).is_file()


def test_score_on_the_cluster_writes_the_bytes_of_one_local_process(
    ray_cluster: str, tmp_path: Path, linear_policy: Callable[..., Path]
) -> None:
    policy = linear_policy(tmp_path / "p" / "policy.onnx")
    argv = ["score", "--policy", str(policy), "--quick", "--axes", "mass,pushes", "--quiet"]
    argv += ["--episodes", "3", "--duration-s", "6"]
    assert main([*argv, "--address", ray_cluster, "-o", str(tmp_path / "ray")]) == 0
    assert main([*argv, "--jobs", "1", "-o", str(tmp_path / "local")]) == 0
    for name in ("p-policy.score.json", "p-policy.score.csv"):
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
