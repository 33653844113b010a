"""The wire protocol between the host and the motor driver: messages, frames, a streaming decoder.

Pure and stdlib only. The byte-level specification, with worked examples and CRC test vectors,
is ``hardware/PROTOCOL.md``; this module is its reference implementation. Frame layout::

    A5 5A | version | length | type | seq (u16 LE) | payload (length bytes) | CRC-16 (u16 LE)

The CRC is CRC-16/CCITT-FALSE over version..payload (everything but the sync bytes and itself).
Every request gets exactly one reply, and the reply's ``seq`` is the request's ``seq``.

Nothing here raises anything but :class:`ProtocolError`: :func:`encode` rejects values that do
not fit, :func:`decode_frame` rejects any byte string that is not exactly one valid frame, and
:class:`FrameDecoder` never raises at all: it skips garbage, counts what it dropped and resumes at
the next sync bytes.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from enum import IntEnum, IntFlag

from ddpg_control.runtime.errors import PlantError
from hardware.drivers.ddpg.crc import crc16_ccitt_false

SYNC = b"\xa5\x5a"
#: The major protocol version, sent in every frame. A frame with another version is dropped.
PROTOCOL_VERSION = 1
#: The minor version (backwards-compatible additions), reported in the HELLO reply. 1.1: unknown
#: types are NACKed, a half frame times out (PROTOCOL.md section 2).
PROTOCOL_MINOR = 1
#: A partial frame whose next byte comes later than this is discarded (PROTOCOL.md, Receiving).
RESYNC_TIMEOUT_S = 0.020
RESYNC_TIMEOUT_US = 20_000
HEADER_SIZE = 7  # sync(2) version(1) length(1) type(1) seq(2)
CRC_SIZE = 2
MAX_PAYLOAD = 64
MAX_FRAME_SIZE = HEADER_SIZE + MAX_PAYLOAD + CRC_SIZE
_HEADER = struct.Struct("<2sBBBH")
_CRC = struct.Struct("<H")


class ProtocolError(PlantError):
    """A frame or message that does not follow hardware/PROTOCOL.md."""


class MessageType(IntEnum):
    HELLO = 0x01
    ARM = 0x02
    TORQUE = 0x03
    QUERY = 0x04
    DISARM = 0x05
    CLEAR_FAULT = 0x06
    HELLO_REPLY = 0x81
    STATE = 0x82
    NACK = 0x83


class Status(IntFlag):
    """Status bits of a STATE reply."""

    ARMED = 0x01
    FAULT = 0x02  # at least one fault is latched; torque is forced to zero
    TORQUE_LIMITED = 0x04  # the last torque command was clipped to the armed limit


class Fault(IntFlag):
    """Latched fault bits of a STATE reply; cleared only by CLEAR_FAULT."""

    WATCHDOG = 0x01  # no valid TORQUE command within the armed watchdog timeout
    ENCODER = 0x02  # the position sensor failed
    OVER_TEMPERATURE = 0x04
    UNDER_VOLTAGE = 0x08
    OVER_CURRENT = 0x10


class NackCode(IntEnum):
    UNKNOWN_TYPE = 1
    BAD_ARGUMENT = 2  # out-of-range or non-finite value
    FAULTED = 3  # ARM refused while a fault is latched
    NOT_ARMED = 4  # reserved: this version answers TORQUE while disarmed with STATE


@dataclass(frozen=True, slots=True)
class Hello:
    """Host -> device: who are you? Answered by HelloReply."""


@dataclass(frozen=True, slots=True)
class Arm:
    """Host -> device: enable torque with this watchdog timeout and torque limit."""

    watchdog_timeout_ms: int
    torque_limit_nm: float


@dataclass(frozen=True, slots=True)
class Torque:
    """Host -> device: command a torque (feeds the watchdog). Answered by State."""

    torque_nm: float


@dataclass(frozen=True, slots=True)
class Query:
    """Host -> device: report the state without commanding anything. Answered by State."""


@dataclass(frozen=True, slots=True)
class Disarm:
    """Host -> device: zero torque, disable the output stage, stop the watchdog."""


@dataclass(frozen=True, slots=True)
class ClearFault:
    """Host -> device: clear latched faults (the device stays disarmed)."""


@dataclass(frozen=True, slots=True)
class HelloReply:
    protocol_major: int
    protocol_minor: int
    firmware_major: int
    firmware_minor: int
    firmware_patch: int
    max_torque_nm: float
    counts_per_rev: int
    watchdog_min_ms: int
    watchdog_max_ms: int


@dataclass(frozen=True, slots=True)
class State:
    position_counts: int  # multi-turn encoder count, counts_per_rev per turn
    velocity_rad_s: float
    torque_nm: float  # torque being applied now (after limit, watchdog, faults)
    timestamp_us: int  # device clock, wraps at 2**32
    status: int  # Status bits
    faults: int  # Fault bits


@dataclass(frozen=True, slots=True)
class Nack:
    rejected_type: int
    code: int


Message = Hello | Arm | Torque | Query | Disarm | ClearFault | HelloReply | State | Nack


@dataclass(frozen=True, slots=True)
class RawFrame:
    """A CRC-valid frame that is not a message of this version: another version, an unknown type
    or a wrong payload length. Only a decoder made with ``keep_raw=True`` (a device's) returns
    these, so the device can answer them (PROTOCOL.md section 2, step 4)."""

    version: int
    message_type: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class Packet:
    """A decoded frame: the sequence number and the message it carried."""

    seq: int
    message: Message | RawFrame


# type -> (message class, payload struct, field names); field order is the wire order.
_LAYOUT: dict[MessageType, tuple[type, struct.Struct]] = {
    MessageType.HELLO: (Hello, struct.Struct("<")),
    MessageType.ARM: (Arm, struct.Struct("<Hf")),
    MessageType.TORQUE: (Torque, struct.Struct("<f")),
    MessageType.QUERY: (Query, struct.Struct("<")),
    MessageType.DISARM: (Disarm, struct.Struct("<")),
    MessageType.CLEAR_FAULT: (ClearFault, struct.Struct("<")),
    MessageType.HELLO_REPLY: (HelloReply, struct.Struct("<BBBBBfIHH")),
    MessageType.STATE: (State, struct.Struct("<iffIBB")),
    MessageType.NACK: (Nack, struct.Struct("<BB")),
}
_TYPE_OF: dict[type, MessageType] = {cls: t for t, (cls, _) in _LAYOUT.items()}


def payload_size(message_type: MessageType) -> int:
    """The fixed payload length of a message type, in bytes."""
    return _LAYOUT[message_type][1].size


def frame_size(message_type: MessageType) -> int:
    """The whole frame length of a message type, in bytes."""
    return HEADER_SIZE + payload_size(message_type) + CRC_SIZE


def _fields(message: Message) -> tuple[int | float, ...]:
    return tuple(getattr(message, name) for name in message.__slots__)  # type: ignore[union-attr]


def encode(message: Message, seq: int, *, version: int = PROTOCOL_VERSION) -> bytes:
    """Encode ``message`` as one frame with sequence number ``seq`` (0..65535)."""
    message_type = _TYPE_OF.get(type(message))
    if message_type is None:
        raise ProtocolError(f"cannot encode {type(message).__name__}: not a protocol message")
    if not 0 <= seq <= 0xFFFF:
        raise ProtocolError(f"sequence number {seq} does not fit in 16 bits")
    if not 0 <= version <= 0xFF:
        raise ProtocolError(f"protocol version {version} does not fit in 8 bits")
    values = _fields(message)
    for value in values:
        if isinstance(value, float) and not math.isfinite(value):
            raise ProtocolError(f"cannot encode non-finite value in {message!r}")
    try:
        payload = _LAYOUT[message_type][1].pack(*values)
    except struct.error as exc:
        raise ProtocolError(f"value out of range in {message!r}: {exc}") from None
    body = bytes((version, len(payload), message_type)) + seq.to_bytes(2, "little") + payload
    return SYNC + body + _CRC.pack(crc16_ccitt_false(body))


def _parse_payload(message_type: MessageType, payload: bytes) -> Message:
    cls, layout = _LAYOUT[message_type]
    message: Message = cls(*layout.unpack(payload))
    return message


def decode_frame(data: bytes, *, version: int = PROTOCOL_VERSION) -> Packet:
    """Decode exactly one frame; raise ProtocolError saying what is wrong with it."""
    data = bytes(data)
    if len(data) < HEADER_SIZE + CRC_SIZE:
        raise ProtocolError(f"frame too short: {len(data)} bytes")
    sync, frame_version, length, raw_type, seq = _HEADER.unpack_from(data)
    if sync != SYNC:
        raise ProtocolError(f"bad sync bytes {sync.hex()} (expected {SYNC.hex()})")
    if length > MAX_PAYLOAD:
        raise ProtocolError(f"payload length {length} exceeds the maximum {MAX_PAYLOAD}")
    if len(data) != HEADER_SIZE + length + CRC_SIZE:
        raise ProtocolError(f"frame is {len(data)} bytes but its length field says {length}")
    (crc,) = _CRC.unpack_from(data, HEADER_SIZE + length)
    expected_crc = crc16_ccitt_false(data[2 : HEADER_SIZE + length])
    if crc != expected_crc:
        raise ProtocolError(f"bad CRC {crc:#06x} (computed {expected_crc:#06x})")
    if frame_version != version:
        raise ProtocolError(f"protocol version {frame_version}, expected {version}")
    try:
        message_type = MessageType(raw_type)
    except ValueError:
        raise ProtocolError(f"unknown message type {raw_type:#04x}") from None
    if length != payload_size(message_type):
        raise ProtocolError(
            f"{message_type.name} payload is {length} bytes, expected {payload_size(message_type)}"
        )
    payload = data[HEADER_SIZE : HEADER_SIZE + length]
    return Packet(seq, _parse_payload(message_type, payload))


@dataclass(slots=True)
class DecoderStats:
    """What a FrameDecoder dropped, by reason."""

    frames: int = 0
    garbage_bytes: int = 0
    bad_crc: int = 0
    bad_length: int = 0
    bad_version: int = 0
    unknown_type: int = 0
    timeouts: int = 0  # partial frames discarded after RESYNC_TIMEOUT_S of silence

    @property
    def dropped(self) -> int:
        return self.bad_crc + self.bad_length + self.bad_version + self.unknown_type + self.timeouts


class FrameDecoder:
    """Streaming decoder: feed it bytes as they arrive, get back complete valid packets.

    It never raises: garbage before a sync, frames with a bad CRC, an impossible length, another
    protocol version, an unknown type or a wrong payload size are dropped and counted in
    :attr:`stats`, and decoding resumes at the next sync bytes. Its buffer never holds more than
    one maximum-size frame, so it cannot grow without bound.
    """

    def __init__(self, *, version: int = PROTOCOL_VERSION, keep_raw: bool = False) -> None:
        self._version = version
        self._keep_raw = keep_raw
        self._buffer = bytearray()
        self._last_byte_s: float | None = None
        self.stats = DecoderStats()
        #: The version byte of the last CRC-valid frame with another version, if any.
        self.foreign_version: int | None = None

    def reset(self) -> None:
        """Forget buffered bytes (statistics are kept)."""
        self._buffer.clear()

    def bytes_wanted(self) -> int:
        """How many more bytes could complete a frame at the earliest (at least 1).

        A reader can ask its port for exactly this many, so it never waits for bytes that are not
        coming and never reads a byte at a time.
        """
        buffered = len(self._buffer)
        if buffered < HEADER_SIZE:
            return HEADER_SIZE + CRC_SIZE - buffered
        length = self._buffer[3]
        if length > MAX_PAYLOAD:
            return 1
        return max(1, HEADER_SIZE + length + CRC_SIZE - buffered)

    def feed(self, data: bytes | bytearray, now_s: float | None = None) -> list[Packet]:
        """Decode what ``data`` completes. With ``now_s`` (when the bytes arrived), a partial frame
        left waiting for more than RESYNC_TIMEOUT_S is discarded first, as a device must."""
        buffer = self._buffer
        if now_s is not None and data:
            last = self._last_byte_s
            # compared in whole microseconds, like a device's clock (and the C core)
            if buffer and last is not None and round((now_s - last) * 1e6) > RESYNC_TIMEOUT_US:
                self.stats.timeouts += 1
                buffer.clear()
            self._last_byte_s = now_s
        buffer += data
        packets: list[Packet] = []
        while True:
            start = buffer.find(SYNC)
            if start < 0:
                keep = 1 if buffer[-1:] == SYNC[:1] else 0
                self.stats.garbage_bytes += len(buffer) - keep
                del buffer[: len(buffer) - keep]
                return packets
            if start:
                self.stats.garbage_bytes += start
                del buffer[:start]
            if len(buffer) < HEADER_SIZE:
                return packets
            length = buffer[3]
            if length > MAX_PAYLOAD:
                self.stats.bad_length += 1
                del buffer[:1]
                continue
            total = HEADER_SIZE + length + CRC_SIZE
            if len(buffer) < total:
                return packets
            (crc,) = _CRC.unpack_from(buffer, HEADER_SIZE + length)
            if crc != crc16_ccitt_false(memoryview(buffer)[2 : HEADER_SIZE + length]):
                self.stats.bad_crc += 1
                del buffer[:1]  # the sync may have been payload: rescan from the next byte
                continue
            frame = bytes(buffer[:total])
            del buffer[:total]
            packet = self._accept(frame, length)
            if packet is None and self._keep_raw:
                raw = RawFrame(frame[2], frame[4], frame[HEADER_SIZE : HEADER_SIZE + length])
                packet = Packet(int.from_bytes(frame[5:7], "little"), raw)
            if packet is not None:
                packets.append(packet)

    def _accept(self, frame: bytes, length: int) -> Packet | None:
        version, raw_type = frame[2], frame[4]
        if version != self._version:
            self.stats.bad_version += 1
            self.foreign_version = version
            return None
        try:
            message_type = MessageType(raw_type)
        except ValueError:
            self.stats.unknown_type += 1
            return None
        if length != payload_size(message_type):
            self.stats.bad_length += 1
            return None
        self.stats.frames += 1
        seq = int.from_bytes(frame[5:7], "little")
        return Packet(seq, _parse_payload(message_type, frame[HEADER_SIZE : HEADER_SIZE + length]))
