"""Motor drivers behind the :class:`~ddpg_control.runtime.contracts.Plant` contract.

Our own serial protocol (``PROTOCOL.md``): the frame codec (:mod:`hardware.protocol`,
:mod:`hardware.crc`), the host side (:mod:`hardware.client`, a ``SerialPlant`` over any pyserial
URL, configured by :mod:`hardware.serial_config`), and the device side for use without hardware
(:mod:`hardware.device`, and :mod:`hardware.emulator` on a pseudo-terminal or TCP). Imports the
standard library, numpy, pyserial and :mod:`ddpg_control.runtime`; never torch.
"""
