"""What a run directory ``runs/<name>/`` holds, by name: the one place these names are spelled.

``train`` writes the checkpoints, ``export`` the policy next to them, ``run`` its telemetry
under the policy's folder. Finding and creating run directories is the pipeline's
(:mod:`ddpg_control.pipeline.runs`).
"""

from __future__ import annotations

CHECKPOINT_DIR = "checkpoints"
BEST_CHECKPOINT = f"{CHECKPOINT_DIR}/best.pt"
LAST_CHECKPOINT = f"{CHECKPOINT_DIR}/last.pt"
POLICY_FILE = "policy.onnx"
TELEMETRY_DIR = "telemetry"
CONFIG_FILE = "config.toml"
#: Written once when ``train`` creates the run: the creation time in nanoseconds since the
#: epoch. It marks the folder as a training and orders the trainings ("the latest run").
CREATED_FILE = "created"
#: The pendulum parameters ``train --params`` trained for, kept with the run (``--resume`` uses
#: them again).
PARAMS_FILE = "params.toml"
