"""``--driver ddpg``: this project's own serial protocol (hardware/PROTOCOL.md).

* :mod:`.protocol` and :mod:`.crc`: the frame codec, pure and stdlib only;
* :mod:`.plant`: :class:`~.plant.DdpgPlant`, the host side, over any pyserial URL;
* :mod:`.device`: :class:`~.device.DdpgDevice`, the device side as a pure state machine (the
  C firmware in hardware/firmware is its port, held to it by the shared vectors and a
  differential test);
* :mod:`.emulator`: :class:`~.emulator.DdpgEmulator`, the device on a pseudo-terminal or TCP.
"""
