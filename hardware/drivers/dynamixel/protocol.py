"""DYNAMIXEL Protocol 2.0 as the servo sees it: packets, CRC, byte stuffing, the control table.

Written from ROBOTIS' e-manual (Protocol 2.0; the X series control table, checked against the
XM430-W350 table the ``dynamixel-sdk`` wheel ships). The host side (:mod:`.plant`) does not use
this module: it speaks through ROBOTIS' own ``dynamixel-sdk``, so the emulator built on this
module is checked against the maker's code, not against itself.

Packet layout (little-endian)::

    FF FF FD 00 | ID | LEN_L LEN_H | INST | PARAMS... | CRC_L CRC_H      instruction
    FF FF FD 00 | ID | LEN_L LEN_H | 55   | ERR | PARAMS... | CRC_L CRC_H status

``LEN`` counts from INST to the CRC included. Inside INST..PARAMS, any ``FF FF FD`` gets an extra
``FD`` (byte stuffing) so the header never appears in a body; ``LEN`` and the CRC cover the
stuffed bytes. The CRC is CRC-16/BUYPASS: poly 0x8005, init 0, not reflected (check 0xFEE8).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

HEADER = b"\xff\xff\xfd\x00"
BROADCAST_ID = 0xFE
MAX_ID = 0xFC

CRC_POLY = 0x8005
#: CRC-16/BUYPASS of b"123456789".
CRC_CHECK = 0xFEE8


class Instruction(enum.IntEnum):
    PING = 0x01
    READ = 0x02
    WRITE = 0x03
    REBOOT = 0x08
    STATUS = 0x55
    SYNC_READ = 0x82
    SYNC_WRITE = 0x83
    BULK_READ = 0x92


class ErrorCode(enum.IntEnum):
    """The status packet's error byte, low 7 bits; bit 7 is the Alert (a hardware error)."""

    NONE = 0
    RESULT_FAIL = 1
    INSTRUCTION = 2
    CRC = 3
    DATA_RANGE = 4
    DATA_LENGTH = 5
    DATA_LIMIT = 6
    ACCESS = 7


ALERT = 0x80


class Address(enum.IntEnum):
    """X series control table addresses this project uses (e-manual, XM430-W350)."""

    MODEL_NUMBER = 0
    FIRMWARE_VERSION = 6
    ID = 7
    BAUD_RATE = 8
    RETURN_DELAY_TIME = 9
    DRIVE_MODE = 10
    OPERATING_MODE = 11
    HOMING_OFFSET = 20
    CURRENT_LIMIT = 38
    SHUTDOWN = 63
    TORQUE_ENABLE = 64
    LED = 65
    STATUS_RETURN_LEVEL = 68
    HARDWARE_ERROR_STATUS = 70
    BUS_WATCHDOG = 98
    GOAL_CURRENT = 102
    REALTIME_TICK = 120
    PRESENT_CURRENT = 126
    PRESENT_VELOCITY = 128
    PRESENT_POSITION = 132
    PRESENT_INPUT_VOLTAGE = 144
    PRESENT_TEMPERATURE = 146


#: Operating Mode (11) values.
CURRENT_CONTROL_MODE = 0
OPERATING_MODES = {0: "current", 1: "velocity", 3: "position", 4: "extended position",
                   5: "current-based position", 16: "PWM"}  # fmt: skip

#: Bus Watchdog (98): its unit, its largest value, and what it reads once it has tripped.
BUS_WATCHDOG_UNIT_MS = 20
BUS_WATCHDOG_MAX = 127
BUS_WATCHDOG_TRIPPED = 0xFF  # -1 as a signed byte


def bus_watchdog_units(watchdog_ms: float) -> int:
    """A watchdog time in Bus Watchdog (98) units: rounded up to 20 ms, within 1..127."""
    return min(BUS_WATCHDOG_MAX, max(1, math.ceil(watchdog_ms / BUS_WATCHDOG_UNIT_MS)))


#: Units of the X series: position 4096 counts a turn, velocity 0.229 rev/min.
COUNTS_PER_REV = 4096
VELOCITY_UNIT_RPM = 0.229


def position_rad(counts: int) -> float:
    """Present Position (counts) in radians."""
    return counts * 2.0 * math.pi / COUNTS_PER_REV


def position_counts(angle_rad: float) -> int:
    """An angle in radians as Present Position counts."""
    return round(angle_rad * COUNTS_PER_REV / (2.0 * math.pi))


def velocity_rad_s(units: int) -> float:
    """Present Velocity (0.229 rpm units) in rad/s."""
    return units * VELOCITY_UNIT_RPM * 2.0 * math.pi / 60.0


def velocity_units(velocity_rad_s: float) -> int:
    """A velocity in rad/s as Present Velocity units."""
    return round(velocity_rad_s * 60.0 / (2.0 * math.pi) / VELOCITY_UNIT_RPM)


