"""``--driver dynamixel``: ROBOTIS DYNAMIXEL X series servos over Protocol 2.0.

:mod:`.plant` is the host side, through ROBOTIS' ``dynamixel-sdk`` (the ``dynamixel`` extra);
:mod:`.protocol` and :mod:`.servo` are the device side the emulator (:mod:`.emulator`) serves.
"""
