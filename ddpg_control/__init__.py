"""ddpg-control: train a pendulum swing-up controller with DDPG and deploy it.

This package's top level stays light: importing ``ddpg_control`` (or the control loop,
``ddpg_control.contracts``, ``ddpg_control.errors``) never imports torch. The training modules
import torch where they are used.
"""

__version__ = "0.1.0"
