"""Writing the ONNX policy artifact from a training checkpoint.

:func:`export_policy` rebuilds the actor (eval mode, CPU), traces it with torch's TorchScript
exporter (``dynamo=False``: it needs no extra packages and its output is byte-for-byte
reproducible), attaches the metadata, checks and verifies the result through the runtime loader,
and only then moves it into place (atomically, so a failed export never leaves a half file).

The graph: input ``obs`` float32 [batch, obs_dim], output ``action`` float32 [batch, act_dim] in
N*m (the torque scale is a constant inside the graph, and the graph clamps to it: the actor's
export form, :meth:`~ddpg_control.learning.networks.Actor.exportable`). A population's
``last.pt`` exports the member its last evaluation found best.
"""

from __future__ import annotations

import hashlib
import io
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ddpg_control import __version__
from ddpg_control.runtime.contracts import OBSERVATION_LAYOUT, PENDULUM_V1_MAX_SPEED_RAD_S
from ddpg_control.runtime.errors import PolicyArtifactError, first_line
from ddpg_control.runtime.files import replacing
from ddpg_control.runtime.run_layout import CHECKPOINT_DIR, POLICY_FILE
from ddpg_control.runtime.velocity_estimation import default_estimator
from export.metadata import INPUT_NAME, OUTPUT_NAME, PolicyMetadata
from export.runtime import OnnxPolicy
from export.verify import (
    DEFAULT_RANDOM_OBSERVATIONS,
    TOLERANCE_NM,
    VerificationReport,
    check_model_bytes,
    max_velocity_of,
    verification_observations,
    verify_policy,
)

if TYPE_CHECKING:
    from ddpg_control.learning.checkpoint import TrainedPolicy
    from ddpg_control.learning.networks import Actor

logger = logging.getLogger(__name__)

DEFAULT_OPSET = 17
#: Opsets the legacy exporter and onnxruntime here both handle for this graph.
MIN_OPSET, MAX_OPSET = 13, 21
VERIFY_SEED = 0


@dataclass(frozen=True)
class ExportResult:
    path: Path
    size_bytes: int
    metadata: PolicyMetadata
    verification: VerificationReport


def run_location(checkpoint: Path) -> tuple[str, str]:
    """(run name, checkpoint path relative to the run) for ``runs/<name>/checkpoints/x.pt``."""
    resolved = checkpoint.resolve()
    if resolved.parent.name == CHECKPOINT_DIR:
        return resolved.parent.parent.name, f"{CHECKPOINT_DIR}/{resolved.name}"
    return resolved.parent.name, resolved.name


def default_output(checkpoint: Path) -> Path:
    """``runs/<name>/policy.onnx`` for a checkpoint inside a run, else next to the checkpoint."""
    if checkpoint.parent.name == CHECKPOINT_DIR:
        return checkpoint.parent.parent / POLICY_FILE
    return checkpoint.with_suffix(".onnx")


def metadata_from_checkpoint(policy: TrainedPolicy, checkpoint: Path, opset: int) -> PolicyMetadata:
    """The artifact's metadata from a loaded checkpoint (:func:`load_policy` checks it)."""
    import torch

    run_name, checkpoint_rel = run_location(checkpoint)
    arch = policy.actor.arch
    return PolicyMetadata(
        observation_layout=OBSERVATION_LAYOUT,
        obs_dim=arch.obs_dim,
        act_dim=arch.act_dim,
        max_torque_nm=arch.max_torque_nm,
        control_period_s=policy.control_period_s,
        env_id=policy.env_id,
        env_preset=policy.env_preset,
        env_params=policy.env_params,
        env_randomize=policy.env_randomize,
        run_name=run_name,
        checkpoint=checkpoint_rel,
        checkpoint_sha256=hashlib.sha256(checkpoint.read_bytes()).hexdigest(),
        env_steps=policy.env_steps,
        episodes=policy.episodes,
        eval_return=policy.eval_return,
        train_wall_time_s=policy.wall_time_s,
        package_version=__version__,
        exporter=f"torch {torch.__version__.split('+')[0]} (torchscript exporter)",
        opset=opset,
        velocity_estimator=trained_velocity_estimator(policy.control_period_s, policy.env_params),
        episode_s=policy.episode_s,
        gamma_per_s=policy.gamma_per_s,
    )


