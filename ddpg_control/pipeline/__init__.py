"""The steps of the sim-to-real pipeline that the commands share, without argparse.

Each module is a noun the commands call: :mod:`~ddpg_control.pipeline.runs` (run directories,
the policy a command acts with, where telemetry goes), :mod:`~ddpg_control.pipeline.rig` (the
simulated rig's parameters), :mod:`~ddpg_control.pipeline.controllers` (an ONNX policy or the
classical controller, with its observer), :mod:`~ddpg_control.pipeline.envs` (Gymnasium
environments for training and evaluation), :mod:`~ddpg_control.pipeline.scoring` and
:mod:`~ddpg_control.pipeline.score_report` (the robustness benchmark and its files),
:mod:`~ddpg_control.pipeline.balance` (the loose and tight bands upright),
:mod:`~ddpg_control.pipeline.optimum` and :mod:`~ddpg_control.pipeline.regret` (Pendulum-v1's
optimal controller and paired regret against it, on :mod:`sim.pendulum_v1`),
:mod:`~ddpg_control.pipeline.executor` (where many tasks run: local worker processes or a Ray
cluster), :mod:`~ddpg_control.pipeline.carried_policies` (policies sent to a cluster as bytes),
:mod:`~ddpg_control.pipeline.sweep` and :mod:`~ddpg_control.pipeline.sweep_report` (many
candidates ranked, and the sweep's files) and :mod:`~ddpg_control.pipeline.telemetry_plot`
(telemetry to a PNG).

Torch-free (an import-linter contract checks it): benches and the commands of the robot's path
import it. Functions return results and raise :class:`~ddpg_control.runtime.errors.ConfigError`
and its kin; printing is the commands' (:mod:`ddpg_control.cli`).
"""
