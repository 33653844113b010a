"""MoteusPlant (the vendor's client on our event-loop thread) against the emulated moteus."""

from __future__ import annotations

import math
import sys
import time

import pytest

from ddpg_control.runtime.errors import ConfigError, PlantError
from hardware.drivers import DeviceSettings
from hardware.drivers.moteus.plant import MoteusPlant, open_plant
from hardware.emulator import ScheduledFault
from hardware.link import Calibration, LinkConfig
from tests.hardware.emulators import Running

from .conftest import StartMoteus

pytest.importorskip("moteus")


def _tick(plant: MoteusPlant, torque_nm: float, ticks: int, period_s: float = 0.01) -> None:
    for _ in range(ticks):
        plant.read()
        plant.apply(torque_nm)
        time.sleep(period_s)


def _left_stopped(emu: Running) -> bool:
    return emu.device.mode == 0 and emu.device.applied_torque_nm == 0.0 and emu.device.stops >= 1


@pytest.mark.parametrize("event_loop", ["thread", "inline"])
def test_reads_in_the_project_convention_and_torque_is_counter_clockwise_positive(
    start_moteus: StartMoteus, event_loop: str
) -> None:
    emu = start_moteus(start_angle_rad=math.pi - 0.3)
    with MoteusPlant(emu.port, event_loop=event_loop) as plant:
        first = plant.read()
        assert first.angle_rad == pytest.approx(math.pi - 0.3, abs=0.01)  # it falls meanwhile
        assert plant.max_torque_nm == 2.0
        _tick(plant, 1.0, 10)
        assert emu.device.last_feedforward_torque_nm == pytest.approx(1.0)
        assert emu.device.command.kp_scale == 0.0 and emu.device.command.kd_scale == 0.0
        assert emu.device.command.timeout_s == pytest.approx(0.1)
        assert plant.read().velocity_rad_s > 0  # CCW torque, CCW motion
    assert _left_stopped(emu)


def test_calibration_maps_offset_direction_and_torque_scale(start_moteus: StartMoteus) -> None:
    emu = start_moteus(start_angle_rad=0.5)
    config = LinkConfig(
        torque_limit_nm=1.0,
        calibration=Calibration(upright_offset_rad=0.2, direction=-1, torque_scale=2.0),
    )
    with MoteusPlant(emu.port, config) as plant:
        assert plant.read().angle_rad == pytest.approx(-(0.5 - 0.2), abs=0.01)
        plant.apply(0.25)
        plant.read()  # commands are queued; the next read runs after them
        assert emu.device.last_feedforward_torque_nm == pytest.approx(-0.5)
        plant.apply(5.0)  # beyond the host's limit: clipped before it leaves
        plant.read()
        assert emu.device.last_feedforward_torque_nm == pytest.approx(-2.0)
        assert emu.device.command.max_torque_nm == pytest.approx(2.0)
    assert _left_stopped(emu)


def test_a_moteus_fault_is_one_line_naming_mode_and_code_and_ends_at_zero_torque(
    start_moteus: StartMoteus,
) -> None:
    emu = start_moteus(faults=(ScheduledFault("over-temperature", 0.05),))
    with pytest.raises(PlantError) as caught, MoteusPlant(emu.port) as plant:
        _tick(plant, 0.5, 100)
    message = str(caught.value)
    assert "\n" not in message
    assert "moteus id 1 faulted: mode 1 (fault), fault code 38 (over temperature)" in message
    assert _left_stopped(emu)


def test_a_watchdog_trip_is_reported_as_mode_11(start_moteus: StartMoteus) -> None:
    emu = start_moteus(faults=(ScheduledFault("watchdog", 0.05),))
    expected = r"mode 11 \(timeout\).*100 ms watchdog"
    with pytest.raises(PlantError, match=expected), MoteusPlant(emu.port) as plant:
        _tick(plant, 0.5, 100)
    assert _left_stopped(emu)


@pytest.mark.parametrize("event_loop", ["thread", "inline"])
def test_a_silent_line_stops_the_plant_within_two_requests_and_the_device_watchdog_the_motor(
    start_moteus: StartMoteus, event_loop: str
) -> None:
    emu = start_moteus(faults=(ScheduledFault("silence", 0.05),))
    plant = MoteusPlant(emu.port, LinkConfig(reply_timeout_s=0.01), event_loop=event_loop)
    plant.open()
    requests_before = 0
    expected = r"moteus id 1 on .* stopped answering \(2 queries"
    with pytest.raises(PlantError, match=expected), plant:
        for _ in range(100):
            requests_before = plant.stats.requests
            _tick(plant, 0.5, 1)
    assert plant.stats.requests - requests_before <= 4  # two ticks: two queries, two commands
    assert emu.wait_for(lambda: emu.device.watchdog_trips == 1)
    assert emu.device.mode == 11 and emu.device.applied_torque_nm == 0.0


