"""DdpgPlant against the emulator over a real pseudo-terminal (and loopback TCP).

Every failure a user can meet is provoked for real where it can be: a missing port, a busy port,
a port with nothing (or noise) on the other end, another protocol version, a latched fault, a
device that goes quiet, disconnects, or whose sensor sticks. Each ends with a PlantError that
says what to do and the device at zero torque or tripped by its watchdog.
"""

from __future__ import annotations

import errno
import math
import os
import threading
import time
import tty
from dataclasses import replace
from typing import Any

import pytest
import serial

from ddpg_control.runtime.contracts import Plant
from ddpg_control.runtime.errors import ConfigError, PlantError
from hardware.drivers import DeviceSettings
from hardware.drivers.ddpg.device import DdpgDeviceConfig
from hardware.drivers.ddpg.plant import DdpgPlant, open_plant
from hardware.drivers.ddpg.protocol import Fault
from hardware.emulator import LinkImpairments, ScheduledFault
from hardware.link import (
    DEFAULT_BAUD_RATE,
    Calibration,
    LinkConfig,
    missed_reads_allowed,
    open_error,
    reply_timeout_s,
)

FAST = LinkConfig(reply_timeout_s=0.02, setup_timeout_s=0.1)


def _drive(plant: DdpgPlant, seconds: float, torque_nm: float = 0.5, period_s: float = 0.01):
    end = time.monotonic() + seconds
    state = plant.read()
    while time.monotonic() < end:
        state = plant.read()
        plant.apply(torque_nm)
        time.sleep(period_s)
    return state


def test_serial_plant_is_a_plant_and_ends_at_zero_torque_disarmed(
    start_emulator: Any,
) -> None:
    emu = start_emulator()
    with DdpgPlant(emu.port, FAST) as plant:
        assert isinstance(plant, Plant)
        assert plant.max_torque_nm == 2.0
        assert plant.device is not None and plant.device.counts_per_rev == 16384
        first = plant.read()
        assert abs(abs(first.angle_rad) - math.pi) < 0.01 and first.status == 0
        state = _drive(plant, 0.3, torque_nm=1.0)
        assert emu.device.armed and emu.physics.torque_nm == 1.0
        assert state.timestamp_s > first.timestamp_s and state.velocity_rad_s != 0.0
    assert emu.device.last_torque_command_nm == 0.0 and emu.physics.torque_nm == 0.0
    assert not emu.device.armed and emu.device.watchdog_trips == 0
    assert plant.stats.missing_replies == 0 and plant.stats.stale_replies == 0
    plant.close()  # idempotent


def test_calibration_maps_offset_direction_and_torque_scale(start_emulator: Any) -> None:
    emu = start_emulator(start_angle_rad=math.pi)
    cal = Calibration(upright_offset_rad=math.pi - 0.25, direction=-1, torque_scale=2.0)
    with DdpgPlant(emu.port, LinkConfig(calibration=cal)) as plant:
        state = plant.read()
        assert state.angle_rad == pytest.approx(-0.25, abs=2e-3)  # -(pi - (pi - 0.25))
        assert plant.max_torque_nm == 1.0  # the device's 2 N*m over the scale of 2
        plant.apply(0.5)
        plant.read()
        assert emu.physics.torque_nm == pytest.approx(-1.0)


def test_works_over_a_tcp_url(start_python_emulator: Any) -> None:
    emu = start_python_emulator(tcp_port=0)
    assert emu.port.startswith("socket://127.0.0.1:")
    with DdpgPlant(emu.port, FAST) as plant:
        _drive(plant, 0.1)
    assert emu.device.last_torque_command_nm == 0.0 and not emu.device.armed


def test_missing_port_says_so() -> None:
    with pytest.raises(PlantError, match="does not exist"):
        DdpgPlant("/dev/ttyUSB-nonexistent", FAST).open()


def test_busy_port_says_so(start_emulator: Any) -> None:
    emu = start_emulator()
    with DdpgPlant(emu.port, FAST), pytest.raises(PlantError, match="busy"):
        DdpgPlant(emu.port, FAST).open()


def test_permission_denied_is_explained() -> None:
    # The tests run as root, where a chmod cannot deny access, so feed the error pyserial raises.
    exc = serial.SerialException(errno.EACCES, "could not open port /dev/ttyUSB0: Permission")
    assert "dialout" in str(open_error("/dev/ttyUSB0", exc))


def _silent_pty() -> tuple[int, int, str]:
    master, slave = os.openpty()
    tty.setraw(slave)
    return master, slave, os.ttyname(slave)


def test_nothing_on_the_other_end_fails_the_handshake() -> None:
    master, slave, path = _silent_pty()
    try:
        with pytest.raises(PlantError, match="no valid reply to HELLO.*received nothing"):
            DdpgPlant(path, FAST).open()
    finally:
        os.close(master), os.close(slave)


