"""ODrive (firmware 0.5.x, ODrive v3.x) through its documented ASCII protocol over pyserial.

``ascii`` is the line codec, ``errors`` the firmware's error flags, ``plant`` the host side as a
``Plant``, ``device`` and ``emulator`` the device side on a pseudo-terminal for use without one.
"""
