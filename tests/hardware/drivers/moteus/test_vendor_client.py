"""The emulator held to mjbots' own client: ``moteus.Controller`` over ``moteus.Fdcanusb`` on the
emulator's pseudo-terminal, with no code of ours on the host side."""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from hardware.drivers.moteus.device import MoteusDeviceConfig
from hardware.emulator import ScheduledFault

from .conftest import StartMoteus

moteus = pytest.importorskip("moteus")

MODE, POSITION, VELOCITY, TORQUE, FAULT = 0x000, 0x001, 0x002, 0x003, 0x00F


def _with_controller(port: str, body: Callable[[Any], Awaitable[Any]], can_id: int = 1) -> Any:
    async def main() -> Any:
        transport = moteus.Fdcanusb(port, command_timeout=0.1, response_timeout=0.1)
        try:
            return await body(moteus.Controller(id=can_id, transport=transport))
        finally:
            transport.close()

    return asyncio.run(main())


def _torque_command(c: Any, torque_nm: float, **extra: Any) -> Awaitable[Any]:
    return c.set_position(
        position=math.nan,
        velocity=0.0,
        feedforward_torque=torque_nm,
        kp_scale=0.0,
        kd_scale=0.0,
        watchdog_timeout=extra.pop("watchdog_timeout", 0.1),
        query=True,
        **extra,
    )


def test_query_reports_the_hanging_pendulum_in_revolutions(start_moteus: StartMoteus) -> None:
    emu = start_moteus()
    result = _with_controller(emu.port, lambda c: c.query())
    values = result.values
    assert values[MODE] == 0 and values[FAULT] == 0 and values[TORQUE] == 0.0
    assert abs(values[POSITION]) == pytest.approx(0.5, abs=1e-3)  # hanging: half a turn
    assert values[VELOCITY] == pytest.approx(0.0, abs=1e-3)
    assert result.id == 1


def test_a_pure_torque_command_applies_the_feedforward_and_counter_clockwise_is_positive(
    start_moteus: StartMoteus,
) -> None:
    emu = start_moteus()  # hanging, at rest

    async def body(c: Any) -> list[Any]:
        replies = []
        for _ in range(40):  # about 0.2 s of -1.5 N*m
            replies.append(await _torque_command(c, -1.5))
            await asyncio.sleep(0.005)
        replies.append(await c.set_stop(query=True))
        return replies

    replies = _with_controller(emu.port, body)
    assert all(r.values[MODE] == 10 for r in replies[:-1])
    assert replies[-2].values[TORQUE] == pytest.approx(-1.5, abs=1e-6)
    assert replies[-2].values[POSITION] < replies[0].values[POSITION]  # turned clockwise
    assert replies[-1].values[MODE] == 0 and replies[-1].values[TORQUE] == 0.0
    assert emu.device.stops == 1 and emu.device.applied_torque_nm == 0.0


def test_the_commanded_and_the_device_limits_clip_and_say_so(start_moteus: StartMoteus) -> None:
    emu = start_moteus(device_config=MoteusDeviceConfig(max_torque_nm=1.0))

    async def body(c: Any) -> tuple[Any, Any]:
        by_command = await _torque_command(c, 0.9, maximum_torque=0.5)
        by_device = await _torque_command(c, -5.0)
        await c.set_stop()
        return by_command, by_device

    by_command, by_device = _with_controller(emu.port, body)
    assert by_command.values[TORQUE] == pytest.approx(0.5) and by_command.values[FAULT] == 102
    assert by_device.values[TORQUE] == pytest.approx(-1.0) and by_device.values[FAULT] == 99
    assert by_device.values[MODE] == 10  # limiting is not a fault


