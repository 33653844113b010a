"""The virtual ODrive's firmware behaviour, driven line by line in virtual time (no port)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

import pytest

from ddpg_control.runtime.timing import SimulatedClock
from hardware.drivers.odrive.device import FAULTS, OdriveDevice, OdriveDeviceConfig
from hardware.drivers.odrive.errors import AxisError, AxisState, ControlMode
from sim.params import PendulumParams
from sim.plant import SimPlant


class Bench:
    """A virtual ODrive over the real pendulum physics, on a clock the test moves."""

    def __init__(self) -> None:
        self.clock = SimulatedClock()
        self.physics = SimPlant(
            PendulumParams(physics_substeps=50), clock=self.clock, start_angle_rad=0.5
        )
        self.device = OdriveDevice(self.physics, OdriveDeviceConfig(), self.clock.now())

    def send(self, command: str) -> list[str]:
        return self.device.handle(command, self.clock.now())

    def wait(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.device.tick(self.clock.now())


@pytest.fixture
def bench() -> Iterator[Bench]:
    made = Bench()
    with made.physics:
        yield made


def test_reads_answer_in_the_documented_format(bench: Bench) -> None:
    # "r vbus_voltage => response: 24.087744": printf %f, six decimals
    (reply,) = bench.send("r vbus_voltage")
    assert re.fullmatch(r"\d+\.\d{6}", reply) and float(reply) == 24.0
    assert bench.send("r fw_version_minor") == ["5"]
    assert bench.send("r axis0.current_state") == [str(int(AxisState.IDLE))]


def test_feedback_is_position_in_turns_and_velocity_in_turns_per_second(bench: Bench) -> None:
    (reply,) = bench.send("f 0")
    pos_turns, vel_turns_s = (float(v) for v in reply.split())
    assert pos_turns == pytest.approx(0.5 / (2 * math.pi), abs=1e-5)
    assert vel_turns_s == pytest.approx(0.0, abs=1e-3)


def test_set_commands_have_no_reply_and_bad_ones_get_the_firmware_text(bench: Bench) -> None:
    assert bench.send("c 0 0.5") == []
    assert bench.send("u 0") == []
    assert bench.send("w axis0.controller.input_pos -123.456") == []  # the documented example
    assert bench.send("c 3 0.5") == ["invalid motor 3"]
    assert bench.send("c 0") == ["invalid command format"]
    assert bench.send("x 0") == ["unknown command"]
    assert bench.send("r axis0.no_such_thing") == ["invalid property"]
    assert bench.send("w axis0.current_state 8") == ["not implemented"]  # read-only


def test_read_replies_are_cut_to_nine_characters_as_the_firmware_buffer_cuts_them(
    bench: Bench,
) -> None:
    bench.send("w axis0.config.watchdog_timeout 123.456789")
    assert bench.send("r axis0.config.watchdog_timeout") == ["123.45678"]


def test_torque_reaches_the_motor_only_in_closed_loop_torque_mode_and_is_limited(
    bench: Bench,
) -> None:
    device = bench.device
    bench.send("c 0 0.5")
    assert device.applied_torque_nm == 0.0  # IDLE
    bench.send("w axis0.requested_state 8")
    assert device.state == AxisState.CLOSED_LOOP_CONTROL and device.applied_torque_nm == 0.5
    bench.send("c 0 9")
    assert device.applied_torque_nm == pytest.approx(50.0 * 0.04)  # current_lim * torque_constant
    bench.send("w axis0.motor.config.torque_lim 1.5")
    assert device.applied_torque_nm == 1.5
    bench.send("p 0 -2 0 0")  # position control is not emulated: zero torque
    assert device.control_mode == ControlMode.POSITION_CONTROL and device.applied_torque_nm == 0.0
    bench.send("c 0 -0.25")
    bench.send("w axis0.requested_state 1")
    assert device.state == AxisState.IDLE and device.applied_torque_nm == 0.0


def test_the_watchdog_trips_when_not_fed_latches_its_error_and_sets_idle(bench: Bench) -> None:
    device = bench.device
    for command in (
        "w axis0.config.watchdog_timeout 0.1",
        "u 0",
        "w axis0.config.enable_watchdog 1",
        "w axis0.requested_state 8",
        "c 0 1.0",
    ):
        assert bench.send(command) == []
    bench.wait(0.09)
    bench.send("c 0 1.0")  # fed in time
    bench.wait(0.09)
    assert device.state == AxisState.CLOSED_LOOP_CONTROL and device.applied_torque_nm == 1.0
    bench.wait(0.02)
    assert device.state == AxisState.IDLE and device.applied_torque_nm == 0.0
    assert bench.send("r axis0.error") == [str(int(AxisError.WATCHDOG_TIMER_EXPIRED))]
    bench.send("w axis0.requested_state 8")  # refused while the error is latched
    assert device.state == AxisState.IDLE
    bench.send("w axis0.config.enable_watchdog 0")
    bench.send("sc")
    assert bench.send("r axis0.error") == ["0"]
    bench.send("w axis0.requested_state 8")
    assert device.state == AxisState.CLOSED_LOOP_CONTROL and device.watchdog_trips == 1


def test_an_injected_fault_sets_the_axis_and_component_flags(bench: Bench) -> None:
    bench.send("w axis0.requested_state 8")
    bench.send("c 0 1.0")
    bench.device.raise_error(FAULTS["drv-fault"])
    assert bench.device.applied_torque_nm == 0.0
    assert bench.send("r axis0.error") == [str(int(AxisError.MOTOR_FAILED))]
    assert bench.send("r axis0.motor.error") == ["8"]  # DRV_FAULT
    assert bench.send("r axis0.current_state") == [str(int(AxisState.IDLE))]
