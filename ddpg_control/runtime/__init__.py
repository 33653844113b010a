"""The torch-free runtime: what runs on the robot.

Contracts (observation, joint state, Plant, Policy, Clock), the error tree, timing, the safety
layer, the control loop and its telemetry. Imports the standard library and numpy only; the
import contracts in ``pyproject.toml`` (checked by ``make test``) keep it that way.
"""
