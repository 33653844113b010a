"""``--driver moteus``: an mjbots moteus controller behind an fdcanusb (or its UART) serial line.

* :mod:`.plant`: :class:`~.plant.MoteusPlant`, the controller as a ``Plant``, through mjbots' own
  ``moteus`` package (``pip install 'ddpg-control[moteus]'``), its asyncio API run on one event
  loop on a dedicated thread.
* :mod:`.emulator`: the device side of the fdcanusb line protocol and of moteus' register
  protocol, with the PyBullet pendulum behind it (``ddpg-control emulate --driver moteus``).
  It is written from mjbots' published documents, not from their code, so the tests that drive
  it with ``moteus.Controller`` hold it to the vendor's client.
"""
