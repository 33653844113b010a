"""DDPG training (torch): networks, the algorithm (exploration, the reference update and its
stacked form), noise, replay buffer, config, checkpoints, evaluation, the early-stop rules, the
trainer, its results and files. May import :mod:`ddpg_control.runtime`; the robot path does not."""
