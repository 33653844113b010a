"""The ASCII codec against the lines in ODrive's docs/ascii-protocol.rst (firmware 0.5.x)."""

from __future__ import annotations

import pytest

from hardware.drivers.odrive.ascii import (
    REQUEST_TERMINATORS,
    ChecksumError,
    LineSplitter,
    Request,
    checksum,
    decode_reply,
    decode_request,
    encode_reply,
    encode_request,
    parse_feedback,
)


def test_the_documented_checksum_example() -> None:
    # "Example of a valid checksum: r vbus_voltage *93" (XOR of every byte before the '*')
    assert checksum("r vbus_voltage ") == 93
    assert encode_request("r vbus_voltage") == b"r vbus_voltage *93\n"
    assert decode_request(b"r vbus_voltage *93") == Request("r vbus_voltage", with_checksum=True)


@pytest.mark.parametrize(
    "line", [b"r vbus_voltage *92", b"r vbus_voltage *", b"r vbus_voltage *9x"]
)
def test_a_line_with_a_bad_checksum_is_ignored(line: bytes) -> None:
    assert decode_request(line) is None


@pytest.mark.parametrize(
    ("line", "command"),
    [
        (b"t 0 -2", "t 0 -2"),
        (b"q 0 -2 1 0.1", "q 0 -2 1 0.1"),
        (b"p 0 -2 0 0", "p 0 -2 0 0"),
        (b"v 0 1 0", "v 0 1 0"),
        (b"w axis0.controller.input_pos -123.456", "w axis0.controller.input_pos -123.456"),
        (b"r vbus_voltage ; a GCode comment", "r vbus_voltage"),
    ],
)
def test_documented_commands_without_a_checksum(line: bytes, command: str) -> None:
    assert decode_request(line) == Request(command, with_checksum=False)


def test_a_comment_after_the_checksum_is_dropped() -> None:
    assert decode_request(b"r vbus_voltage *93 ; battery") == Request("r vbus_voltage", True)


def test_replies_carry_a_checksum_only_when_asked() -> None:
    assert encode_reply("24.087744", with_checksum=False) == b"24.087744\r\n"
    line = encode_reply("24.087744", with_checksum=True)
    assert line == f"24.087744*{checksum('24.087744')}\r\n".encode()
    assert decode_reply(line, with_checksum=True) == "24.087744"
    assert decode_reply(b"24.087744\r\n", with_checksum=False) == "24.087744"


@pytest.mark.parametrize("line", [b"24.087744\r\n", b"24.087745*1\r\n", b"24.1*\r\n"])
def test_a_reply_with_a_missing_or_wrong_checksum_is_refused(line: bytes) -> None:
    with pytest.raises(ChecksumError):
        decode_reply(line, with_checksum=True)


def test_feedback_replies_parse_to_turns_and_turns_per_second() -> None:
    assert parse_feedback("0.250000 -1.500000") == (0.25, -1.5)
    with pytest.raises(ValueError):
        parse_feedback("invalid motor 3")


def test_lines_split_at_cr_lf_and_bang_across_chunks_and_overlong_lines_are_dropped() -> None:
    splitter = LineSplitter(REQUEST_TERMINATORS, max_length=16)
    assert splitter.feed(b"f 0\nu ") == [b"f 0"]
    assert splitter.feed(b"0!c 0 0.5\r\n") == [b"u 0", b"c 0 0.5"]
    assert splitter.feed(b"w " + b"x" * 20 + b"\nf 0\n") == [b"f 0"]
    assert splitter.dropped_lines == 1
