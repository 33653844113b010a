"""OdrivePlant against the virtual ODrive on a real pseudo-terminal, through pyserial."""

from __future__ import annotations

import math
import threading
import time

import pytest
import serial

from ddpg_control.runtime.errors import ConfigError, PlantError
from hardware.drivers import EmulatorOptions
from hardware.drivers.odrive.ascii import checksum
from hardware.drivers.odrive.device import OdriveDeviceConfig
from hardware.drivers.odrive.emulator import serve_emulator
from hardware.drivers.odrive.errors import AxisError, AxisState, ControlMode
from hardware.drivers.odrive.plant import DEFAULT_ODRIVE_BAUD_RATE, MISSED_REPLIES, OdrivePlant
from hardware.emulator import LinkImpairments, ScheduledFault
from hardware.link import Calibration, LinkConfig

from .conftest import StartOdrive


def _link(**changes: object) -> LinkConfig:
    """An ODrive's link: axis 0 at its UART's baud rate, with ``changes``."""
    fields: dict[str, object] = {
        "device_id": 0,
        "baud_rate": DEFAULT_ODRIVE_BAUD_RATE,
        "max_missed_replies": MISSED_REPLIES,
    }
    return LinkConfig(**{**fields, **changes})  # type: ignore[arg-type]


def _tick(plant: OdrivePlant, torque_nm: float, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        plant.read()
        plant.apply(torque_nm)
        time.sleep(0.005)


def test_documented_lines_over_the_pty_get_the_documented_replies(
    start_odrive: StartOdrive,
) -> None:
    odrive = start_odrive()
    with serial.serial_for_url(odrive.port, timeout=0.5) as port:
        port.write(b"r vbus_voltage *94\n")  # wrong checksum: ignored, no reply
        port.write(b"r vbus_voltage *93\n")  # the documented example
        assert port.readline() == f"24.000000*{checksum('24.000000')}\r\n".encode()
        port.write(b"r vbus_voltage\r")  # no checksum asked, none given; CR ends a line too
        assert port.readline() == b"24.000000\r\n"
        port.write(b"c 0 0.5!f 0\n")  # '!' ends a line; c has no reply
        pos, vel = (float(v) for v in port.readline().split())
        assert pos == pytest.approx(3.0 / (2 * math.pi), abs=0.01)
    assert odrive.emulator.bad_checksums == 1
    assert odrive.device.last_torque_command_nm == 0.5


def test_open_sets_torque_mode_the_first_tick_enters_closed_loop_and_close_leaves_idle(
    start_odrive: StartOdrive,
) -> None:
    odrive = start_odrive()
    device = odrive.device
    config = _link(watchdog_timeout_s=0.05, torque_limit_nm=1.5)
    with OdrivePlant(odrive.port, config) as plant:
        assert device.control_mode == ControlMode.TORQUE_CONTROL
        assert device.watchdog_timeout_s == pytest.approx(0.05)
        assert plant.max_torque_nm == 1.5 and plant.firmware == (0, 5, 6)
        time.sleep(0.1)  # the host may take its time before the loop starts: nothing trips
        assert device.state == AxisState.IDLE and not device.enable_watchdog
        state = plant.read()
        assert device.state == AxisState.CLOSED_LOOP_CONTROL and device.enable_watchdog
        assert state.angle_rad == pytest.approx(3.0, abs=0.05)  # turns -> rad, 0 upright
        plant.apply(5.0)
        plant.read()
        assert device.last_torque_command_nm == 1.5  # clipped to the asked limit
    assert device.state == AxisState.IDLE and not device.enable_watchdog
    assert device.last_torque_command_nm == 0.0 and device.applied_torque_nm == 0.0
    assert device.watchdog_trips == 0 and device.errors["axis"] == 0


def test_calibration_maps_direction_offset_and_torque_scale(start_odrive: StartOdrive) -> None:
    odrive = start_odrive(start_angle_rad=0.5)
    calibration = Calibration(upright_offset_rad=0.2, direction=-1, torque_scale=2.0)
    with OdrivePlant(odrive.port, _link(calibration=calibration)) as plant:
        state = plant.read()
        true_angle, _ = odrive.physics.true_state()  # it has fallen a little since the start
        assert state.angle_rad == pytest.approx(-(true_angle - 0.2), abs=0.02)
        assert true_angle == pytest.approx(0.5, abs=0.3)
        assert plant.max_torque_nm == pytest.approx(2.0 / 2.0)
        plant.apply(0.25)
        plant.read()
        assert odrive.device.last_torque_command_nm == -0.5


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (
            ScheduledFault("drv-fault", 0.2),
            r"ODrive fault: axis0\.error=MOTOR_FAILED axis0\.motor\.error=DRV_FAULT",
        ),
        (
            ScheduledFault("encoder-no-response", 0.2),
            r"axis0\.error=ENCODER_FAILED axis0\.encoder\.error=NO_RESPONSE",
        ),
        (
            ScheduledFault("dc-bus-over-voltage", 0.2),
            r"axis0\.error=MOTOR_FAILED axis0\.motor\.error=SYSTEM_LEVEL "
            r"odrv\.error=DC_BUS_OVER_VOLTAGE",
        ),
        (
            ScheduledFault("watchdog", 0.2),
            r"ODrive fault: axis0\.error=WATCHDOG_TIMER_EXPIRED ",
        ),
        (ScheduledFault("silence", 0.2), r"stopped answering"),
    ],
)
def test_every_fault_ends_in_a_plant_error_naming_it_and_zero_torque(
    start_odrive: StartOdrive, fault: ScheduledFault, message: str
) -> None:
    odrive = start_odrive(faults=(fault,))
    with (
        pytest.raises(PlantError, match=message),
        OdrivePlant(odrive.port, _link(watchdog_timeout_s=0.05)) as plant,
    ):
        _tick(plant, 1.0, 2.0)
    time.sleep(0.01)
    assert odrive.device.applied_torque_nm == 0.0 and odrive.device.state == AxisState.IDLE