def test_a_timeout_left_by_a_dead_host_is_refused_until_cleared(start_moteus: StartMoteus) -> None:
    emu = start_moteus()
    plant = MoteusPlant(emu.port).open()
    plant.apply(0.3)
    plant.read()
    plant._loop.stop()  # the host "dies": nothing more is sent, not even the stop
    plant._lock.release()
    assert emu.wait_for(lambda: emu.device.mode == 11)
    with pytest.raises(PlantError, match=r"mode 11 \(timeout\) from before.*--clear-faults"):
        MoteusPlant(emu.port).open()
    with MoteusPlant(emu.port, LinkConfig(clear_faults=True)) as plant:
        assert plant.read().status == 0
        plant.apply(0.1)
        plant.read()
        assert emu.device.mode == 10
    assert _left_stopped(emu)


def test_nobody_at_that_id_and_a_busy_or_missing_port(start_moteus: StartMoteus) -> None:
    emu = start_moteus()
    config = LinkConfig(device_id=5, setup_timeout_s=0.05, setup_attempts=2)
    with pytest.raises(PlantError, match="no moteus answered as id 5 on .*moteus_tool --info"):
        MoteusPlant(emu.port, config).open()
    with MoteusPlant(emu.port) as plant, pytest.raises(PlantError, match="is busy"):
        MoteusPlant(emu.port).open()
    assert plant.stats.missing_replies == 0
    with pytest.raises(PlantError, match="does not exist"):
        MoteusPlant("/dev/ttyUSB-does-not-exist").open()


def test_open_plant_takes_the_seam_settings(start_moteus: StartMoteus) -> None:
    emu = start_moteus()
    settings = DeviceSettings(
        driver="moteus",
        port=emu.port,
        baud=921_600,
        device_id=1,
        period_s=0.05,
        watchdog_ms=80,
        torque_scale=2.0,
        options={"max_torque_nm": 3.0},
        max_missed_reads=4,
    )
    with open_plant(settings) as plant:
        assert plant.max_torque_nm == pytest.approx(1.5)  # 3 device N*m / scale 2
        assert isinstance(plant, MoteusPlant) and plant.config.max_missed_replies == 4
        plant.read()
        plant.apply(1.0)
        plant.read()
        assert emu.device.command.timeout_s == pytest.approx(0.08)
        assert emu.device.last_feedforward_torque_nm == pytest.approx(2.0)
    assert _left_stopped(emu)


def test_a_bad_event_loop_option_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="event_loop must be 'thread' or 'inline'"):
        MoteusPlant("/dev/null", event_loop="fibers")


def test_without_the_package_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "moteus", None)
    with pytest.raises(ConfigError, match=r"pip install 'ddpg-control\[moteus\]'"):
        MoteusPlant("/dev/null").open()


def test_a_frozen_encoder_under_torque_stops_the_run(start_moteus: StartMoteus) -> None:
    emu = start_moteus(faults=(ScheduledFault("stuck-encoder", 0.1),))
    with (
        pytest.raises(PlantError, match=r"encoder is stuck or the joint is blocked"),
        MoteusPlant(emu.port, LinkConfig(stuck_sensor_s=0.2)) as plant,
    ):
        _tick(plant, 1.5, 100)  # above half the 2 N*m limit: a push the check counts
    assert emu.device.encoder_frozen  # the reading froze; the controller raised no fault
    assert emu.device.fault == 0
    assert _left_stopped(emu)


def test_a_frozen_encoder_at_a_gentle_hold_is_not_taken_for_a_fault(
    start_moteus: StartMoteus,
) -> None:
    # a balanced pendulum holds a small steady torque while its encoder may read the same count
    emu = start_moteus(faults=(ScheduledFault("stuck-encoder", 0.1),))
    with MoteusPlant(emu.port, LinkConfig(stuck_sensor_s=0.2)) as plant:
        _tick(plant, 0.3, 60)
        assert emu.device.encoder_frozen


def test_the_stuck_sensor_window_must_be_a_duration() -> None:
    with pytest.raises(ConfigError, match="stuck_sensor_s"):
        LinkConfig(stuck_sensor_s=-1.0)