def test_noise_on_the_line_points_at_the_baud_rate() -> None:
    master, slave, path = _silent_pty()
    stop = threading.Event()

    def babble() -> None:  # what a device at another baud rate looks like
        while not stop.is_set():
            os.write(master, bytes(range(0, 250, 7)))
            time.sleep(0.01)

    thread = threading.Thread(target=babble, daemon=True)
    thread.start()
    try:
        with pytest.raises(PlantError, match="baud rate is likely wrong"):
            DdpgPlant(path, FAST).open()
    finally:
        stop.set(), thread.join(), os.close(master), os.close(slave)


def test_other_protocol_version_is_reported_as_a_mismatch(start_emulator: Any) -> None:
    emu = start_emulator(device_config=DdpgDeviceConfig(protocol_version=2))
    with pytest.raises(PlantError, match="version mismatch.*version 2.*speaks 1"):
        DdpgPlant(emu.port, FAST).open()
    assert not emu.device.armed


def test_watchdog_out_of_the_device_range_is_refused(start_emulator: Any) -> None:
    emu = start_emulator()
    with pytest.raises(PlantError, match="outside the device's range"):
        DdpgPlant(emu.port, LinkConfig(watchdog_timeout_s=5.0)).open()


def test_bad_config_values_are_rejected() -> None:
    with pytest.raises(ConfigError):
        LinkConfig(reply_timeout_s=0.0)
    with pytest.raises(ConfigError):
        Calibration(direction=0)
    with pytest.raises(ConfigError):
        Calibration(torque_scale=math.nan)


def test_stalled_host_trips_the_watchdog_and_the_fault_stops_the_run(
    start_emulator: Any,
) -> None:
    emu = start_emulator()
    plant = DdpgPlant(emu.port, FAST).open()
    try:
        _drive(plant, 0.1, torque_nm=1.0)
        time.sleep(0.2)  # a host that hangs for two watchdog periods
        assert emu.device.faults == Fault.WATCHDOG and emu.physics.torque_nm == 0.0
        with pytest.raises(PlantError, match="device fault: WATCHDOG"):
            plant.read()
    finally:
        plant.close()
    # the next run refuses to start until told to clear the fault
    with pytest.raises(PlantError, match="latched fault.*--clear-faults"):
        DdpgPlant(emu.port, FAST).open()
    with DdpgPlant(emu.port, LinkConfig(clear_faults=True)) as plant:
        plant.read()
        assert emu.device.armed and emu.device.faults == 0


def test_silent_device_stops_the_caller_within_max_missed_replies(
    start_emulator: Any,
) -> None:
    emu = start_emulator(link=LinkImpairments(reply_latency_s=0.05))
    config = LinkConfig(reply_timeout_s=0.01, setup_timeout_s=0.2)
    plant = DdpgPlant(emu.port, config).open()  # the handshake tolerates the latency
    reads = 0
    try:
        with pytest.raises(PlantError, match="stopped answering"):
            while reads < 10:
                plant.read()
                reads += 1
        assert reads == 1  # the first miss reuses the last state, the second raises
        assert plant.stats.missing_replies >= 2
    finally:
        plant.close()
    time.sleep(0.15)
    assert emu.physics.torque_nm == 0.0


@pytest.mark.parametrize(
    ("rate_hz", "allowed"), [(20, 2), (100, 2), (200, 2), (500, 5), (1000, 10)]
)
def test_a_loop_rides_out_the_same_silence_at_every_rate_from_200_hz(
    rate_hz: float, allowed: int
) -> None:
    period_s = 1.0 / rate_hz
    settings = DeviceSettings(
        driver="ddpg", port="/dev/null", baud=1, device_id=1, period_s=period_s
    )
    timeout_s = reply_timeout_s(period_s)
    link = settings.link(timeout_s)
    assert link.max_missed_replies == allowed
    # the last state drives the torque until the last allowed read gives up: never longer
    # than two unanswered reads allow at 200 Hz (12.5 ms)
    if rate_hz >= 200:
        assert allowed * period_s + timeout_s <= 2 * 0.005 + 0.0025 + 1e-12
    # a larger count asked for (calibrate) or a driver's own floor (ODrive) still wins
    assert replace(settings, max_missed_reads=20).link(timeout_s).max_missed_replies == 20
    assert settings.link(timeout_s, min_missed_replies=12).max_missed_replies == 12
    with pytest.raises(ConfigError, match="period"):
        missed_reads_allowed(0.0, 2)


def test_a_silent_device_stops_a_500_hz_loop_after_the_reads_that_fit_in_10_ms(
    start_emulator: Any,
) -> None:
    emu = start_emulator(link=LinkImpairments(reply_latency_s=0.05))
    period_s = 1.0 / 500
    settings = DeviceSettings(
        driver="ddpg", port=emu.port, baud=DEFAULT_BAUD_RATE, device_id=1, period_s=period_s
    )
    plant = open_plant(settings)  # as run --device opens it; the handshake waits longer
    reads = 0
    try:
        with pytest.raises(PlantError, match="stopped answering"):
            while reads < 20:
                plant.read()
                plant.apply(0.5)
                reads += 1
        assert reads == 4  # four misses reuse the last state, the fifth raises
    finally:
        plant.close()
    time.sleep(0.15)
    assert emu.physics.torque_nm == 0.0


