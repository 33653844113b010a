"""The ODrive ASCII protocol's line codec (docs/ascii-protocol.rst of firmware 0.5.x).

A request is one line of text: ``command [*checksum] [; comment]`` ended by ``\\n``, ``\\r`` or
``!``. The checksum is the XOR of every byte before the ``*``, written in decimal (the
documented example is ``r vbus_voltage *93``). A device that gets a line with a wrong checksum
ignores it; a request that carries a checksum gets its reply (if any) with one, ``text*N\\r\\n``.
Replies are one line each; ``c``, ``u`` and a successful ``w`` have none.

Pure functions on text and a line splitter, no I/O: both the host (:mod:`.plant`) and the device
side (:mod:`.device`) use them, and the tests feed them the documented lines.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Bytes that end a request line on the device; replies end in CR LF.
REQUEST_TERMINATORS = b"\r\n!"
#: The longest line the firmware accepts (MAX_LINE_LENGTH); longer lines are dropped.
MAX_LINE_LENGTH = 256
#: The firmware formats an ``r`` reply into a 10-byte buffer: 9 characters at most.
READ_REPLY_MAX_CHARS = 9


class ChecksumError(ValueError):
    """A reply line whose checksum does not match its text."""


def checksum(text: str | bytes) -> int:
    """XOR of every byte of ``text`` (the part of a line before its ``*``)."""
    data = text.encode("ascii") if isinstance(text, str) else text
    value = 0
    for byte in data:
        value ^= byte
    return value


def encode_request(command: str, *, with_checksum: bool = True) -> bytes:
    """One request line. With a checksum it takes the documented form ``command *N``."""
    if with_checksum:
        body = f"{command} "
        return f"{body}*{checksum(body)}\n".encode("ascii")
    return f"{command}\n".encode("ascii")


def encode_reply(text: str, *, with_checksum: bool) -> bytes:
    """One reply line as the firmware sends it: ``text*N\\r\\n`` or ``text\\r\\n``."""
    if with_checksum:
        return f"{text}*{checksum(text)}\r\n".encode("ascii")
    return f"{text}\r\n".encode("ascii")


@dataclass(frozen=True, slots=True)
class Request:
    """A request line as the device reads it: the command, and whether it carried a checksum."""

    command: str
    with_checksum: bool


def decode_request(line: bytes) -> Request | None:
    """Parse one request line (without its terminator) as the firmware does.

    The comment after ``;`` is dropped; a line whose checksum is present but wrong, or is not
    a number, is ignored (None), as is a line that is not ASCII.
    """
    line = line.split(b";", 1)[0]
    body, star, tail = line.partition(b"*")
    try:
        command = body.decode("ascii")
    except UnicodeDecodeError:
        return None
    if not star:
        return Request(command.strip(), with_checksum=False)
    digits = tail.strip()
    if not digits.isdigit() or int(digits) != checksum(body):
        return None
    return Request(command.strip(), with_checksum=True)


def decode_reply(line: bytes, *, with_checksum: bool) -> str:
    """The text of one reply line (CR LF stripped), its checksum checked when one is expected.

    Raises :class:`ChecksumError` when a checksum was expected and is missing or wrong.
    """
    text = line.rstrip(b"\r\n").decode("ascii", errors="replace")
    if not with_checksum:
        return text
    body, star, tail = text.rpartition("*")
    if not star or not tail.isdigit() or int(tail) != checksum(body):
        raise ChecksumError(f"bad checksum in reply {text!r}")
    return body


def parse_feedback(text: str) -> tuple[float, float]:
    """The reply to ``f axis``: ``pos vel`` in turns and turns/s. Raises ValueError otherwise."""
    parts = text.split()
    if len(parts) != 2:
        raise ValueError(f"not a feedback reply: {text!r}")
    return float(parts[0]), float(parts[1])


class LineSplitter:
    """Cuts a byte stream into lines at any of ``terminators``; a line longer than
    ``max_length`` is dropped whole, as the firmware drops it. Empty lines are skipped."""

    def __init__(self, terminators: bytes, max_length: int = MAX_LINE_LENGTH) -> None:
        self._terminators = frozenset(terminators)
        self._max_length = max_length
        self._buffer = bytearray()
        self._overlong = False
        self.dropped_lines = 0

    def feed(self, data: bytes) -> list[bytes]:
        lines: list[bytes] = []
        for byte in data:
            if byte in self._terminators:
                if self._overlong:
                    self.dropped_lines += 1
                elif self._buffer:
                    lines.append(bytes(self._buffer))
                self._buffer.clear()
                self._overlong = False
            elif not self._overlong:
                self._buffer.append(byte)
                if len(self._buffer) > self._max_length:
                    self._buffer.clear()
                    self._overlong = True
        return lines

    def reset(self) -> None:
        self._buffer.clear()
        self._overlong = False
