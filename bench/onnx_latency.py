"""Per-call latency of the deployed ONNX policy against the torch actor, and start-up cost.

Both run in this process on the same actor and the same observations, one observation per call
as the control loop makes them: the runtime ``OnnxPolicy`` (numpy in, float out) against the
torch ``Actor`` in eager mode under ``torch.inference_mode()`` with one thread (numpy in, tensor
wrap, forward, float out). The calls alternate in blocks so machine noise hits both alike.

Start-up: a fresh interpreter that imports the runtime, loads the policy and computes one
torque (no torch), against a fresh interpreter that only runs ``import torch``.

    .venv/bin/python bench/onnx_latency.py                     # random actor, default size
    .venv/bin/python bench/onnx_latency.py --checkpoint runs/<name>/checkpoints/best.pt
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ddpg_control.learning.checkpoint import load_actor, save_checkpoint
from ddpg_control.learning.config import AgentConfig
from ddpg_control.learning.networks import Actor, Architecture
from ddpg_control.runtime.contracts import PENDULUM_V1_MAX_SPEED_RAD_S
from export.onnx_export import export_policy
from export.runtime import OnnxPolicy
from export.verify import verification_observations

GOAL_SPEEDUP = 3.0
GOAL_P99_US = 50.0

# Peak RSS of this process image: /proc VmHWM resets at exec (ru_maxrss would carry the parent's).
_HWM = """
def hwm_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
"""

_RUNTIME_CHILD = """
import time; t0 = time.perf_counter()
import sys, json
import numpy as np
from pathlib import Path
from export.runtime import OnnxPolicy
policy = OnnxPolicy.load(Path(sys.argv[1]))
policy(np.zeros(policy.obs_dim, dtype=np.float32))
t1 = time.perf_counter()
print(json.dumps({"s": t1 - t0, "torch": "torch" in sys.modules,
                  "rss_mb": hwm_mb()}))
"""

_TORCH_CHILD = """
import time; t0 = time.perf_counter()
import sys, json
import torch
t1 = time.perf_counter()
print(json.dumps({"s": t1 - t0, "torch": True,
                  "rss_mb": hwm_mb()}))
