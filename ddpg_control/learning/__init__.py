"""DDPG training (torch): networks, the agent (exploration and update), noise, replay buffer,
config, checkpoints, the rollout, evaluation, the early-stop rules, the trainer and its files.
May import :mod:`ddpg_control.runtime`; nothing on the robot path imports this package."""
