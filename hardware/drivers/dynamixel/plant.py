"""DynamixelPlant: one DYNAMIXEL X series servo in current control as a ``Plant``, through
ROBOTIS' ``dynamixel-sdk`` (imported here, when the driver is used: ``pip install
'ddpg-control[dynamixel]'``).

Open: ping the ID at the baud rate, turn the torque off, refuse (or, with ``clear_faults``,
REBOOT away) a latched Hardware Error Status or a tripped Bus Watchdog, set Operating Mode 0
(current) if it is not, read Current Limit, zero Goal Current, enable the torque; the Bus
Watchdog (``watchdog_ms`` rounded up to its 20 ms unit) is armed with the first ``apply``, as
the loop may take longer than the watchdog to start.

Each tick: ``read`` is one SYNC READ of Bus Watchdog (98) .. Present Position (132..135), one
round trip, whose status packet also carries the Alert bit (a hardware error: then Hardware
Error Status (70) is read and named in the error); ``apply`` is one SYNC WRITE of Goal Current
(no status packet, so no second round trip): ``current = direction * torque_scale * nm / Kt /
unit``, clipped to the Current Limit and the host's limit.

Close, on every path: Goal Current 0, Torque Enable 0, Bus Watchdog 0 if this plant armed it
(a trip the last host left stays latched for ``clear_faults``), port closed; it never raises.
"""

from __future__ import annotations

import logging
import math
import struct
import time
from typing import TYPE_CHECKING, Any

from ddpg_control.runtime.contracts import JointState, Plant
from ddpg_control.runtime.errors import ConfigError, PlantError
from hardware.drivers.dynamixel.protocol import (
    ALERT,
    BUS_WATCHDOG_TRIPPED,
    BUS_WATCHDOG_UNIT_MS,
    CURRENT_CONTROL_MODE,
    OPERATING_MODES,
    Address,
    bus_watchdog_units,
    describe_error,
    describe_hardware_error,
    position_rad,
    velocity_rad_s,
)
from hardware.link import DevicePlant, LinkConfig, open_error
from hardware.stuck_sensor import StuckSensorCheck

if TYPE_CHECKING:
    from hardware.drivers import DeviceSettings

log = logging.getLogger(__name__)

#: The per-tick SYNC READ: Bus Watchdog (98) up to the end of Present Position (132 + 4).
READ_START = Address.BUS_WATCHDOG
READ_LENGTH = Address.PRESENT_POSITION + 4 - READ_START
#: Pings before the plant decides no servo answers.
PING_ATTEMPTS = 3
#: After a REBOOT the servo needs a moment before it answers again.
REBOOT_WAIT_S = 0.5


