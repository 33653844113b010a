"""``ddpg-control export --onnx``: write the verified ONNX policy from a training checkpoint."""

from __future__ import annotations

import argparse
from typing import Any

from ddpg_control.cli.arguments import (
    add_output_argument,
    add_policy_argument,
    add_runs_dir_argument,
    at_most,
    file_to_write,
    int_in_range,
)
from ddpg_control.pipeline.runs import run_file
from ddpg_control.runtime.run_layout import BEST_CHECKPOINT, POLICY_FILE
from export.onnx_export import DEFAULT_OPSET, MAX_OPSET, MIN_OPSET
from export.verify import MAX_TOLERANCE_NM, TOLERANCE_NM

HELP = "export a checkpoint's actor to a verified, self-describing ONNX policy"
DESCRIPTION = (
    "Export the actor to ONNX (input 'obs' [batch, 3], output 'action' [batch, 1] in N*m) "
    "with its metadata, then verify it: onnx.checker full check, and onnxruntime against "
    "torch on over 1000 observations (max |diff| <= 1e-4 N*m, every torque within the "
    f"limit). Default: the latest run's {BEST_CHECKPOINT} -> runs/<name>/{POLICY_FILE}."
)


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("export", help=HELP, description=DESCRIPTION)
    parser.add_argument(
        "--onnx", action="store_true", help="export to ONNX (the only format, and the default)"
    )
    add_policy_argument(
        parser,
        f"a run directory (its {BEST_CHECKPOINT}) or a checkpoint (.pt)",
        f"the latest run's {BEST_CHECKPOINT}",
    )
    add_output_argument(
        parser, "the ONNX policy to write", f"runs/<name>/{POLICY_FILE}", type=file_to_write
    )
    parser.add_argument(
        "--opset",
        type=int_in_range(MIN_OPSET, MAX_OPSET),
        default=DEFAULT_OPSET,
        help="ONNX opset (default: %(default)s)",
    )
    parser.add_argument(
        "--tolerance-nm",
        type=at_most(MAX_TOLERANCE_NM, "N*m"),
        default=TOLERANCE_NM,
        metavar="NM",
        help=(
            "largest |onnxruntime - torch| torque accepted by the verification, in N*m "
            f"(default: %(default)g; at most {MAX_TOLERANCE_NM:g})"
        ),
    )
    add_runs_dir_argument(parser)
    parser.set_defaults(handler=run)


def _size(n_bytes: int) -> str:
    return f"{n_bytes / 1024:.1f} KiB" if n_bytes < 1024 * 1024 else f"{n_bytes / 2**20:.2f} MiB"


def run(args: argparse.Namespace) -> int:
    from export.onnx_export import export_policy

    checkpoint = run_file(args.policy, BEST_CHECKPOINT, args.runs_dir)
    result = export_policy(
        checkpoint, args.output, opset=args.opset, tolerance_nm=args.tolerance_nm
    )
    meta = result.metadata
    print(f"wrote {result.path} ({_size(result.size_bytes)}, {result.size_bytes} bytes)")
    eval_return = "n/a" if meta.eval_return is None else f"{meta.eval_return:.1f}"
    print(
        f"  from {checkpoint} (run {meta.run_name}, {meta.env_steps} steps, "
        f"eval return {eval_return})"
    )
    print(
        f"  {meta.env_id}: torque limit +-{meta.max_torque_nm:g} N*m, control period "
        f"{meta.control_period_s:g} s, opset {meta.opset}"
    )
    print(f"  verified: {result.verification.summary()}")
    return 0