def test_a_late_reply_arriving_mid_wait_does_not_stretch_the_wait_past_its_timeout(
    start_python_emulator: Any,
) -> None:
    # the first read gives up at 50 ms; its reply arrives 40 ms into the second read's wait,
    # which must still give up at its own 50 ms, not 50 ms after that reply
    emu = start_python_emulator(link=LinkImpairments(reply_latency_s=0.09))
    config = LinkConfig(reply_timeout_s=0.05, setup_timeout_s=0.2, max_missed_replies=100)
    with DdpgPlant(emu.port, config) as plant:
        plant.read()
        start = time.monotonic()
        plant.read()
        waited_s = time.monotonic() - start
        assert plant.stats.stale_replies >= 1
    assert 0.05 <= waited_s < 0.07


def test_late_replies_are_counted_as_stale(start_emulator: Any) -> None:
    emu = start_emulator(link=LinkImpairments(reply_latency_s=0.015))
    config = LinkConfig(reply_timeout_s=0.01, max_missed_replies=100)
    with DdpgPlant(emu.port, config) as plant:
        for _ in range(5):
            plant.read()
            time.sleep(0.02)
        plant.read()
    assert plant.stats.missing_replies >= 5 and plant.stats.stale_replies >= 4


def test_corrupted_and_dropped_replies_are_survived_and_counted(
    start_emulator: Any,
) -> None:
    link = LinkImpairments(corrupt_reply_probability=0.1, drop_reply_probability=0.05)
    emu = start_emulator(link=link)
    config = LinkConfig(reply_timeout_s=0.01, max_missed_replies=5, setup_attempts=10)
    with DdpgPlant(emu.port, config) as plant:
        _drive(plant, 0.5, period_s=0.002)
    assert emu.emulator.replies_corrupted > 0 and emu.emulator.replies_dropped > 0
    assert plant.stats.missing_replies > 0
    assert plant._decoder.stats.bad_crc > 0
    assert emu.device.last_torque_command_nm == 0.0


def test_unplugged_device_ends_with_a_clear_error_and_the_device_at_zero(
    start_emulator: Any,
) -> None:
    emu = start_emulator(faults=(ScheduledFault("disconnect", 0.2),))
    plant = DdpgPlant(emu.port, FAST).open()
    try:
        with pytest.raises(PlantError, match="lost the connection|stopped answering"):
            _drive(plant, 2.0, torque_nm=1.0)
    finally:
        plant.close()
    emu.thread.join(timeout=1.0)  # the emulator ends once its watchdog has tripped
    assert not emu.thread.is_alive()
    assert emu.device.watchdog_trips == 1 and emu.physics.torque_nm == 0.0


def test_stuck_sensor_is_detected(start_emulator: Any) -> None:
    emu = start_emulator(faults=(ScheduledFault("stuck-sensor", 0.1),))
    config = LinkConfig(stuck_sensor_s=0.2)
    plant = DdpgPlant(emu.port, config).open()
    try:
        with pytest.raises(PlantError, match="sensor is stuck"):
            _drive(plant, 2.0, torque_nm=1.5)  # above half the 2 N*m limit
    finally:
        plant.close()
    assert emu.device.last_torque_command_nm == 0.0 and emu.physics.torque_nm == 0.0


def test_hello_reply_whose_protocol_major_differs_from_its_frame_version_is_refused() -> None:
    # PROTOCOL.md section 3: protocol_major must equal the frame's version byte. A device that
    # answers in a version-1 frame but says major 2 is refused as a mismatch, never armed.
    from hardware.drivers.ddpg.protocol import FrameDecoder, Hello, HelloReply, encode

    master, slave, path = _silent_pty()
    stop = threading.Event()
    requests: list[object] = []

    def device() -> None:
        decoder = FrameDecoder()
        while not stop.is_set():
            try:
                data = os.read(master, 256)
            except BlockingIOError:
                time.sleep(0.002)
                continue
            for packet in decoder.feed(data):
                requests.append(packet.message)
                if isinstance(packet.message, Hello):
                    reply = HelloReply(2, 0, 0, 2, 0, 2.0, 4096, 10, 1000)
                    os.write(master, encode(reply, packet.seq, version=1))

    os.set_blocking(master, False)
    thread = threading.Thread(target=device, daemon=True)
    thread.start()
    try:
        with pytest.raises(PlantError, match="version mismatch: device reports 2, host speaks 1"):
            DdpgPlant(path, FAST).open()
    finally:
        stop.set(), thread.join(), os.close(master), os.close(slave)
    assert requests and all(isinstance(r, Hello) for r in requests)  # nothing after HELLO
