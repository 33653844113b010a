"""PROTOCOL.md section 6 as the host really does it: the requests a run sends, in order.

The Python emulator records every request it is sent; the control loop drives a DdpgPlant
against it, as `run --device` does. The C host device's summary (tests/hardware/test_cli_device)
shows the same ending from the device side.
"""

from __future__ import annotations

import time
from typing import Any

from ddpg_control.runtime.contracts import Observation
from ddpg_control.runtime.control_loop import ExitReason, LoopConfig, run_loop
from ddpg_control.runtime.timing import MonotonicClock
from hardware.drivers.ddpg.device import DdpgDevice
from hardware.drivers.ddpg.plant import DdpgPlant
from hardware.drivers.ddpg.protocol import Message, RawFrame, Torque
from hardware.link import LinkConfig


class ConstantPolicy:
    max_torque_nm = 2.0

    def __call__(self, observation: Observation) -> float:
        return 0.5


def _record(device: DdpgDevice) -> list[str]:
    """Wrap the device so that every request it handles is logged as 'NAME' or 'TORQUE x'."""
    log: list[str] = []
    handle = device.handle

    def recording(message: Message | RawFrame, now_s: float) -> Message | None:
        if isinstance(message, Torque):
            log.append(f"TORQUE {message.torque_nm:g}")
        else:
            log.append(type(message).__name__.upper())
        return handle(message, now_s)

    device.handle = recording  # type: ignore[method-assign]
    return log


def test_a_run_sends_hello_query_arm_then_query_torque_ticks_then_two_zeros_and_disarm(
    start_python_emulator: Any,
) -> None:
    emu = start_python_emulator()
    requests = _record(emu.device)
    plant = DdpgPlant(emu.port, LinkConfig()).open()
    result = run_loop(
        plant, ConstantPolicy(), MonotonicClock(), LoopConfig(period_s=0.05, duration_s=0.3)
    )
    assert result.reason is ExitReason.COMPLETED, result.message
    time.sleep(0.05)  # the last DISARM is handled by the emulator thread
    assert requests[:3] == ["HELLO", "QUERY", "ARM"]
    ticks = requests[3:-3]
    assert len(ticks) >= 8 and ticks == ["QUERY", "TORQUE 0.5"] * (len(ticks) // 2)
    assert requests[-3:] == ["TORQUE 0", "TORQUE 0", "DISARM"]
    assert not emu.device.armed and emu.device.watchdog_trips == 0
