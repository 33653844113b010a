"""The device side of the fdcanusb line protocol (README.md of github.com/mjbots/fdcanusb; the
checksum from docs/integration/uart.md of github.com/mjbots/moteus).

One ASCII line per command, answered by ``OK`` or ``ERR <details>``; frames from the bus come
back as ``rcv <HEXID> <HEXDATA> <flags>``::

    > can send 8001 01000a07206000200150ff140400130d
    < OK
    < rcv 100 2404000a005000000170ff230d181400 E B F

Over a moteus' own UART (and this emulator) every line may end in `` *XX``: a CRC-8
(polynomial 0x97) of the line up to and including the space before ``*``. Once a host has sent
one checksummed line, lines without one are refused; replies always carry one.
"""

from __future__ import annotations

from dataclasses import dataclass

CRC8_POLYNOMIAL = 0x97


def _crc8_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = ((crc << 1) ^ CRC8_POLYNOMIAL) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
        table.append(crc)
    return tuple(table)


_CRC8_TABLE = _crc8_table()


def crc8(data: bytes) -> int:
    """CRC-8, polynomial 0x97, initial value 0, no reflection, no final xor."""
    crc = 0
    for byte in data:
        crc = _CRC8_TABLE[crc ^ byte]
    return crc


def with_checksum(line: str) -> bytes:
    """``line *XX\\r\\n`` as bytes."""
    body = (line + " ").encode("ascii")
    return body + f"*{crc8(body):02X}\r\n".encode("ascii")


class LineError(ValueError):
    """A line the adapter answers with ``ERR``; the message is what follows ``ERR``."""


def split_checksum(line: bytes) -> tuple[bytes, bool]:
    """The line without its checksum, and whether it had one. A wrong checksum raises."""
    star = line.rfind(b"*")
    if star == -1 or star + 3 != len(line):
        return line, False
    try:
        claimed = int(line[star + 1 :], 16)
    except ValueError:
        return line, False
    if crc8(line[:star]) != claimed:
        raise LineError("checksum mismatch")
    return line[:star].rstrip(b" "), True


@dataclass(frozen=True, slots=True)
class CanFrame:
    arbitration_id: int
    data: bytes
    brs: bool = True
    fd: bool = True


def parse_command(line: bytes) -> CanFrame:
    """A ``can send|std|ext <HEXID> <HEXDATA> [flags]`` line (checksum already removed)."""
    fields = line.decode("ascii", errors="replace").split()
    if len(fields) < 3 or fields[0] != "can" or fields[1] not in ("send", "std", "ext"):
        raise LineError("unknown command")
    if len(fields) < 4:
        raise LineError("missing data")
    try:
        arbitration_id = int(fields[2], 16)
        hexdata = fields[3]
        if len(hexdata) % 2:
            raise ValueError(hexdata)
        data = bytes.fromhex(hexdata)
    except ValueError:
        raise LineError("invalid hex") from None
    if len(data) > 64:
        raise LineError("data too long")
    flags = "".join(fields[4:])
    return CanFrame(arbitration_id, data, brs="b" not in flags, fd="f" not in flags)


def format_rcv(frame: CanFrame) -> str:
    flags = ["E" if frame.arbitration_id > 0x7FF else "e"]
    flags.append("B" if frame.brs else "b")
    flags.append("F" if frame.fd else "f")
    return f"rcv {frame.arbitration_id:X} {frame.data.hex().upper()} {' '.join(flags)}"
