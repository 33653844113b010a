"""A virtual DYNAMIXEL X series servo in current control: the emulator's firmware, no I/O.

:class:`DynamixelDevice` keeps an X series control table (the entries in :data:`ITEMS`), answers
Protocol 2.0 instructions (PING, READ, WRITE, REBOOT, SYNC READ, SYNC WRITE, BULK READ) with status
packets, and drives a physics plant (any ``Plant``: the PyBullet pendulum) with Goal Current times
its torque constant while Torque Enable is 1 in Operating Mode 0. It runs the Bus Watchdog (every
instruction packet feeds it; on a trip Bus Watchdog reads -1, the motor stops and Goal Current
becomes read-only until 0 is written to Bus Watchdog) and latches Hardware Error Status bits
raised by :meth:`raise_hardware_error` (a bit in Shutdown (63) also disables the torque, which
then cannot be enabled before a REBOOT). Time comes only from ``now_s`` arguments.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass

from ddpg_control.runtime.contracts import Plant
from hardware.drivers.dynamixel.protocol import (
    ALERT,
    BROADCAST_ID,
    BUS_WATCHDOG_MAX,
    BUS_WATCHDOG_TRIPPED,
    BUS_WATCHDOG_UNIT_MS,
    CURRENT_CONTROL_MODE,
    OPERATING_MODES,
    Address,
    ErrorCode,
    Instruction,
    Packet,
    describe_hardware_error,
    position_counts,
    status_packet,
    velocity_units,
)
from hardware.multi_turn import MultiTurn

log = logging.getLogger(__name__)

#: XM430-W350-T's model number.
MODEL_NUMBER = 1020
FIRMWARE_VERSION = 48


@dataclass(frozen=True, slots=True)
class Item:
    size: int
    access: str  # "R" read-only, "EEPROM" (writable with the torque off), "RAM"
    signed: bool = False
    low: int = 0
    high: int = 0


#: The control table entries the virtual servo has; other addresses read 0 and refuse writes.
ITEMS: dict[int, Item] = {
    Address.MODEL_NUMBER: Item(2, "R"),
    Address.FIRMWARE_VERSION: Item(1, "R"),
    Address.ID: Item(1, "EEPROM", low=0, high=252),
    Address.BAUD_RATE: Item(1, "EEPROM", low=0, high=7),
    Address.RETURN_DELAY_TIME: Item(1, "EEPROM", low=0, high=254),
    Address.DRIVE_MODE: Item(1, "EEPROM", low=0, high=13),
    Address.OPERATING_MODE: Item(1, "EEPROM", low=0, high=16),
    Address.HOMING_OFFSET: Item(4, "EEPROM", signed=True, low=-1_044_479, high=1_044_479),
    Address.CURRENT_LIMIT: Item(2, "EEPROM", low=0, high=1193),
    Address.SHUTDOWN: Item(1, "EEPROM", low=0, high=0xFF),
    Address.TORQUE_ENABLE: Item(1, "RAM", low=0, high=1),
    Address.LED: Item(1, "RAM", low=0, high=1),
    Address.STATUS_RETURN_LEVEL: Item(1, "RAM", low=0, high=2),
    Address.HARDWARE_ERROR_STATUS: Item(1, "R"),
    Address.BUS_WATCHDOG: Item(1, "RAM", low=0, high=BUS_WATCHDOG_MAX),
    Address.GOAL_CURRENT: Item(2, "RAM", signed=True, low=-1193, high=1193),
    Address.REALTIME_TICK: Item(2, "R"),
    Address.PRESENT_CURRENT: Item(2, "R", signed=True),
    Address.PRESENT_VELOCITY: Item(4, "R", signed=True),
    Address.PRESENT_POSITION: Item(4, "R", signed=True),
    Address.PRESENT_INPUT_VOLTAGE: Item(2, "R"),
    Address.PRESENT_TEMPERATURE: Item(1, "R"),
}
TABLE_SIZE = 256


@dataclass(frozen=True, slots=True)
class DynamixelDeviceConfig:
    servo_id: int = 1
    torque_constant_nm_per_a: float = 1.78
    current_unit_ma: float = 2.69
    current_limit: int = 1193  # Current Limit (38) at power-up, in current units
    return_delay_time: int = 250  # factory default: 250 * 2 us
    operating_mode: int = 3  # factory default: position control
    baud_rate: int = 1  # factory default: 57600


class DynamixelDevice:
    def __init__(self, physics: Plant, config: DynamixelDeviceConfig, start_s: float) -> None:
        self.config = config
        self._physics = physics
        self._start_s = start_s
        self.table = bytearray(TABLE_SIZE)
        self.applied_current = 0  # current units actually driven
        self.last_goal_current: int | None = None
        self.enabled_at_s: float | None = None  # first Torque Enable 1, for fault schedules
        self.watchdog_trips = 0
        self.instructions = 0
        self._last_instruction_s = start_s
        self._multi_turn = MultiTurn()
        self._power_on()

    # -- control table ---------------------------------------------------------------------------

    def _power_on(self) -> None:
        cfg = self.config
        self.table[:] = bytes(TABLE_SIZE)
        self._set(Address.MODEL_NUMBER, MODEL_NUMBER)
        self._set(Address.FIRMWARE_VERSION, FIRMWARE_VERSION)
        self._set(Address.ID, cfg.servo_id)
        self._set(Address.BAUD_RATE, cfg.baud_rate)
        self._set(Address.RETURN_DELAY_TIME, cfg.return_delay_time)
        self._set(Address.OPERATING_MODE, cfg.operating_mode)
        self._set(Address.CURRENT_LIMIT, cfg.current_limit)
        self._set(Address.SHUTDOWN, 0x34)  # overheating, electrical shock, overload
        self._set(Address.STATUS_RETURN_LEVEL, 2)
        self._set(Address.PRESENT_INPUT_VOLTAGE, 120)  # 12.0 V
        self._set(Address.PRESENT_TEMPERATURE, 35)
        self._drive(0)

    def get(self, address: int) -> int:
        item = ITEMS[address]
        return int.from_bytes(
            self.table[address : address + item.size], "little", signed=item.signed
        )

    def _set(self, address: int, value: int) -> None:
        item = ITEMS[address]
        if not item.signed:
            value &= (1 << (8 * item.size)) - 1
        self.table[address : address + item.size] = value.to_bytes(
            item.size, "little", signed=item.signed
        )

    @property
    def servo_id(self) -> int:
        return self.get(Address.ID)

    @property
    def torque_enabled(self) -> bool:
        return bool(self.get(Address.TORQUE_ENABLE))

    @property
    def hardware_error(self) -> int:
        return self.get(Address.HARDWARE_ERROR_STATUS)

    @property
    def watchdog_tripped(self) -> bool:
        return self.get(Address.BUS_WATCHDOG) == BUS_WATCHDOG_TRIPPED

    @property
    def reply_delay_s(self) -> float:
        return self.get(Address.RETURN_DELAY_TIME) * 2e-6

    @property
    def applied_torque_nm(self) -> float:
        return self._torque_of(self.applied_current)

    def _torque_of(self, current: int) -> float:
        cfg = self.config
        return current * cfg.current_unit_ma / 1000.0 * cfg.torque_constant_nm_per_a

    def _drive(self, current: int) -> None:
        self.applied_current = current
        self._physics.apply(self._torque_of(current))

    # -- time ------------------------------------------------------------------------------------

    def tick(self, now_s: float) -> None:
        """Advance the physics, refresh the Present values, run the Bus Watchdog."""
        self._sample(now_s)
        watchdog = self.get(Address.BUS_WATCHDOG)
        if (
            self.torque_enabled
            and 0 < watchdog <= BUS_WATCHDOG_MAX
            and now_s - self._last_instruction_s > watchdog * BUS_WATCHDOG_UNIT_MS / 1000.0
        ):
            log.warning(
                "Bus Watchdog: no instruction for %.0f ms; the motor stops",
                (now_s - self._last_instruction_s) * 1000,
            )
            self.trip_watchdog()

    def trip_watchdog(self) -> None:
        """What a Bus Watchdog timeout does: Bus Watchdog reads -1, the motor stops."""
        self.watchdog_trips += 1
        self._set(Address.BUS_WATCHDOG, BUS_WATCHDOG_TRIPPED)
        self._set(Address.GOAL_CURRENT, 0)
        self._drive(0)

    def _sample(self, now_s: float) -> None:
        joint = self._physics.read()
        angle = self._multi_turn.unwrap(joint.angle_rad)
        counts = position_counts(angle) + self.get(Address.HOMING_OFFSET)
        velocity = velocity_units(joint.velocity_rad_s)
        self._set(Address.PRESENT_POSITION, max(-(2**31), min(2**31 - 1, counts)))
        self._set(Address.PRESENT_VELOCITY, velocity)
        self._set(Address.PRESENT_CURRENT, self.applied_current)
        self._set(Address.REALTIME_TICK, int((now_s - self._start_s) * 1000) % 32768)

    def raise_hardware_error(self, bits: int) -> None:
        self._set(Address.HARDWARE_ERROR_STATUS, self.hardware_error | bits)
        log.warning("hardware error: %s", describe_hardware_error(self.hardware_error))
        if bits & self.get(Address.SHUTDOWN):
            self._set(Address.TORQUE_ENABLE, 0)
            self._drive(0)

    # -- instructions ----------------------------------------------------------------------------

    def handle(self, packet: Packet, now_s: float) -> list[bytes]:
        """The status packets (zero or more) this servo sends in reply to ``packet``."""
        mine = packet.packet_id == self.servo_id
        if not (mine or packet.packet_id == BROADCAST_ID):
            return []
        self.instructions += 1
        self._last_instruction_s = now_s
        self.tick(now_s)
        if not packet.crc_ok:
            return self._status(ErrorCode.CRC) if mine else []
        params = packet.params
        inst = packet.instruction
        if inst == Instruction.PING:
            model = struct.pack("<HB", MODEL_NUMBER, FIRMWARE_VERSION)
            return [status_packet(self.servo_id, self._error(0), model)]
        if inst == Instruction.READ and mine:
            if len(params) != 4:
                return self._status(ErrorCode.DATA_LENGTH, reading=True)
            address, length = struct.unpack("<HH", params)
            return self._read(address, length)
        if inst == Instruction.WRITE and mine:
            if len(params) < 3:
                return self._status(ErrorCode.DATA_LENGTH)
            code = self._write(params[0] | (params[1] << 8), params[2:])
            return self._status(code)
        if inst == Instruction.REBOOT and mine:
            reply = self._status(ErrorCode.NONE)
            self._reboot()
            return reply
        if inst == Instruction.SYNC_WRITE and packet.packet_id == BROADCAST_ID:
            self._sync_write(params)
            return []
        if inst == Instruction.SYNC_READ and packet.packet_id == BROADCAST_ID:
            if len(params) < 4:
                return []
            address, length = struct.unpack("<HH", params[:4])
            return self._read(address, length) if self.servo_id in params[4:] else []
        if inst == Instruction.BULK_READ and packet.packet_id == BROADCAST_ID:
            for i in range(0, len(params) - 4, 5):
                servo_id, address, length = struct.unpack("<BHH", params[i : i + 5])
                if servo_id == self.servo_id:
                    return self._read(address, length)
            return []
        return self._status(ErrorCode.INSTRUCTION) if mine else []

    def _error(self, code: int) -> int:
        return code | (ALERT if self.hardware_error else 0)

    def _status(self, code: int, *, reading: bool = False) -> list[bytes]:
        level = self.get(Address.STATUS_RETURN_LEVEL)
        if level == 0 or (level == 1 and not reading):
            return []
        return [status_packet(self.servo_id, self._error(code))]

    def _read(self, address: int, length: int) -> list[bytes]:
        if length == 0 or address + length > TABLE_SIZE:
            return self._status(ErrorCode.DATA_LENGTH, reading=True)
        if self.get(Address.STATUS_RETURN_LEVEL) == 0:
            return []
        data = bytes(self.table[address : address + length])
        return [status_packet(self.servo_id, self._error(0), data)]

    def _sync_write(self, params: bytes) -> None:
        if len(params) < 4:
            return
        address, length = struct.unpack("<HH", params[:4])
        for i in range(4, len(params) - length, length + 1):
            if params[i] == self.servo_id:
                self._write(address, params[i + 1 : i + 1 + length])

    def _write(self, address: int, data: bytes) -> int:
        """Write ``data`` from ``address``; it must cover whole items. Returns the error code."""
        updates = []
        offset = 0
        while offset < len(data):
            item = ITEMS.get(address + offset)
            if item is None or offset + item.size > len(data):
                return ErrorCode.ACCESS if item is None else ErrorCode.DATA_LENGTH
            value = int.from_bytes(data[offset : offset + item.size], "little", signed=item.signed)
            code = self._check_write(address + offset, item, value)
            if code:
                return code
            updates.append((address + offset, value))
            offset += item.size
        for where, value in updates:
            self._apply_write(where, value)
        return ErrorCode.NONE

    def _check_write(self, address: int, item: Item, value: int) -> int:
        if item.access == "R":
            return ErrorCode.ACCESS
        if item.access == "EEPROM" and self.torque_enabled:
            return ErrorCode.ACCESS  # EEPROM is locked while the torque is on
        if address == Address.GOAL_CURRENT:
            if self.watchdog_tripped:
                return ErrorCode.DATA_RANGE  # Goal values are read-only after a watchdog trip
            limit = self.get(Address.CURRENT_LIMIT)
            return ErrorCode.NONE if -limit <= value <= limit else ErrorCode.DATA_LIMIT
        if address == Address.OPERATING_MODE:
            return ErrorCode.NONE if value in OPERATING_MODES else ErrorCode.DATA_RANGE
        if address == Address.TORQUE_ENABLE and value == 1 and self.hardware_error:
            return ErrorCode.RESULT_FAIL  # a latched hardware error needs a REBOOT
        if address == Address.BUS_WATCHDOG and self.watchdog_tripped and value != 0:
            return ErrorCode.DATA_RANGE  # clear it with 0 first
        if not item.low <= value <= item.high:
            return ErrorCode.DATA_LIMIT
        return ErrorCode.NONE

    def _apply_write(self, address: int, value: int) -> None:
        self._set(address, value)
        if address == Address.GOAL_CURRENT:
            self.last_goal_current = value
        if address == Address.TORQUE_ENABLE and value == 1 and self.enabled_at_s is None:
            self.enabled_at_s = self._last_instruction_s
        self._update_drive()

    def _update_drive(self) -> None:
        driving = (
            self.torque_enabled
            and self.get(Address.OPERATING_MODE) == CURRENT_CONTROL_MODE
            and not self.watchdog_tripped
        )
        self._drive(self.get(Address.GOAL_CURRENT) if driving else 0)

    def _reboot(self) -> None:
        log.info("reboot")
        eeprom = {a: self.get(a) for a, item in ITEMS.items() if item.access == "EEPROM"}
        self._power_on()
        for address, value in eeprom.items():
            self._set(address, value)
