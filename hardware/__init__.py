"""Motor drivers behind the :class:`~ddpg_control.runtime.contracts.Plant` contract.

Every driver, this project's own protocol (``PROTOCOL.md``) and the vendors', is a folder of
:mod:`hardware.drivers` of the same shape: ``plant.py`` (the host side), ``device.py`` (the
emulated device, a pure state machine), ``emulator.py`` (that device on a pseudo-terminal).
What they share sits here: the link configuration (:mod:`hardware.link`), the emulator base
(:mod:`hardware.emulator`), the multi-turn counter of emulated encoders
(:mod:`hardware.multi_turn`), the stuck-sensor check (:mod:`hardware.stuck_sensor`) and device
profiles (:mod:`hardware.profile`). Imports the standard library, numpy, pyserial and
:mod:`ddpg_control.runtime`; never torch.
"""