def test_errors_latched_before_the_run_are_refused_unless_cleared(
    start_odrive: StartOdrive,
) -> None:
    odrive = start_odrive()
    with OdrivePlant(odrive.port, _link(watchdog_timeout_s=0.05)) as plant:
        plant.read()
        odrive.device.ignore_feeds = True  # as if the host had died: the watchdog trips
        time.sleep(0.1)
        odrive.device.ignore_feeds = False
    assert odrive.device.errors["axis"] == AxisError.WATCHDOG_TIMER_EXPIRED
    with pytest.raises(PlantError, match=r"errors from before .*WATCHDOG_TIMER_EXPIRED.*--clear"):
        OdrivePlant(odrive.port, _link()).open()
    assert odrive.device.state == AxisState.IDLE
    with OdrivePlant(odrive.port, _link(clear_faults=True)) as plant:
        plant.read()
        assert odrive.device.state == AxisState.CLOSED_LOOP_CONTROL
    assert odrive.device.errors["axis"] == 0


def test_other_firmware_is_refused_by_name(start_odrive: StartOdrive) -> None:
    odrive = start_odrive(device_config=OdriveDeviceConfig(firmware_version=(0, 6, 10)))
    with pytest.raises(PlantError, match=r"firmware 0\.6\.10.*active_errors"):
        OdrivePlant(odrive.port, _link()).open()
    assert odrive.device.state == AxisState.IDLE and odrive.device.torque_commands == 0


def test_a_port_without_an_odrive_says_what_to_check() -> None:
    with pytest.raises(PlantError, match=r"does not exist"):
        OdrivePlant("/dev/ttyODRIVE-missing").open()


def test_late_replies_are_matched_to_their_own_requests_not_to_the_next(
    start_odrive: StartOdrive,
) -> None:
    odrive = start_odrive()
    config = _link(reply_timeout_s=0.03, max_missed_replies=1000, watchdog_timeout_s=1.0)
    with OdrivePlant(odrive.port, config) as plant:
        _tick(plant, 0.0, 0.1)
        odrive.emulator.link = LinkImpairments(reply_latency_s=0.05)  # later than the timeout
        _tick(plant, 0.0, 0.2)
        assert plant.missing_replies > 0
        odrive.emulator.link = LinkImpairments()
        _tick(plant, 0.0, 0.2)  # late replies still arriving are not taken for these
        state = plant.read()
        true_angle, _ = odrive.physics.true_state()
        assert state.angle_rad == pytest.approx(true_angle, abs=0.05)
        assert plant.bad_replies == 0
    assert odrive.device.state == AxisState.IDLE


def test_a_frozen_encoder_under_torque_stops_the_run(start_odrive: StartOdrive) -> None:
    odrive = start_odrive()
    config = _link(stuck_sensor_s=0.2)
    with (
        pytest.raises(PlantError, match=r"encoder is stuck or the joint is blocked"),
        OdrivePlant(odrive.port, config) as plant,
    ):
        # above half the 2 N*m limit: a push the check counts against the sensor
        _tick(plant, 1.5, 0.1)
        odrive.device.encoder_estimates = lambda: (0.5, 0.0)  # type: ignore[method-assign]
        _tick(plant, 1.5, 1.0)
    assert odrive.device.applied_torque_nm == 0.0 and odrive.device.state == AxisState.IDLE


def test_the_axis_must_exist() -> None:
    assert OdrivePlant("/dev/null", _link(device_id=1)).axis == 1
    with pytest.raises(ConfigError, match=r"axis 0 and axis 1, not 2"):
        OdrivePlant("/dev/null", _link(device_id=2))
    with pytest.raises(ConfigError, match=r"models axis0 only"):
        serve_emulator(EmulatorOptions(device_id=1), threading.Event(), print)


def test_a_stale_reply_during_identification_is_seen_and_the_reads_repeated(
    start_odrive: StartOdrive,
) -> None:
    odrive = start_odrive()
    device = odrive.device
    answer = device.handle
    stale = ["1"]  # as a previous host's late reply to 'r axis0.current_state' would come

    def late_line_first(command: str, now_s: float) -> list[str]:
        replies = answer(command, now_s)
        if command == "r fw_version_major" and stale:
            return [stale.pop(), *replies]
        return replies

    device.handle = late_line_first  # type: ignore[method-assign]
    with OdrivePlant(odrive.port, _link()) as plant:
        assert plant.firmware == (0, 5, 6)  # not 1.0.5
        plant.read()
    assert not stale and device.errors["axis"] == 0


def test_the_shared_emulator_serves_a_vendor_driver_over_tcp_too(start_odrive: StartOdrive) -> None:
    odrive = start_odrive(tcp_port=0)
    assert odrive.port.startswith("socket://127.0.0.1:")
    with OdrivePlant(odrive.port, _link(watchdog_timeout_s=0.05)) as plant:
        _tick(plant, 0.5, 0.1)
        assert odrive.device.state == AxisState.CLOSED_LOOP_CONTROL
        assert odrive.device.last_torque_command_nm == pytest.approx(0.5)
    assert odrive.device.state == AxisState.IDLE and odrive.device.applied_torque_nm == 0.0