class DynamixelPlant(DevicePlant):
    """One servo (``config.device_id``) as a Plant. ``read_wait_ms``: how long one wait for
    reply bytes may sleep in the kernel (0: dynamixel-sdk's own busy polling)."""

    def __init__(
        self,
        url: str,
        config: LinkConfig,
        *,
        torque_constant_nm_per_a: float = 1.78,
        current_unit_ma: float = 2.69,
        read_wait_ms: float = 1.0,
    ) -> None:
        self.url = url
        self.config = config
        self.servo_id = config.device_id
        self.torque_constant = torque_constant_nm_per_a
        self.amps_per_unit = current_unit_ma / 1000.0
        self.read_wait_ms = read_wait_ms
        self._sdk: Any = None
        self._port: Any = None
        self._ph: Any = None
        self._writer: Any = None
        self.model_number = 0
        self.current_limit = 0
        self._limit_units = 0
        self._enabled = False
        self._watchdog_armed = False
        self._stuck = StuckSensorCheck(config.stuck_sensor_s)
        self._last_current = 0
        self.present_current_a = 0.0  # from the last read
        self.reads = 0

    @property
    def name(self) -> str:
        return f"Dynamixel ID {self.servo_id} on {self.url}"

    # -- lifecycle -------------------------------------------------------------------------------

    def _connect(self) -> None:
        import dynamixel_sdk as sdk  # the driver's extra; checked by the registry before

        self._sdk = sdk
        port = sdk.PortHandler(self.url)
        try:
            port.openPort()
        except Exception as exc:  # pyserial raises SerialException / OSError
            raise open_error(self.url, exc) from None
        self._port = port

    def _set_up(self) -> None:
        port, baud = self._port, self.config.baud_rate
        if not port.setBaudRate(baud):
            raise ConfigError(
                f"baud rate {baud} is not one dynamixel-sdk can set: use 57600 "
                "(factory), 115200, 1000000, 2000000, 3000000 or 4000000"
            )
        if self.read_wait_ms > 0:
            # dynamixel-sdk opens the port with timeout=0 and polls it in a loop while it
            # waits for a status packet; a short blocking timeout lets the kernel wake the
            # host when bytes arrive instead (its own packet timeout still applies).
            port.ser.timeout = self.read_wait_ms / 1000.0
        self._ph = self._sdk.PacketHandler(2.0)
        self._writer = self._sdk.GroupSyncWrite(port, self._ph, Address.GOAL_CURRENT, 2)
        self._configure()

    def _configure(self) -> None:
        config = self.config
        for _ in range(PING_ATTEMPTS):  # the first packet after opening a port may be lost
            model, result, _ = self._ph.ping(self._port, self.servo_id)
            if result == self._sdk.COMM_SUCCESS:
                break
        else:
            raise PlantError(
                f"no Dynamixel answers as ID {self.servo_id} on {self.url} at "
                f"{config.baud_rate} baud ({self._ph.getTxRxResult(result)}): check power, "
                "the ID (--device-id) and the baud rate (--baud) with Dynamixel Wizard"
            )
        self.model_number = model
        self._write(Address.TORQUE_ENABLE, 1, 0)
        self._clear_latched_faults()
        mode = self._read(Address.OPERATING_MODE, 1)
        if mode != CURRENT_CONTROL_MODE:
            log.info("Operating Mode %s (%s) -> 0 (current)", mode, OPERATING_MODES.get(mode, "?"))
            self._write(Address.OPERATING_MODE, 1, CURRENT_CONTROL_MODE)
        delay = self._read(Address.RETURN_DELAY_TIME, 1)
        if delay:
            log.warning(
                "Return Delay Time is %d (%d us per reply): set it to 0 (docs/hardware.md)",
                delay,
                2 * delay,
            )
        self.current_limit = self._read(Address.CURRENT_LIMIT, 2)
        units = self.current_limit
        if config.torque_limit_nm is not None:
            host_units = config.torque_limit_nm * config.calibration.torque_scale
            units = min(units, int(host_units / self.torque_constant / self.amps_per_unit))
        if units <= 0:
            raise PlantError(
                f"{self.name}: Current Limit (38) is {self.current_limit}: the servo "
                "cannot make torque; raise it with Dynamixel Wizard"
            )
        self._limit_units = units
        self._device_limit_nm = units * self.amps_per_unit * self.torque_constant
        self._write(Address.GOAL_CURRENT, 2, 0)
        self._write(Address.BUS_WATCHDOG, 1, 0)
        self._write(Address.TORQUE_ENABLE, 1, 1)
        self._enabled = True
        watchdog = self._watchdog_units
        log.info(
            "%s: model %d, current limit %d (%.3f N*m), Bus Watchdog %d ms, torque on",
            self.name,
            model,
            units,
            self.max_torque_nm,
            watchdog * BUS_WATCHDOG_UNIT_MS,
        )

    @property
    def watchdog_ms(self) -> int:
        return round(self.config.watchdog_timeout_s * 1000)

    @property
    def _watchdog_units(self) -> int:
        return bus_watchdog_units(self.watchdog_ms)

    def _arm_watchdog(self) -> None:
        """Arm the Bus Watchdog before the first current is sent, not in open(): the loop may
        take longer than the watchdog to start, and until then Goal Current is 0 anyway."""
        self._write(Address.BUS_WATCHDOG, 1, self._watchdog_units)
        self._watchdog_armed = True

    def _clear_latched_faults(self) -> None:
        hw = self._read(Address.HARDWARE_ERROR_STATUS, 1)
        watchdog = self._read(Address.BUS_WATCHDOG, 1)
        if not hw and watchdog != BUS_WATCHDOG_TRIPPED:
            return
        latched = (
            f"Hardware Error Status {describe_hardware_error(hw)} ({hw:#04x})"
            if hw
            else "a tripped Bus Watchdog (the last host stopped sending)"
        )
        if not self.config.clear_faults:
            raise PlantError(
                f"{self.name} has {latched} latched: fix the cause, then pass --clear-faults "
                "(it reboots the servo / clears the watchdog)"
            )
        if hw:
            result, error = self._ph.reboot(self._port, self.servo_id)
            self._check(result, error & ~ALERT, "rebooting")
            time.sleep(REBOOT_WAIT_S)
            log.warning("%s: rebooted to clear %s", self.name, latched)
        self._write(Address.BUS_WATCHDOG, 1, 0)

    def stop(self) -> None:
        """Goal Current 0 (SYNC WRITE, no reply). Never raises."""
        if self._writer is None or not self._enabled:
            return
        try:
            self._send_current(0)
        except Exception as exc:  # a dead port: the Bus Watchdog stops the servo
            log.warning("could not send zero current: %s", exc)

    def close(self) -> None:
        """Zero current, torque off, watchdog off, port closed. Safe to call repeatedly."""
        if self._port is None:
            return
        if self._ph is not None and self.model_number:  # a servo answered
            self.stop()
            # The watchdog is disarmed only if this plant armed it: a trip the last host left
            # stays latched for --clear-faults.
            offs = [Address.TORQUE_ENABLE] + ([Address.BUS_WATCHDOG] if self._enabled else [])
            for address in offs:
                try:
                    self._write(address, 1, 0, attempts=2)
                except PlantError as exc:
                    log.warning("could not turn the servo off cleanly: %s", exc)
        self._enabled = False
        try:
            self._port.closePort()
        except Exception as exc:
            log.warning("closing %s: %s", self.url, exc)
        self._port = None
        self._writer = None

    # -- the control tick ------------------------------------------------------------------------

    def read(self) -> JointState:
        sdk, ph, port = self._sdk, self._ph, self._port
        self.reads += 1
        result = ph.syncReadTx(port, READ_START, READ_LENGTH, [self.servo_id], 1, False)
        data: list[int] = []
        error = 0
        if result == sdk.COMM_SUCCESS:
            data, result, error = ph.readRx(port, self.servo_id, READ_LENGTH)
        if result != sdk.COMM_SUCCESS or len(data) != READ_LENGTH:
            return self._missed_read(
                self.name,
                f"reads in a row: {ph.getTxRxResult(result)}",
                "check cable and power; its Bus Watchdog stops the motor",
            )
        self._missed_in_a_row = 0
        if error & ALERT:
            hw = self._read(Address.HARDWARE_ERROR_STATUS, 1)
            raise PlantError(
                f"{self.name} reports a hardware error: {describe_hardware_error(hw)} "
                f"(Hardware Error Status {hw:#04x}); torque off. Fix the cause, then "
                "--clear-faults reboots it"
            )
        raw = bytes(data)
        if raw[0] == BUS_WATCHDOG_TRIPPED:
            raise PlantError(
                f"{self.name}: its Bus Watchdog tripped (no instruction within "
                f"{self.watchdog_ms} ms) and it stopped the motor; raise --watchdog-ms "
                "or the loop's priority (--realtime)"
            )
        base = READ_START
        current = struct.unpack_from("<h", raw, Address.PRESENT_CURRENT - base)[0]
        velocity = struct.unpack_from("<i", raw, Address.PRESENT_VELOCITY - base)[0]
        counts = struct.unpack_from("<i", raw, Address.PRESENT_POSITION - base)[0]
        now = time.monotonic()
        self._check_stuck(counts, now)
        raw_angle = position_rad(counts)
        raw_velocity = velocity_rad_s(velocity)
        self.present_current_a = current * self.amps_per_unit
        self._last_state = self.config.calibration.joint_state(raw_angle, raw_velocity, now)
        return self._last_state

    def apply(self, torque_nm: float) -> None:
        if not math.isfinite(torque_nm):
            raise PlantError(f"refusing to send a non-finite torque {torque_nm!r}")
        device_nm = self.config.calibration.device_torque_nm(torque_nm)
        units = round(device_nm / self.torque_constant / self.amps_per_unit)
        if not self._watchdog_armed:
            self._arm_watchdog()
        self._send_current(max(-self._limit_units, min(self._limit_units, units)))

    # -- internals -------------------------------------------------------------------------------

    def _send_current(self, units: int) -> None:
        self._last_current = units
        writer = self._writer
        writer.clearParam()
        writer.addParam(self.servo_id, list(struct.pack("<h", units)))
        writer.txPacket()

    def _check_stuck(self, counts: int, now: float) -> None:
        stuck_s = self._stuck.stuck_for_s(counts, self._last_current / self._limit_units, now)
        if stuck_s is not None:
            raise PlantError(
                f"{self.name}: Present Position stayed at {counts} for {stuck_s:.2f} s while "
                "current was applied: is the encoder or the horn loose? (--stuck-sensor-s)"
            )

    def _read(self, address: int, size: int) -> int:
        reader = {1: self._ph.read1ByteTxRx, 2: self._ph.read2ByteTxRx, 4: self._ph.read4ByteTxRx}
        value, result, error = reader[size](self._port, self.servo_id, address)
        self._check(result, error & ~ALERT, f"reading {Address(address).name}")
        return int(value)

    def _write(self, address: int, size: int, value: int, attempts: int = 1) -> None:
        writer = {
            1: self._ph.write1ByteTxRx,
            2: self._ph.write2ByteTxRx,
            4: self._ph.write4ByteTxRx,
        }[size]
        raw = value & ((1 << (8 * size)) - 1)
        for attempt in range(attempts):
            result, error = writer(self._port, self.servo_id, address, raw)
            if result == self._sdk.COMM_SUCCESS or attempt == attempts - 1:
                break
        self._check(result, error & ~ALERT, f"writing {value} to {Address(address).name}")

    def _check(self, result: int, error: int, what: str) -> None:
        if result != self._sdk.COMM_SUCCESS:
            raise PlantError(
                f"{self.name}: no reply {what} ({self._ph.getTxRxResult(result)}): check cable, "
                "power, ID and baud rate"
            )
        if error:
            raise PlantError(f"{self.name} refused {what}: {describe_error(error)}")


def open_plant(settings: DeviceSettings) -> Plant:
    """The seam's entry point (hardware/drivers/__init__.py): ping, configure, enable."""
    from hardware.link import reply_timeout_s

    link = settings.link(reply_timeout_s(settings.period_s))
    options = {key: float(value) for key, value in settings.options.items()}
    return DynamixelPlant(settings.port, link, **options).open()
