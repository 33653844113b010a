"""``ddpg-control inspect [--policy policy.onnx]``: print what an ONNX policy says about itself."""

from __future__ import annotations

import argparse
from typing import Any

from ddpg_control.cli.arguments import add_policy_argument, add_runs_dir_argument
from ddpg_control.pipeline.runs import run_file
from ddpg_control.runtime.run_layout import POLICY_FILE

HELP = "print an ONNX policy's metadata (after validating it as the runtime does)"
DESCRIPTION = (
    "Load an ONNX policy the way 'run' does (metadata, input and output checked) and "
    "print its metadata. Torch-free."
)


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("inspect", help=HELP, description=DESCRIPTION)
    add_policy_argument(
        parser, "a run directory or an ONNX policy", f"the latest run's {POLICY_FILE}"
    )
    add_runs_dir_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from export.runtime import OnnxPolicy

    path = run_file(args.policy, POLICY_FILE, args.runs_dir)
    policy = OnnxPolicy.load(path)
    props = policy.metadata.to_props()
    width = max(len(k) for k in props)
    print(f"{path} ({path.stat().st_size} bytes)")
    print(f"  {'input':<{width}}  obs float32 [batch, {policy.obs_dim}]")
    print(f"  {'output':<{width}}  action float32 [batch, {policy.metadata.act_dim}] (N*m)")
    for key, value in props.items():
        print(f"  {key:<{width}}  {value}")
    return 0
