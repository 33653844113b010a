"""The emulator's line and register codecs against mjbots' documents and their Python package:
the byte example of docs/protocol/can.md, the checksum of docs/integration/uart.md."""

from __future__ import annotations

import math

import pytest

from hardware.drivers.moteus import fdcanusb
from hardware.drivers.moteus import multiplex as mp
from hardware.drivers.moteus.registers import POSITION_REV, TORQUE_NM, nan_marker, to_raw

moteus = pytest.importorskip("moteus")
from moteus import fdcanusb_device, protocol  # noqa: E402

#: docs/protocol/can.md: mode position, 3 int16 command registers, read 4 int16 from 0x000,
#: read 3 int8 from 0x00d.
DOC_REQUEST = bytes.fromhex("01000a07206000200150ff140400130d")


def test_crc8_matches_the_vendor_checksum_on_lines_of_every_kind() -> None:
    for line in (b"OK", b"can send 8001 01000a", b"rcv 100 2404000a00 E B F", b"ERR x" * 20):
        expected = fdcanusb_device._append_checksum(line)
        assert fdcanusb.with_checksum(line.decode()) == expected + b"\r\n"
        stripped, had, valid = fdcanusb_device._strip_and_validate_checksum(expected)
        assert (stripped, had, valid) == (line, True, True)
        assert fdcanusb.split_checksum(expected) == (line, True)


def test_a_wrong_checksum_is_refused_and_a_missing_one_is_reported() -> None:
    good = fdcanusb.with_checksum("can send 8001 00").rstrip()
    bad = good[:-1] + (b"0" if good[-1:] != b"0" else b"1")
    with pytest.raises(fdcanusb.LineError, match="checksum mismatch"):
        fdcanusb.split_checksum(bad)
    assert fdcanusb.split_checksum(b"can send 8001 00") == (b"can send 8001 00", False)


def test_can_send_lines_parse_and_bad_ones_say_why() -> None:
    frame = fdcanusb.parse_command(b"can send 8001 01000a07 b F")
    assert frame == fdcanusb.CanFrame(0x8001, bytes.fromhex("01000a07"), brs=False, fd=True)
    for line, why in (
        (b"conf get x", "unknown command"),
        (b"can send 8001", "missing data"),
        (b"can send 80zz 00", "invalid hex"),
        (b"can send 8001 0", "invalid hex"),
        (b"can send 8001 " + b"00" * 65, "data too long"),
    ):
        with pytest.raises(fdcanusb.LineError, match=why):
            fdcanusb.parse_command(line)


def test_rcv_lines_are_what_the_vendor_parses() -> None:
    line = fdcanusb.format_rcv(fdcanusb.CanFrame(0x100, bytes.fromhex("2301000a"), True, True))
    device = fdcanusb_device.FdcanusbDevice.__new__(fdcanusb_device.FdcanusbDevice)
    parsed = device._parse_frame(line.encode())
    assert (parsed.arbitration_id, parsed.data) == (0x100, bytes.fromhex("2301000a"))
    assert parsed.bitrate_switch and parsed.is_fd and not parsed.is_extended_id


def test_the_documented_request_parses_to_its_writes_and_reads() -> None:
    items = mp.parse_request(DOC_REQUEST)
    assert items == [
        mp.Write(0x000, mp.INT8, 10),
        mp.Write(0x020, mp.INT16, 0x0060),
        mp.Write(0x021, mp.INT16, 0x0120),
        mp.Write(0x022, mp.INT16, -176),
        *[mp.Read(r, mp.INT16) for r in range(4)],
        *[mp.Read(r, mp.INT8) for r in (0x00D, 0x00E, 0x00F)],
    ]
    assert 0x0060 * POSITION_REV.int16 == pytest.approx(0.0096)  # "3.456 degrees"
    assert -176 * TORQUE_NM.int16 == pytest.approx(-1.76)


def test_nop_padding_is_skipped_and_a_truncated_frame_is_refused() -> None:
    assert mp.parse_request(mp.pad(DOC_REQUEST[:3])) == [mp.Write(0, mp.INT8, 10)]
    assert len(mp.pad(DOC_REQUEST)) == 16 and len(mp.pad(b"\x01" * 9)) == 12
    with pytest.raises(mp.MultiplexError):
        mp.parse_request(DOC_REQUEST[:6])


def test_replies_decode_with_the_vendor_parser() -> None:
    reads = [mp.Read(0, mp.INT8), *[mp.Read(r, mp.FLOAT) for r in (1, 2, 3)]]
    reads += [mp.Read(0x00F, mp.INT8)] + [mp.Read(r, mp.INT16) for r in range(0x20, 0x26)]
    values: list[int | float] = [10, 0.25, -1.5, 0.75, 102, 96, 0, -176, 0, 0, nan_marker(1)]
    errors = [mp.RegisterError(0x999, mp.ERROR_UNKNOWN_REGISTER, on_write=False)]
    frame = mp.encode_reply(list(zip(reads, values, strict=True)), errors)
    parsed = protocol.parse_registers(frame)
    reply = parsed.response
    assert reply[0x000] == 10 and reply[0x00F] == 102
    assert (reply[0x001], reply[0x002], reply[0x003]) == (0.25, -1.5, 0.75)
    assert reply[0x020] == pytest.approx(0.0096) and reply[0x022] == pytest.approx(-1.76)
    assert math.isnan(reply[0x025])  # the int16 NaN marker: "the configured maximum"
    assert parsed.errors == [(0x999, mp.ERROR_UNKNOWN_REGISTER)]


def test_to_raw_saturates_and_marks_nan() -> None:
    assert to_raw(1e9, mp.INT16, TORQUE_NM) == 32767 and to_raw(-1e9, mp.INT8, TORQUE_NM) == -127
    assert to_raw(math.nan, mp.INT32, TORQUE_NM) == -(2**31)