def test_the_watchdog_times_out_to_mode_11_with_zero_torque_until_a_stop(
    start_moteus: StartMoteus,
) -> None:
    emu = start_moteus()

    async def body(c: Any) -> tuple[Any, Any, Any, Any]:
        await _torque_command(c, 1.0, watchdog_timeout=0.05)
        await asyncio.sleep(0.15)
        timed_out = await c.query()
        ignored = await _torque_command(c, 1.0)  # only a stop leaves mode 11
        stopped = await c.set_stop(query=True)
        again = await _torque_command(c, 0.2)
        await c.set_stop()
        return timed_out, ignored, stopped, again

    timed_out, ignored, stopped, again = _with_controller(emu.port, body)
    assert timed_out.values[MODE] == 11 and timed_out.values[TORQUE] == 0.0
    assert ignored.values[MODE] == 11 and ignored.values[TORQUE] == 0.0
    assert stopped.values[MODE] == 0 and again.values[MODE] == 10
    assert emu.device.watchdog_trips == 1


def test_injected_faults_report_mode_1_and_the_code_until_a_stop(
    start_moteus: StartMoteus,
) -> None:
    emu = start_moteus(faults=(ScheduledFault("motor-driver", 0.05),))

    async def body(c: Any) -> tuple[Any, Any]:
        for _ in range(30):
            reply = await _torque_command(c, 0.5)
            if reply.values[MODE] == 1:
                break
            await asyncio.sleep(0.005)
        return reply, await c.set_stop(query=True)

    faulted, stopped = _with_controller(emu.port, body)
    assert faulted.values[MODE] == 1 and faulted.values[FAULT] == 33
    assert faulted.values[TORQUE] == 0.0
    assert stopped.values[MODE] == 0 and stopped.values[FAULT] == 0


def test_a_silent_line_answers_nothing_and_the_device_watchdog_stops_the_motor(
    start_moteus: StartMoteus,
) -> None:
    emu = start_moteus(faults=(ScheduledFault("silence", 0.05),))

    async def body(c: Any) -> tuple[int, Exception | None]:
        answered = 0
        for _ in range(40):
            try:
                reply = await asyncio.wait_for(_torque_command(c, 1.0), 1.0)
            except (TimeoutError, RuntimeError) as exc:
                return answered, exc
            answered += reply is not None
            await asyncio.sleep(0.005)
        return answered, None

    answered, failure = _with_controller(emu.port, body)
    assert answered >= 1 and failure is not None  # the vendor's client gives up on the line
    assert emu.wait_for(lambda: emu.device.watchdog_trips == 1)
    assert emu.device.mode == 11 and emu.device.applied_torque_nm == 0.0


def test_frames_for_another_id_get_no_reply(start_moteus: StartMoteus) -> None:
    emu = start_moteus()
    result = _with_controller(emu.port, lambda c: c.query(), can_id=2)
    assert result is None
    assert emu.emulator.stats.ignored_frames == 1


def test_the_documented_example_frame_gets_the_documented_reply_layout(
    start_moteus: StartMoteus,
) -> None:
    emu = start_moteus()
    fd = os.open(emu.port, os.O_RDWR | os.O_NOCTTY)
    try:
        os.write(fd, b"can send 8001 01000a07206000200150ff140400130d\n")
        received = b""
        end = time.monotonic() + 2.0
        while received.count(b"\n") < 2 and time.monotonic() < end:
            received += os.read(fd, 4096)
        os.write(fd, b"can send 0001 010000\n")  # stop, no reply asked
        time.sleep(0.05)
    finally:
        os.close(fd)
    ok, rcv = received.decode().splitlines()[:2]
    assert ok.startswith("OK *")
    fields = rcv.split()
    assert fields[:2] == ["rcv", "100"]  # from device 1 to host 0
    data = bytes.fromhex(fields[2])
    assert data[:5] == bytes.fromhex("2404000a00")  # 4 int16 from 0x000, mode 10
    assert data[11:13] == bytes.fromhex("230d")  # 3 int8 from 0x00d: voltage, temp, fault
    assert emu.device.mode == 0 and emu.device.applied_torque_nm == 0.0