def trained_velocity_estimator(period_s: float, params: dict[str, Any]) -> dict[str, Any] | None:
    """The estimator behind the observation's velocity in training: the PyBullet pendulum's
    (:attr:`sim.pendulum_env.PyBulletPendulumEnv.velocity_estimator`) when its plant reported
    no velocity, else None (the plant's own velocity)."""
    if params.get("reports_velocity", True):
        return None
    limit = float(params.get("max_velocity_rad_s", PENDULUM_V1_MAX_SPEED_RAD_S))
    return default_estimator(period_s, limit).to_dict()


def graph_bytes(actor: Actor, opset: int) -> bytes:
    """Trace the actor's export form (eval mode, CPU) into an ONNX graph with a dynamic batch
    axis."""
    import torch

    actor = actor.to("cpu").eval()
    dummy = torch.zeros(1, actor.arch.obs_dim, dtype=torch.float32)
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the exporter's deprecation notice for dynamo=False
        torch.onnx.export(
            actor.exportable(),
            (dummy,),
            buffer,  # type: ignore[arg-type]  # a file object is accepted at runtime
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,
        )
    return buffer.getvalue()


def with_metadata(model_bytes: bytes, metadata: PolicyMetadata) -> bytes:
    """Stamp the producer, descriptions and ``metadata_props`` into the serialized model."""
    import onnx

    model = onnx.load_from_string(model_bytes)
    model.producer_name = "ddpg-control"
    model.producer_version = __version__
    model.graph.name = "ddpg_control_policy"
    model.doc_string = (
        f"DDPG policy for {metadata.env_id}: obs [{metadata.observation_layout}] -> torque in "
        f"N*m, within +-{metadata.max_torque_nm:g}"
    )
    model.graph.input[0].doc_string = f"observation [{metadata.observation_layout}], float32"
    model.graph.output[0].doc_string = "torque in N*m, float32"
    del model.metadata_props[:]
    for key, value in metadata.to_props().items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    return bytes(model.SerializeToString())


def _tolerance_hint(report: VerificationReport) -> str:
    if report.diff_ok or report.max_abs_diff_nm > TOLERANCE_NM:
        return ""
    return (
        f"; a difference below {TOLERANCE_NM:g} N*m is float32 rounding (onnxruntime and torch "
        f"sum in another order): to accept it, re-export with --tolerance-nm {TOLERANCE_NM:g}"
    )


def export_policy(
    checkpoint: Path,
    output: Path | None = None,
    opset: int = DEFAULT_OPSET,
    n_random: int = DEFAULT_RANDOM_OBSERVATIONS,
    tolerance_nm: float = TOLERANCE_NM,
) -> ExportResult:
    """Export ``checkpoint``'s actor to ``output`` and verify it; raise if verification fails."""
    from ddpg_control.learning.checkpoint import load_policy

    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise PolicyArtifactError(f"opset {opset} is not supported: use {MIN_OPSET}..{MAX_OPSET}")
    output = default_output(checkpoint) if output is None else output
    policy = load_policy(checkpoint)
    actor = policy.actor
    metadata = metadata_from_checkpoint(policy, checkpoint, opset)
    data = with_metadata(graph_bytes(actor, opset), metadata)
    check_model_bytes(data)
    observations = verification_observations(
        max_velocity_of(metadata.env_params), np.random.default_rng(VERIFY_SEED), n_random
    )
    try:
        with replacing(output) as tmp:  # written only once verified
            tmp.write_bytes(data)
            report = verify_policy(actor, OnnxPolicy.load(tmp), observations, tolerance_nm)
            if not report.passed:
                raise PolicyArtifactError(
                    f"the exported policy does not match the checkpoint ({report.summary()}); "
                    f"nothing was written to '{output}'{_tolerance_hint(report)}"
                )
    except OSError as exc:
        raise PolicyArtifactError(f"cannot write '{output}': {first_line(exc)}") from None
    logger.info("exported %s to %s: %s", checkpoint, output, report.summary())
    return ExportResult(output, len(data), metadata, report)
