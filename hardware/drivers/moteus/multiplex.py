"""The device side of mjlib's multiplex register protocol, as moteus speaks it in a CAN-FD frame
(docs/protocol/can.md in github.com/mjbots/moteus).

A frame is a run of subframes. Each register subframe is one byte ``base | width << 2 | count``
(``count`` 1..3, or 0 and a varuint count after it), a varuint start register and, for writes
and replies, ``count`` little-endian values of that width (int8, int16, int32, float32)::

    0x00 write   0x10 read   0x20 reply   0x30 write error   0x31 read error   0x50 nop

:func:`parse_request` turns a host's frame into :class:`Write` and :class:`Read` items;
:func:`encode_reply` writes the values of the registers read (and the errors) back.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

WRITE_BASE = 0x00
READ_BASE = 0x10
REPLY_BASE = 0x20
WRITE_ERROR = 0x30
READ_ERROR = 0x31
NOP = 0x50

INT8, INT16, INT32, FLOAT = 0, 1, 2, 3
_FORMATS = ("<b", "<h", "<i", "<f")
_SIZES = (1, 2, 4, 4)

#: The error number a read or write of a register this device does not have is answered with.
ERROR_UNKNOWN_REGISTER = 1
#: ... and of a write the device refuses (a read-only register, a mode it does not offer).
ERROR_NOT_WRITABLE = 2


class MultiplexError(ValueError):
    """A frame that cannot be parsed (truncated, a bad varuint)."""


@dataclass(frozen=True, slots=True)
class Write:
    register: int
    width: int
    raw: int | float


@dataclass(frozen=True, slots=True)
class Read:
    register: int
    width: int


@dataclass(frozen=True, slots=True)
class RegisterError:
    register: int
    code: int
    on_write: bool


def _varuint(data: bytes, offset: int) -> tuple[int, int]:
    value = 0
    for i in range(5):
        if offset + i >= len(data):
            raise MultiplexError("frame ends inside a varuint")
        byte = data[offset + i]
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            return value, offset + i + 1
    raise MultiplexError("varuint longer than 5 bytes")


def _put_varuint(out: bytearray, value: int) -> None:
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return


def parse_request(data: bytes) -> list[Write | Read]:
    """The writes and reads of a host's frame, in order. Parsing stops at a subframe type a
    device does not take from a host (stream data, replies), as the firmware does."""
    items: list[Write | Read] = []
    offset = 0
    while offset < len(data):
        head = data[offset]
        offset += 1
        if head == NOP:
            continue
        base = head & 0xF0
        if base not in (WRITE_BASE, READ_BASE):
            break
        width = (head >> 2) & 0x03
        count = head & 0x03
        if count == 0:
            count, offset = _varuint(data, offset)
        start, offset = _varuint(data, offset)
        for i in range(count):
            if base == READ_BASE:
                items.append(Read(start + i, width))
                continue
            size = _SIZES[width]
            if offset + size > len(data):
                raise MultiplexError(f"frame ends inside the value of register {start + i:#x}")
            (raw,) = struct.unpack_from(_FORMATS[width], data, offset)
            offset += size
            items.append(Write(start + i, width, raw))
    return items


def encode_reply(values: list[tuple[Read, int | float]], errors: list[RegisterError]) -> bytes:
    """A reply frame: runs of consecutive registers of one width as one reply subframe each,
    then one error subframe per error."""
    out = bytearray()
    i = 0
    while i < len(values):
        first = values[i][0]
        j = i + 1
        while (
            j < len(values)
            and values[j][0].width == first.width
            and values[j][0].register == first.register + (j - i)
        ):
            j += 1
        count = j - i
        if count <= 3:
            out.append(REPLY_BASE | first.width << 2 | count)
        else:
            out.append(REPLY_BASE | first.width << 2)
            _put_varuint(out, count)
        _put_varuint(out, first.register)
        for read, value in values[i:j]:
            out += struct.pack(_FORMATS[read.width], value)
        i = j
    for error in errors:
        out.append(WRITE_ERROR if error.on_write else READ_ERROR)
        _put_varuint(out, error.register)
        _put_varuint(out, error.code)
    return bytes(out)


#: CAN-FD data lengths; a frame is padded with NOP up to the next one.
CANFD_LENGTHS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64)


def pad(frame: bytes) -> bytes:
    for length in CANFD_LENGTHS:
        if length >= len(frame):
            return frame + bytes([NOP]) * (length - len(frame))
    raise MultiplexError(f"a CAN-FD frame holds at most 64 bytes, this one {len(frame)}")
