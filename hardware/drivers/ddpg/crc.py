"""CRC-16/CCITT-FALSE, the frame check of the wire protocol.

Parameters (Rocksoft model): width 16, poly 0x1021, init 0xFFFF, refin false, refout false,
xorout 0x0000, check 0x29B1 (the CRC of the ASCII bytes ``123456789``). It is the CRC that
most microcontroller HALs and ``crcmod``'s ``crc-ccitt-false`` compute, so firmware authors can
use a library routine. :func:`crc16_ccitt_false` uses the C routine in :mod:`binascii`
(``crc_hqx`` computes this polynomial; CCITT-FALSE is it with init 0xFFFF);
:func:`crc16_reference` is a plain table-driven version to port to firmware.
"""

from __future__ import annotations

import binascii

CRC16_POLY = 0x1021
CRC16_INIT = 0xFFFF
#: CRC-16/CCITT-FALSE of b"123456789"; firmware should check its routine against it.
CRC16_CHECK = 0x29B1


def _make_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ CRC16_POLY) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
        table.append(crc)
    return tuple(table)


_TABLE = _make_table()


def crc16_ccitt_false(data: bytes | bytearray | memoryview, crc: int = CRC16_INIT) -> int:
    """Return the CRC-16/CCITT-FALSE of ``data`` (pass ``crc`` to continue a running CRC)."""
    return binascii.crc_hqx(data, crc)


def crc16_reference(data: bytes | bytearray | memoryview, crc: int = CRC16_INIT) -> int:
    """The same CRC, table driven, byte at a time: the shape of a firmware implementation."""
    table = _TABLE
    for byte in bytes(data):
        crc = ((crc << 8) & 0xFFFF) ^ table[(crc >> 8) ^ byte]
    return crc
