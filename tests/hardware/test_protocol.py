"""The codec: round trips, rejection reasons, resynchronisation, the documented vectors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hardware.drivers.ddpg.crc import CRC16_CHECK, CRC16_INIT, crc16_ccitt_false, crc16_reference
from hardware.drivers.ddpg.protocol import (
    MAX_PAYLOAD,
    RESYNC_TIMEOUT_S,
    Arm,
    ClearFault,
    Disarm,
    FrameDecoder,
    Hello,
    HelloReply,
    Nack,
    Packet,
    ProtocolError,
    Query,
    RawFrame,
    State,
    Torque,
    decode_frame,
    encode,
)

PROTOCOL_MD = Path(__file__).resolve().parents[2] / "hardware" / "PROTOCOL.md"

# The examples printed in PROTOCOL.md, as (message, seq).
DOCUMENTED = [
    (Hello(), 0x0001),
    (HelloReply(1, 1, 0, 2, 0, 2.0, 4096, 10, 1000), 0x0001),
    (Arm(100, 2.0), 0x0002),
    (Torque(1.5), 0x0003),
    (State(-1234, 0.5, 1.5, 123456, 0x01, 0x00), 0x0003),
    (Query(), 0x0004),
    (State(-1900, -3.25, 0.0, 250000, 0x02, 0x01), 0x0004),
    (Nack(0x02, 3), 0x0005),
    (ClearFault(), 0x0006),
    (Disarm(), 0x0007),
]


def test_crc_matches_the_catalogue_check_value() -> None:
    assert crc16_ccitt_false(b"123456789") == CRC16_CHECK == 0x29B1
    assert crc16_reference(b"123456789") == CRC16_CHECK
    assert crc16_ccitt_false(b"") == CRC16_INIT


def test_crc_vectors_in_protocol_md_hold() -> None:
    text = PROTOCOL_MD.read_text()
    vectors = re.findall(r"^\| `([0-9a-f ]*)` \| `0x([0-9A-F]{4})` \|", text, re.MULTILINE)
    assert len(vectors) >= 4
    for hex_bytes, crc in vectors:
        data = bytes.fromhex(hex_bytes)
        assert crc16_ccitt_false(data) == int(crc, 16) == crc16_reference(data)


@pytest.mark.parametrize(("message", "seq"), DOCUMENTED)
def test_documented_examples_encode_as_printed(message: object, seq: int) -> None:
    frame = encode(message, seq)  # type: ignore[arg-type]
    assert frame.hex(" ") in PROTOCOL_MD.read_text(), (
        f"{message} is not documented as {frame.hex(' ')}"
    )
    packet = decode_frame(frame)
    assert packet.seq == seq and packet.message == message


def test_encode_rejects_values_that_do_not_fit() -> None:
    with pytest.raises(ProtocolError, match="non-finite"):
        encode(Torque(float("nan")), 1)
    with pytest.raises(ProtocolError, match="16 bits"):
        encode(Torque(0.0), 70000)
    with pytest.raises(ProtocolError, match="out of range"):
        encode(Arm(-5, 1.0), 1)
    with pytest.raises(ProtocolError, match="not a protocol message"):
        encode("hello", 1)  # type: ignore[arg-type]


def _with_crc(body: bytes) -> bytes:
    return b"\xa5\x5a" + body + crc16_ccitt_false(body).to_bytes(2, "little")


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"", "too short"),
        (b"\x00\x00" + encode(Hello(), 1)[2:], "sync"),
        (encode(Torque(1.0), 1)[:-1] + b"\x00", "bad CRC"),
        (_with_crc(bytes([2, 0, 0x01, 1, 0])), "protocol version 2"),
        (_with_crc(bytes([1, 0, 0x7F, 1, 0])), "unknown message type"),
        (_with_crc(bytes([1, 2, 0x03, 1, 0, 0, 0])), "TORQUE payload is 2 bytes"),
        (_with_crc(bytes([1, MAX_PAYLOAD + 1, 0x03, 1, 0]) + bytes(MAX_PAYLOAD + 1)), "exceeds"),
        (encode(Hello(), 1) + b"\x00", "length field"),
    ],
)
def test_decode_frame_says_what_is_wrong(frame: bytes, reason: str) -> None:
    with pytest.raises(ProtocolError, match=reason):
        decode_frame(frame)


def test_stream_decoder_resynchronises_after_garbage_and_split_frames() -> None:
    frames = [encode(Torque(0.25 * i), i) for i in range(5)]
    corrupted = bytearray(encode(Torque(9.0), 99))
    corrupted[8] ^= 0x10
    stream = b"\xa5garbage\x5a\xa5" + frames[0] + frames[1] + bytes(corrupted) + b"\xa5\x5a\x01"
    stream += frames[2] + b"\x00" * 3 + frames[3] + frames[4]
    decoder = FrameDecoder()
    packets = []
    for i in range(0, len(stream), 3):  # arbitrary chunking, splitting frames
        packets += decoder.feed(stream[i : i + 3])
    assert [p.seq for p in packets] == [0, 1, 2, 3, 4]
    assert decoder.stats.bad_crc >= 1 and decoder.stats.garbage_bytes > 0


def test_stream_decoder_records_a_foreign_protocol_version() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(_with_crc(bytes([3, 0, 0x01, 1, 0]))) == []
    assert decoder.stats.bad_version == 1 and decoder.foreign_version == 3


def test_bytes_wanted_never_asks_past_the_end_of_a_frame() -> None:
    stream = b"\x00\xa5" + b"".join(encode(Torque(float(i)), i) for i in range(20))
    stream += encode(HelloReply(1, 0, 0, 1, 0, 2.0, 4096, 10, 1000), 99)
    decoder = FrameDecoder()
    pos, packets = 0, []
    while pos < len(stream):
        want = decoder.bytes_wanted()
        assert 1 <= want <= len(stream) - pos  # a port delivering exactly this never blocks
        packets += decoder.feed(stream[pos : pos + want])
        pos += want
    assert [p.seq for p in packets] == [*range(20), 99]


def test_a_half_frame_is_discarded_after_the_resync_timeout() -> None:
    # PROTOCOL.md section 2: a stray A5 5A 01 40 must not swallow the next HELLO.
    hello = encode(Hello(), 7)
    decoder = FrameDecoder()
    assert decoder.feed(b"\xa5\x5a\x01\x40", now_s=1.0) == []
    assert decoder.feed(hello, now_s=1.0 + RESYNC_TIMEOUT_S * 1.01) == [Packet(7, Hello())]
    assert decoder.stats.timeouts == 1
    # within the timeout the bytes belong together (and here never complete a frame)
    decoder = FrameDecoder()
    decoder.feed(b"\xa5\x5a\x01\x40", now_s=1.0)
    assert decoder.feed(hello, now_s=1.0 + RESYNC_TIMEOUT_S * 0.5) == []
    # without times (a host's decoder) nothing times out
    decoder = FrameDecoder()
    decoder.feed(b"\xa5\x5a\x01\x40")
    assert decoder.feed(hello) == [] and decoder.stats.timeouts == 0


def test_a_device_decoder_keeps_frames_it_cannot_parse_for_the_device_to_answer() -> None:
    unknown = _with_crc(bytes([1, 0, 0x07, 3, 0]))
    short_torque = _with_crc(bytes([1, 2, 0x03, 4, 0, 0, 0]))
    other_version = _with_crc(bytes([2, 0, 0x01, 5, 0]))
    host = FrameDecoder()
    assert host.feed(unknown + short_torque + other_version) == []
    device = FrameDecoder(keep_raw=True)
    packets = device.feed(unknown + short_torque + other_version)
    assert packets == [
        Packet(3, RawFrame(1, 0x07, b"")),
        Packet(4, RawFrame(1, 0x03, b"\x00\x00")),
        Packet(5, RawFrame(2, 0x01, b"")),
    ]
