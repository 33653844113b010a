"""The Dynamixel emulator held to ROBOTIS' own code: dynamixel-sdk's PortHandler, PacketHandler,
GroupSyncRead, GroupBulkRead and GroupSyncWrite talk to it over a real pseudo-terminal."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import dynamixel_sdk as sdk  # the dynamixel extra, which make test installs
import pytest

from hardware.drivers import EmulatorOptions
from hardware.drivers.dynamixel.device import MODEL_NUMBER, DynamixelDevice
from hardware.drivers.dynamixel.emulator import DynamixelEmulator, device_config
from hardware.drivers.dynamixel.protocol import (
    ALERT,
    CRC_CHECK,
    Address,
    ErrorCode,
    HardwareError,
    PacketDecoder,
    crc16,
    encode,
    stuff,
    unstuff,
)
from tests.hardware.emulators import Emulators


@dataclass
class Bus:
    servo: DynamixelDevice
    emulator: DynamixelEmulator
    port: Any
    ph: Any


@pytest.fixture
def bus(emulators: Emulators) -> Iterator[Bus]:
    config = device_config(EmulatorOptions())
    running = emulators.start(DynamixelEmulator, DynamixelDevice, config, start_angle_rad=math.pi)
    port = sdk.PortHandler(running.port)
    assert port.openPort() and port.setBaudRate(1_000_000)
    # The SDK polls its port without blocking while it waits for a reply; in this process that
    # starves the emulator's thread of the GIL on a loaded machine. A 1 ms blocking read (what
    # the plant's read_wait_ms does) changes how pyserial waits, not the SDK's packet code.
    port.ser.timeout = 0.001
    try:
        yield Bus(running.device, running.emulator, port, sdk.PacketHandler(2.0))
    finally:
        port.closePort()


def test_crc_and_byte_stuffing_follow_protocol_2() -> None:
    assert crc16(b"123456789") == CRC_CHECK
    body = bytes([0x55, 0x00, 0xFF, 0xFF, 0xFD, 0x12])
    assert stuff(body) == bytes([0x55, 0x00, 0xFF, 0xFF, 0xFD, 0xFD, 0x12])
    assert unstuff(stuff(body)) == body
    packet = encode(1, 0x03, bytes([20, 0, 0xFF, 0xFF, 0xFD, 0xFF]))
    (decoded,) = PacketDecoder().feed(b"\x00\xff" + packet)  # noise before the header
    assert decoded.crc_ok and decoded.params == bytes([20, 0, 0xFF, 0xFF, 0xFD, 0xFF])


def test_ping_read_and_stuffed_write_through_the_sdk(bus: Bus) -> None:
    ph, port = bus.ph, bus.port
    model, result, error = ph.ping(port, 1)
    assert (model, result, error) == (MODEL_NUMBER, sdk.COMM_SUCCESS, 0)
    assert ph.ping(port, 7)[1] == sdk.COMM_RX_TIMEOUT  # nobody has ID 7
    assert ph.read1ByteTxRx(port, 1, Address.OPERATING_MODE) == (3, sdk.COMM_SUCCESS, 0)
    # -131073 is FF FF FD FF on the wire: the SDK stuffs it, the servo unstuffs; back again.
    offset = -131073 & 0xFFFFFFFF
    assert ph.write4ByteTxRx(port, 1, Address.HOMING_OFFSET, offset) == (sdk.COMM_SUCCESS, 0)
    assert ph.read4ByteTxRx(port, 1, Address.HOMING_OFFSET) == (offset, sdk.COMM_SUCCESS, 0)


def test_group_sync_and_bulk_read_report_the_hanging_pendulum(bus: Bus) -> None:
    ph, port = bus.ph, bus.port
    reader = sdk.GroupSyncRead(port, ph, Address.PRESENT_CURRENT, 10)
    assert reader.addParam(1)
    assert reader.txRxPacket() == sdk.COMM_SUCCESS
    position = reader.getData(1, Address.PRESENT_POSITION, 4)
    assert abs(abs(position - (1 << 32) if position >= 1 << 31 else position) - 2048) <= 2
    bulk = sdk.GroupBulkRead(port, ph)
    assert bulk.addParam(1, Address.HARDWARE_ERROR_STATUS, 1)
    assert bulk.txRxPacket() == sdk.COMM_SUCCESS
    assert bulk.getData(1, Address.HARDWARE_ERROR_STATUS, 1) == 0


def test_goal_current_moves_the_pendulum_and_the_table_refuses_what_a_servo_refuses(
    bus: Bus,
) -> None:
    ph, port = bus.ph, bus.port
    limit = bus.servo.get(Address.CURRENT_LIMIT)
    assert ph.write1ByteTxRx(port, 1, Address.OPERATING_MODE, 0) == (sdk.COMM_SUCCESS, 0)
    assert ph.write1ByteTxRx(port, 1, Address.TORQUE_ENABLE, 1) == (sdk.COMM_SUCCESS, 0)
    # EEPROM is locked with the torque on; Goal Current is held to Current Limit.
    assert ph.write1ByteTxRx(port, 1, Address.OPERATING_MODE, 3)[1] == ErrorCode.ACCESS
    assert ph.write2ByteTxRx(port, 1, Address.GOAL_CURRENT, limit + 1)[1] == ErrorCode.DATA_LIMIT
    writer = sdk.GroupSyncWrite(port, ph, Address.GOAL_CURRENT, 2)
    writer.addParam(1, [limit & 0xFF, limit >> 8])
    assert writer.txPacket() == sdk.COMM_SUCCESS  # no reply: a PING makes sure it arrived
    assert ph.ping(port, 1)[1] == sdk.COMM_SUCCESS
    time.sleep(0.3)
    velocity, _, _ = ph.read4ByteTxRx(port, 1, Address.PRESENT_VELOCITY)
    assert 0 < velocity < 1 << 31  # turning counter-clockwise
    assert bus.servo.applied_current == limit
    assert ph.write1ByteTxRx(port, 1, Address.TORQUE_ENABLE, 0) == (sdk.COMM_SUCCESS, 0)
    assert bus.servo.applied_current == 0


def test_bus_watchdog_stops_the_motor_and_locks_goal_current(bus: Bus) -> None:
    ph, port = bus.ph, bus.port
    ph.write1ByteTxRx(port, 1, Address.OPERATING_MODE, 0)
    assert ph.write1ByteTxRx(port, 1, Address.BUS_WATCHDOG, 1) == (sdk.COMM_SUCCESS, 0)  # 20 ms
    ph.write1ByteTxRx(port, 1, Address.TORQUE_ENABLE, 1)
    ph.write2ByteTxRx(port, 1, Address.GOAL_CURRENT, 100)
    assert bus.servo.applied_current == 100
    time.sleep(0.1)  # silence: five watchdog units
    assert ph.read1ByteTxRx(port, 1, Address.BUS_WATCHDOG) == (0xFF, sdk.COMM_SUCCESS, 0)
    assert bus.servo.applied_current == 0 and bus.servo.watchdog_trips == 1
    assert ph.write2ByteTxRx(port, 1, Address.GOAL_CURRENT, 100)[1] == ErrorCode.DATA_RANGE
    assert ph.write1ByteTxRx(port, 1, Address.BUS_WATCHDOG, 0) == (sdk.COMM_SUCCESS, 0)
    assert ph.write2ByteTxRx(port, 1, Address.GOAL_CURRENT, 100) == (sdk.COMM_SUCCESS, 0)


def test_a_hardware_error_raises_the_alert_bit_until_a_reboot(bus: Bus) -> None:
    ph, port = bus.ph, bus.port
    ph.write1ByteTxRx(port, 1, Address.OPERATING_MODE, 0)
    ph.write1ByteTxRx(port, 1, Address.TORQUE_ENABLE, 1)
    bus.servo.raise_hardware_error(HardwareError.OVERLOAD)
    assert bus.servo.applied_current == 0 and not bus.servo.torque_enabled  # in Shutdown (63)
    value, result, error = ph.read1ByteTxRx(port, 1, Address.HARDWARE_ERROR_STATUS)
    assert (value, result, error) == (HardwareError.OVERLOAD, sdk.COMM_SUCCESS, ALERT)
    result, error = ph.write1ByteTxRx(port, 1, Address.TORQUE_ENABLE, 1)
    assert error == ALERT | ErrorCode.RESULT_FAIL
    assert ph.reboot(port, 1) == (sdk.COMM_SUCCESS, ALERT)  # the reply still has the alert
    assert ph.read1ByteTxRx(port, 1, Address.HARDWARE_ERROR_STATUS) == (0, sdk.COMM_SUCCESS, 0)
    assert ph.read1ByteTxRx(port, 1, Address.OPERATING_MODE)[0] == 0  # EEPROM survives
