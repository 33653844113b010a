"""Sweeps and scores on more workers: wall-clock ratios of ``ddpg-control sweep`` and ``score``.

Three figures, each a ratio of two runs of the real command in a fresh process, one after the
other in the same run:

1. ``sweep --jobs 2`` over ``sweep --jobs 1``, 8 candidates (goal: at most 0.55);
2. ``sweep --address`` on a local Ray cluster of 2 CPUs over ``sweep --jobs 2``, the same
   candidates (goal: at most 1.10); the cluster's start-up is timed apart;
3. ``score --address`` of one policy (the first sweep's delivered one) over
   ``score --jobs 1`` (goal: at most 0.55).

``--size full``: 8 candidates of the default ``train`` config (seeds 0-7), each scored with
``--quick``; the score at its default 200 episodes a point. ``--size small``: candidates of
500 steps of one learner, scored on one axis; the score at 6 episodes a point (a check that the
bench works, minutes on a loaded machine).

    .venv/bin/python bench/sweep_scaling.py --size full
    .venv/bin/python bench/sweep_scaling.py --size small

The Ray cluster is one process of this bench (:func:`_harness.start`), stopped at the end; the
commands join it at its address with Ray's token authentication (``RAY_AUTH_MODE=token``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import start  # noqa: E402

#: A local Ray cluster of 2 CPUs held by this process; prints its address, then waits.
RAY_HEAD = """
import signal, sys, ray
ray.init(
    address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
    logging_level="WARNING",
)
print(ray.get_runtime_context().gcs_address, flush=True)
signal.signal(signal.SIGTERM, lambda *_: (ray.shutdown(), sys.exit(0)))
signal.pause()
"""
SMALL_CONFIG = """\
total_steps = 500
learning_starts = 100
eval_every_steps = 500
eval_episodes = 2
final_eval_episodes = 2
population = 1
[stop]
metric = "none"
"""
CLI = [sys.executable, "-m", "ddpg_control.cli.main"]


def timed(argv: list[str]) -> float:
    """Seconds of ``ddpg-control ARGV`` in a fresh process (it must succeed)."""
    begin = time.perf_counter()
    subprocess.run([*CLI, *argv], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - begin


def sweep_argv(folder: Path, name: str, size: str) -> list[str]:
    argv = ["sweep", "--seeds", "0-7", "--runs-dir", str(folder), "--name", name, "--quiet"]
    if size == "small":
        config = folder / "small.toml"
        config.write_text(SMALL_CONFIG)
        return [*argv, "--config", str(config), "--quick", "--axes", "mass", "--episodes", "1"]
    return [*argv, "--quick"]


def main() -> None:
    os.environ["RAY_AUTH_MODE"] = "token"  # the head and the commands that join it
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("small", "full"), default="full")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores)", flush=True)
    with tempfile.TemporaryDirectory(prefix="sweep-bench-") as tmp:
        folder = Path(tmp)
        one = timed([*sweep_argv(folder, "jobs1", args.size), "--jobs", "1"])
        two = timed([*sweep_argv(folder, "jobs2", args.size), "--jobs", "2"])
        print(
            f"sweep, 8 candidates: --jobs 1 {one:.1f} s, --jobs 2 {two:.1f} s, "
            f"ratio {two / one:.2f} (goal <= 0.55)",
            flush=True,
        )
        begin = time.perf_counter()
        with start([sys.executable, "-c", RAY_HEAD]) as head:
            started = time.perf_counter() - begin
            ray = timed([*sweep_argv(folder, "ray", args.size), "--address", head.port])
            print(
                f"Ray cluster start-up {started:.1f} s (apart); sweep --address {ray:.1f} s, "
                f"over --jobs 2: {ray / two:.2f} (goal <= 1.10)",
                flush=True,
            )
            policy = folder / "jobs2" / "policy.onnx"
            score = ["score", "--policy", str(policy), "--quiet"]
            if args.size == "small":
                score += ["--episodes", "6"]
            local = timed([*score, "--jobs", "1", "-o", str(folder / "score1")])
            remote = timed([*score, "--address", head.port, "-o", str(folder / "score-ray")])
            same = all(
                (folder / "score1" / n).read_bytes() == (folder / "score-ray" / n).read_bytes()
                for n in ("jobs2-policy.score.json", "jobs2-policy.score.csv")
            )
            print(
                f"score of one policy: --jobs 1 {local:.1f} s, --address {remote:.1f} s, "
                f"ratio {remote / local:.2f} (goal <= 0.55); same files: {same}",
                flush=True,
            )
    print(f"load average after: {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
