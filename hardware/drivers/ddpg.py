"""``--driver ddpg``: this project's own protocol (hardware/PROTOCOL.md) through the seam.

The plant is :class:`hardware.client.SerialPlant`, the emulator :class:`hardware.emulator.Emulator`
(``ddpg-control emulate`` without ``--driver`` keeps its own, richer fault options).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ddpg_control.runtime.contracts import Plant
from hardware.drivers import DeviceSettings, EmulatorOptions
from hardware.serial_config import Calibration, SerialConfig, reply_timeout_s


def serial_config(settings: DeviceSettings) -> SerialConfig:
    return SerialConfig(
        baud_rate=settings.baud,
        reply_timeout_s=reply_timeout_s(settings.period_s),
        watchdog_timeout_s=settings.watchdog_ms / 1000.0,
        torque_limit_nm=settings.torque_limit_nm,
        clear_faults=settings.clear_faults,
        stuck_sensor_s=settings.stuck_sensor_s,
        max_missed_replies=settings.max_missed_reads,
        calibration=Calibration(
            upright_offset_rad=settings.upright_offset_rad,
            direction=settings.direction,
            torque_scale=settings.torque_scale,
        ),
    )


def open_plant(settings: DeviceSettings) -> Plant:
    from hardware.client import SerialPlant

    plant: Plant = SerialPlant(settings.port, serial_config(settings)).open()
    return plant


class _WallClock:
    def now(self) -> float:
        return time.monotonic()

    def sleep_until(self, deadline_s: float) -> None:
        time.sleep(max(0.0, deadline_s - time.monotonic()))


def serve_emulator(
    options: EmulatorOptions, stop: threading.Event, announce: Callable[[str], None]
) -> str:
    from hardware.device import DeviceConfig, VirtualDevice
    from hardware.emulator import Emulator, EmulatorConfig, FaultInjection
    from sim.params import PendulumParams
    from sim.plant import SimPlant

    device_config = DeviceConfig(max_torque_nm=options.max_torque_nm)
    params = PendulumParams(max_torque_nm=options.max_torque_nm, physics_substeps=50)
    clock = _WallClock()
    faults = FaultInjection(
        reply_latency_s=options.reply_latency_s, disconnect_after_s=options.silence_after_s
    )
    with SimPlant(params, clock=clock, start_angle_rad=options.start_angle_rad) as physics:
        emulator = Emulator(
            VirtualDevice(physics, device_config, clock.now()),
            EmulatorConfig(device=device_config, faults=faults, seed=options.seed),
        )
        announce(emulator.open())
        try:
            emulator.serve(stop)
        finally:
            emulator.close()
        return emulator.summary()