#: Baud Rate (8) register values (e-manual) -> bits/s.
BAUD_RATES = {0: 9600, 1: 57600, 2: 115200, 3: 1_000_000, 4: 2_000_000, 5: 3_000_000,
              6: 4_000_000, 7: 4_500_000}  # fmt: skip


class HardwareError(enum.IntFlag):
    """Hardware Error Status (70) bits."""

    INPUT_VOLTAGE = 0x01
    OVERHEATING = 0x04
    MOTOR_ENCODER = 0x08
    ELECTRICAL_SHOCK = 0x10
    OVERLOAD = 0x20


HARDWARE_ERROR_NAMES = {
    HardwareError.INPUT_VOLTAGE: "Input Voltage Error",
    HardwareError.OVERHEATING: "Overheating Error",
    HardwareError.MOTOR_ENCODER: "Motor Encoder Error",
    HardwareError.ELECTRICAL_SHOCK: "Electrical Shock Error",
    HardwareError.OVERLOAD: "Overload Error",
}

#: ``emulate --fault`` names -> the bit they raise.
FAULTS = {
    "input-voltage": HardwareError.INPUT_VOLTAGE,
    "overheating": HardwareError.OVERHEATING,
    "encoder": HardwareError.MOTOR_ENCODER,
    "electrical-shock": HardwareError.ELECTRICAL_SHOCK,
    "overload": HardwareError.OVERLOAD,
}


def describe_hardware_error(status: int) -> str:
    names = [name for bit, name in HARDWARE_ERROR_NAMES.items() if status & bit]
    return " + ".join(names) if names else "unknown hardware error"


def describe_error(error: int) -> str:
    try:
        text = ErrorCode(error & 0x7F).name.lower().replace("_", " ") + " error"
    except ValueError:
        text = f"error code {error & 0x7F}"
    return text + (" (alert: a hardware error is latched)" if error & ALERT else "")


# -- CRC -----------------------------------------------------------------------------------------


def _make_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ CRC_POLY) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return tuple(table)


_TABLE = _make_table()


def crc16(data: bytes | bytearray) -> int:
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _TABLE[((crc >> 8) ^ byte) & 0xFF]
    return crc


# -- byte stuffing ---------------------------------------------------------------------------------


def stuff(body: bytes) -> bytes:
    """Insert ``FD`` after every ``FF FF FD`` in ``body`` (INST..PARAMS)."""
    out = bytearray()
    for byte in body:
        out.append(byte)
        if byte == 0xFD and out[-3:-1] == b"\xff\xff":
            out.append(0xFD)
    return bytes(out)


def unstuff(body: bytes) -> bytes:
    """Drop the ``FD`` that follows every ``FF FF FD`` in ``body``."""
    out = bytearray()
    i = 0
    while i < len(body):
        out.append(body[i])
        if body[i] == 0xFD and out[-3:-1] == b"\xff\xff" and body[i + 1 : i + 2] == b"\xfd":
            i += 1  # skip the stuffed byte
        i += 1
    return bytes(out)


# -- packets ---------------------------------------------------------------------------------------


def encode(packet_id: int, instruction: int, params: bytes = b"") -> bytes:
    """An instruction packet (or, with STATUS and the error byte first in ``params``, a status
    packet): stuffed, with its length and CRC."""
    body = stuff(bytes([instruction]) + params)
    length = len(body) + 2
    head = HEADER + bytes([packet_id, length & 0xFF, length >> 8])
    crc = crc16(head + body)
    return head + body + bytes([crc & 0xFF, crc >> 8])


def status_packet(servo_id: int, error: int, params: bytes = b"") -> bytes:
    return encode(servo_id, Instruction.STATUS, bytes([error]) + params)


@dataclass(frozen=True, slots=True)
class Packet:
    packet_id: int
    instruction: int
    params: bytes  # unstuffed
    crc_ok: bool


class PacketDecoder:
    """Splits a byte stream into packets; skips noise before a header."""

    MAX_LENGTH = 1024

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.bad_crc = 0

    def feed(self, data: bytes) -> list[Packet]:
        self._buffer += data
        packets: list[Packet] = []
        while True:
            start = self._buffer.find(HEADER)
            if start < 0:
                del self._buffer[: max(0, len(self._buffer) - 3)]  # keep a partial header
                return packets
            del self._buffer[:start]
            if len(self._buffer) < 7:
                return packets
            length = self._buffer[5] | (self._buffer[6] << 8)
            if not 3 <= length <= self.MAX_LENGTH:
                del self._buffer[:1]
                continue
            if len(self._buffer) < 7 + length:
                return packets
            raw = bytes(self._buffer[: 7 + length])
            del self._buffer[: 7 + length]
            crc = raw[-2] | (raw[-1] << 8)
            crc_ok = crc16(raw[:-2]) == crc
            self.bad_crc += not crc_ok
            body = unstuff(raw[7:-2])
            packets.append(Packet(raw[4], body[0], body[1:], crc_ok))