"""


def make_checkpoint(directory: Path, hidden_sizes: tuple[int, ...], seed: int) -> Path:
    """A checkpoint holding a randomly initialised actor (latency does not depend on training)."""
    torch.manual_seed(seed)
    arch = Architecture(obs_dim=3, act_dim=1, hidden_sizes=hidden_sizes, max_torque_nm=2.0)
    path = directory / "bench" / "checkpoints" / "best.pt"
    save_checkpoint(
        path,
        {
            "architecture": arch.to_dict(),
            "networks": {"actor": Actor(arch).state_dict()},
            "config": {},
            "env": {"id": "Pendulum-v1", "control_period_s": 0.05, "max_torque_nm": 2.0},
            "progress": {"env_steps": 0, "episodes": 0, "eval_return": None, "wall_time_s": 0.0},
        },
    )
    return path


def time_calls(call: Callable[[np.ndarray], float], observations: np.ndarray) -> np.ndarray:
    """Wall time of each call in microseconds."""
    out = np.empty(len(observations))
    clock = time.perf_counter_ns
    for i, obs in enumerate(observations):
        start = clock()
        call(obs)
        out[i] = clock() - start
    return out / 1000.0


def stats(samples_us: np.ndarray) -> dict[str, float]:
    p50, p99 = np.percentile(samples_us, [50, 99])
    return {
        "p50": float(p50),
        "p99": float(p99),
        "max": float(samples_us.max()),
        "mean": float(samples_us.mean()),
    }


def measure_latency(
    checkpoint: Path, policy_path: Path, calls: int, blocks: int, seed: int
) -> dict[str, dict[str, float]]:
    torch.set_num_threads(1)
    actor, _ = load_actor(checkpoint)
    policy = OnnxPolicy.load(policy_path)
    rng = np.random.default_rng(seed)
    observations = verification_observations(PENDULUM_V1_MAX_SPEED_RAD_S, rng, calls)[:calls]

    def torch_call(obs: np.ndarray) -> float:
        with torch.inference_mode():
            return float(actor(torch.from_numpy(obs).unsqueeze(0))[0, 0])

    for call in (policy, torch_call):  # warm up allocators, caches, lazy initialisation
        time_calls(call, observations[:1000])
    onnx_parts, torch_parts = [], []
    for block in np.array_split(observations, blocks):
        onnx_parts.append(time_calls(policy, block))
        torch_parts.append(time_calls(torch_call, block))
    return {
        "onnxruntime (OnnxPolicy)": stats(np.concatenate(onnx_parts)),
        "torch eager (inference_mode, 1 thread)": stats(np.concatenate(torch_parts)),
    }


def measure_startup(policy_path: Path, repeats: int) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    cases = {
        "load OnnxPolicy + first call (no torch)": [_RUNTIME_CHILD, str(policy_path)],
        "import torch": [_TORCH_CHILD],
    }
    for name, (code, *args) in cases.items():
        inner, wall, rss = [], [], []
        for _ in range(repeats):
            start = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-c", _HWM + code, *args],
                capture_output=True,
                text=True,
                check=True,
            )
            wall.append(time.perf_counter() - start)
            report = json.loads(done.stdout.strip().splitlines()[-1])
            if name.endswith("(no torch)") and report["torch"]:
                raise SystemExit("the runtime imported torch: that is a defect")
            inner.append(report["s"])
            rss.append(report["rss_mb"])
        results[name] = {
            "in_process_s": statistics.median(inner),
            "process_wall_s": statistics.median(wall),
            "peak_rss_mb": statistics.median(rss),
        }
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, help="a trained checkpoint (default: random)")
    parser.add_argument(
        "--hidden",
        default=",".join(str(h) for h in AgentConfig().hidden_sizes),
        help="hidden sizes of the random actor (default: the training default, %(default)s)",
    )
    parser.add_argument("--calls", type=int, default=20_000, help="calls per policy")
    parser.add_argument("--blocks", type=int, default=10, help="alternating blocks")
    parser.add_argument("--startup-repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.calls < 10_000:
        parser.error("--calls must be at least 10000")

    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = args.checkpoint or make_checkpoint(
            Path(tmp), tuple(int(h) for h in args.hidden.split(",")), args.seed
        )
        exported = export_policy(checkpoint, Path(tmp) / "policy.onnx")
        hidden_sizes = load_actor(checkpoint)[0].arch.hidden_sizes
        latency = measure_latency(checkpoint, exported.path, args.calls, args.blocks, args.seed)
        startup = measure_startup(exported.path, args.startup_repeats)

    onnx_s, torch_s = latency.values()
    speedup_p50 = torch_s["p50"] / onnx_s["p50"]
    speedup_p99 = torch_s["p99"] / onnx_s["p99"]
    print(f"actor hidden sizes {list(hidden_sizes)}, {args.calls} calls each, one observation")
    load_1min = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} cores, load average {load_1min:.1f} (1 min) at the end")
    print(f"per call (microseconds), {args.blocks} alternating blocks, same process:\n")
    print("| policy | p50 us | p99 us | max us | mean us |")
    print("|---|---:|---:|---:|---:|")
    for name, s in latency.items():
        print(f"| {name} | {s['p50']:.1f} | {s['p99']:.1f} | {s['max']:.0f} | {s['mean']:.1f} |")
    print(f"\nspeed-up (torch / onnx): p50 {speedup_p50:.1f}x, p99 {speedup_p99:.1f}x")
    goal_met = speedup_p50 >= GOAL_SPEEDUP and onnx_s["p99"] < GOAL_P99_US
    print(
        f"goal (onnx >= {GOAL_SPEEDUP:g}x faster at p50, onnx p99 < {GOAL_P99_US:g} us): "
        + ("met" if goal_met else "NOT met")
    )
    print(f"\nstart-up in a fresh interpreter (median of {args.startup_repeats}):\n")
    print("| what | in-process s | whole process s | peak RSS MB |")
    print("|---|---:|---:|---:|")
    for name, s in startup.items():
        print(
            f"| {name} | {s['in_process_s']:.3f} | {s['process_wall_s']:.3f} "
            f"| {s['peak_rss_mb']:.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
