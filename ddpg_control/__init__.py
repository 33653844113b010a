"""ddpg-control: train a pendulum swing-up controller with DDPG and deploy it.

Four layers, imports flowing one way (``cli`` -> ``pipeline`` -> ``learning`` -> ``runtime``):

- :mod:`ddpg_control.runtime`: torch-free contracts, errors, timing, safety, control loop,
  telemetry; what ``sim``, ``hardware`` and ``export`` build on.
- :mod:`ddpg_control.learning`: DDPG with torch.
- :mod:`ddpg_control.pipeline`: torch-free steps the commands share (run directories, the
  simulated rig, controllers, environments, the robustness benchmark, plots).
- :mod:`ddpg_control.cli`: the commands, the only place that wires the packages together.

Importing this package imports nothing else.
"""

__version__ = "0.1.0"
