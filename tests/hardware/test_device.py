"""The virtual device's state machine, driven directly in virtual time (no port)."""

from __future__ import annotations

import math

from ddpg_control.runtime.timing import SimulatedClock
from hardware.drivers.ddpg.device import DdpgDevice, DdpgDeviceConfig
from hardware.drivers.ddpg.protocol import (
    Arm,
    ClearFault,
    Disarm,
    Fault,
    Hello,
    HelloReply,
    Nack,
    NackCode,
    Query,
    State,
    Status,
    Torque,
)
from sim.params import PendulumParams
from sim.plant import SimPlant


def _device() -> tuple[DdpgDevice, SimPlant, SimulatedClock]:
    clock = SimulatedClock()
    physics = SimPlant(PendulumParams(physics_substeps=50), clock=clock, start_angle_rad=0.5)
    return DdpgDevice(physics, DdpgDeviceConfig(max_torque_nm=2.0), clock.now()), physics, clock


def test_hello_reports_versions_and_limits() -> None:
    device, physics, _ = _device()
    with physics:
        reply = device.handle(Hello(), 0.0)
    assert isinstance(reply, HelloReply)
    assert (reply.protocol_major, reply.max_torque_nm, reply.counts_per_rev) == (1, 2.0, 16384)


def test_arm_validates_its_arguments_and_torque_is_clipped_to_the_armed_limit() -> None:
    device, physics, clock = _device()
    with physics:
        assert device.handle(Arm(5, 1.0), 0.0) == Nack(0x02, NackCode.BAD_ARGUMENT)  # < 10 ms
        assert device.handle(Arm(100, 3.0), 0.0) == Nack(0x02, NackCode.BAD_ARGUMENT)  # > max
        assert device.handle(Arm(100, math.nan), 0.0) == Nack(0x02, NackCode.BAD_ARGUMENT)
        state = device.handle(Arm(100, 1.0), 0.0)
        assert isinstance(state, State) and state.status & Status.ARMED
        state = device.handle(Torque(5.0), 0.01)
        assert isinstance(state, State)
        assert state.torque_nm == 1.0 and state.status & Status.TORQUE_LIMITED
        assert physics.torque_nm == 1.0
        assert device.handle(Torque(math.inf), 0.02) == Nack(0x03, NackCode.BAD_ARGUMENT)
        assert physics.torque_nm == 0.0


def test_torque_while_disarmed_is_not_applied() -> None:
    device, physics, _ = _device()
    with physics:
        state = device.handle(Torque(1.0), 0.0)
        assert isinstance(state, State) and not state.status & Status.ARMED
        assert state.torque_nm == 0.0 and physics.torque_nm == 0.0


def test_watchdog_latches_a_fault_that_only_clear_fault_removes() -> None:
    device, physics, clock = _device()
    with physics:
        device.handle(Arm(100, 2.0), 0.0)
        device.handle(Torque(1.5), 0.05)
        device.handle(Query(), 0.14)  # a query does not feed the watchdog
        device.tick(0.149)
        assert device.armed and physics.torque_nm == 1.5
        clock.sleep_until(0.2)
        device.tick(0.151)
        assert not device.armed and device.faults == Fault.WATCHDOG and physics.torque_nm == 0.0
        state = device.handle(Torque(1.0), 0.16)
        assert isinstance(state, State) and state.status & Status.FAULT and state.torque_nm == 0
        assert device.handle(Arm(100, 2.0), 0.17) == Nack(0x02, NackCode.FAULTED)
        device.handle(ClearFault(), 0.18)
        state = device.handle(Arm(100, 2.0), 0.19)
        assert isinstance(state, State) and state.status == Status.ARMED and state.faults == 0
        device.handle(Disarm(), 0.2)
        device.tick(10.0)  # disarmed: no watchdog
        assert device.faults == 0 and device.watchdog_trips == 1


def test_position_is_reported_multi_turn_in_counts() -> None:
    device, physics, clock = _device()
    with physics:
        device.handle(Arm(1000, 2.0), 0.0)
        samples = []
        for i in range(1, 200):  # spin it with full torque: it goes over the top
            clock.sleep_until(i * 0.05)
            state = device.handle(Torque(2.0), i * 0.05)
            assert isinstance(state, State)
            samples.append(state.position_counts)
        assert max(abs(c) for c in samples) > 16384  # more than a turn, no wrap back
        assert all(abs(b - a) < 16384 // 2 for a, b in zip(samples, samples[1:], strict=False))
