"""The motor drivers ``--driver`` can name, and the one seam every driver plugs into.

A driver is a row of :data:`DRIVERS`: the vendor package it needs (``requires``, imported only
inside the driver) and the pip extra that installs it (``extra``), its default baud rate and
device id, the driver-specific settings a profile may carry (``options``) and the faults its
emulator can inject (``faults``). Its entry points follow from its name, ``plant`` (what opens
its :class:`~ddpg_control.runtime.contracts.Plant`) and ``emulator`` (what serves its emulator),
as ``"module:function"`` strings, so naming a driver here imports none of its code; :func:`load`
imports one when it is used.

Every driver is a folder of the same shape (``hardware/drivers/dynamixel/`` is a full example):
``plant.py`` holds ``<Vendor>Plant``, the host side, over a :class:`~hardware.link.LinkConfig`;
``device.py`` holds ``<Vendor>Device``, the emulated device as a pure state machine; and
``emulator.py`` holds ``<Vendor>Emulator``, which plugs that device into the shared
:class:`hardware.emulator.Emulator` and declares the faults it can inject. The two functions a
driver provides:

* ``open_plant(settings: DeviceSettings) -> Plant``: open the port, configure and arm the
  device, return the plant ready for ``read``/``apply``. Every failure is a
  :class:`~ddpg_control.runtime.errors.PlantError` with one line naming the device's own fault;
  ``close()`` leaves zero torque (and the device disarmed) on every path.
* ``serve_emulator(options: EmulatorOptions, stop: threading.Event, announce) -> str``: open a
  pseudo-terminal, call ``announce(path)`` once it can be opened, serve the vendor's protocol
  with the PyBullet pendulum behind it until ``stop`` is set (or the emulated device has nothing
  left to do), return the one-line summary ``key=value ...`` the CLI prints as ``emulator: ...``
  (:func:`hardware.emulator.serve_pendulum` does all of it but building the emulator).
"""

from __future__ import annotations

import importlib
import importlib.util
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ddpg_control.runtime.errors import ConfigError
from hardware.emulator import SILENCE, LinkImpairments, ScheduledFault
from hardware.link import DEFAULT_BAUD_RATE, Calibration, LinkConfig, missed_reads_allowed

if TYPE_CHECKING:
    from sim.params import PendulumParams

#: A driver-specific setting: (type, default, help). Types are float, int or str.
OptionSpec = tuple[type, float | int | str, str]


@dataclass(frozen=True, slots=True)
class DriverSpec:
    name: str
    summary: str
    default_baud: int
    default_id: int = 1
    requires: str | None = None  # the vendor's import name; None: pyserial is enough
    extra: str | None = None  # the pip extra that installs ``requires``
    options: Mapping[str, OptionSpec] = field(default_factory=dict)
    faults: tuple[str, ...] = ()  # what ``emulate --fault`` may name beside ``silence``
    #: The optional EmulatorOptions fields this driver's emulator honours.
    emulator_options: tuple[str, ...] = ()

    @property
    def plant(self) -> str:
        """``"module:function"`` -> ``open_plant(settings) -> Plant``."""
        return f"hardware.drivers.{self.name}.plant:open_plant"

    @property
    def emulator(self) -> str:
        """``"module:function"`` -> ``serve_emulator(options, stop, announce) -> summary``."""
        return f"hardware.drivers.{self.name}.emulator:serve_emulator"

    @property
    def fault_kinds(self) -> tuple[str, ...]:
        """Every fault ``emulate --driver NAME --fault KIND`` can inject."""
        return (SILENCE, *self.faults)

    def check_installed(self) -> None:
        """Raise a one-line ConfigError naming the extra when the vendor package is missing."""
        if self.requires is None or importlib.util.find_spec(self.requires) is not None:
            return
        raise ConfigError(
            f"--driver {self.name} needs the Python package '{self.requires}': "
            f"pip install 'ddpg-control[{self.extra}]'"
        )

    def parse_options(self, given: Mapping[str, Any]) -> dict[str, float | int | str]:
        """The driver's options: its defaults, overridden by ``given`` (profile or command line).
        Unknown names and values of the wrong type are a one-line ConfigError."""
        values: dict[str, float | int | str] = {k: spec[1] for k, spec in self.options.items()}
        for key, raw in given.items():
            if key not in self.options:
                known = ", ".join(sorted(self.options)) or "none"
                raise ConfigError(
                    f"driver {self.name} has no option {key!r} (its options: {known})"
                )
            kind = self.options[key][0]
            try:
                value = kind(raw)
            except (TypeError, ValueError):
                raise ConfigError(
                    f"driver option {key} needs a {kind.__name__}, got {raw!r}"
                ) from None
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"driver option {key} must be finite, got {raw!r}")
            values[key] = value
        return values


@dataclass(frozen=True, slots=True)
class DeviceSettings:
    """Everything a driver needs to open its plant, resolved from the command line, the device
    profile and the driver's defaults (in that order of precedence).

    ``angle_rad = wrap(direction * (device_angle_rad - upright_offset_rad))``;
    ``device_torque_nm = direction * torque_scale * torque_nm`` (as :class:`hardware.link.
    Calibration`). ``torque_limit_nm`` is the host's limit (None: the device's own).
    """

    driver: str
    port: str
    baud: int
    device_id: int
    period_s: float
    watchdog_ms: int = 100
    upright_offset_rad: float = 0.0
    direction: int = 1
    torque_scale: float = 1.0
    torque_limit_nm: float | None = None
    stuck_sensor_s: float = 0.5
    clear_faults: bool = False
    options: Mapping[str, float | int | str] = field(default_factory=dict)
    #: Unanswered reads in a row before the plant raises "stopped answering", or more at a
    #: rate where more fit in ``hardware.link.SILENCE_ALLOWED_S``. ``calibrate``, which is not
    #: timing-critical, allows more.
    max_missed_reads: int = 2

    def link(self, reply_timeout_s: float, *, min_missed_replies: int = 1) -> LinkConfig:
        """The plant's link configuration; ``reply_timeout_s`` is the driver's for
        ``period_s``."""
        return LinkConfig(
            baud_rate=self.baud,
            device_id=self.device_id,
            reply_timeout_s=reply_timeout_s,
            watchdog_timeout_s=self.watchdog_ms / 1000.0,
            torque_limit_nm=self.torque_limit_nm,
            max_missed_replies=max(
                min_missed_replies, missed_reads_allowed(self.period_s, self.max_missed_reads)
            ),
            clear_faults=self.clear_faults,
            stuck_sensor_s=self.stuck_sensor_s,
            calibration=Calibration(
                upright_offset_rad=self.upright_offset_rad,
                direction=self.direction,
                torque_scale=self.torque_scale,
            ),
        )


@dataclass(frozen=True, slots=True)
class EmulatorOptions:
    """What ``emulate --driver X`` passes to the driver's emulator. ``params``: the pendulum's
    physics (None: Pendulum-v1 with the device's torque limit); ``counts_per_rev`` and
    ``protocol_version`` (None: the device's own) only for a driver that lists them in its
    ``emulator_options``."""

    device_torque_limit_nm: float = 2.0
    start_angle_rad: float = math.pi
    device_id: int = 1
    seed: int = 0
    tcp_port: int | None = None  # None: a pseudo-terminal; 0: any free TCP port
    link: LinkImpairments = field(default_factory=LinkImpairments)
    faults: tuple[ScheduledFault, ...] = ()
    params: PendulumParams | None = None
    counts_per_rev: int | None = None
    protocol_version: int | None = None


DRIVERS: dict[str, DriverSpec] = {
    "ddpg": DriverSpec(
        name="ddpg",
        summary="this project's own protocol (hardware/PROTOCOL.md)",
        default_baud=DEFAULT_BAUD_RATE,
        faults=("disconnect", "stuck-sensor"),
        emulator_options=("counts_per_rev", "protocol_version"),
    ),
    "dynamixel": DriverSpec(
        name="dynamixel",
        summary="ROBOTIS Dynamixel X series, Protocol 2.0, current-based torque (dynamixel-sdk)",
        default_baud=57_600,
        requires="dynamixel_sdk",
        extra="dynamixel",
        options={
            "torque_constant_nm_per_a": (
                float,
                1.78,
                "output torque per ampere of Present Current (XM430-W350: about 1.78)",
            ),
            "current_unit_ma": (float, 2.69, "mA per Goal/Present Current unit (X series 2.69)"),
            "read_wait_ms": (
                float,
                1.0,
                "how long one wait for reply bytes may sleep in the kernel; 0 keeps "
                "dynamixel-sdk's own busy polling, which holds a core",
            ),
        },
        faults=("input-voltage", "overheating", "encoder", "electrical-shock", "overload")
        + ("watchdog",),
    ),
    "moteus": DriverSpec(
        name="moteus",
        summary="mjbots moteus over an fdcanusb or its UART, feed-forward torque (moteus)",
        default_baud=921_600,  # moteus' UART; an fdcanusb ignores it
        requires="moteus",
        extra="moteus",
        options={
            "max_torque_nm": (
                float,
                2.0,
                "the torque the moteus gives at its servo.max_current_A, N*m at the output",
            ),
            "event_loop": (
                str,
                "thread",
                "how the synchronous loop calls the asyncio client: 'thread' (its own event-loop "
                "thread) or 'inline' (run on the caller's thread; see bench/moteus_seam.py)",
            ),
        },
        faults=("motor-driver", "over-voltage", "encoder", "over-temperature", "under-voltage")
        + ("watchdog", "stuck-encoder"),
    ),
    "odrive": DriverSpec(
        name="odrive",
        summary="ODrive v3.x (firmware 0.5.x) in torque mode, ASCII protocol over UART or USB",
        default_baud=115_200,
        default_id=0,
        faults=("drv-fault", "encoder-no-response", "overspeed", "dc-bus-over-voltage", "watchdog"),
    ),
}


def driver_names() -> tuple[str, ...]:
    return tuple(DRIVERS)


def get_driver(name: str) -> DriverSpec:
    try:
        return DRIVERS[name]
    except KeyError:
        raise ConfigError(f"unknown driver {name!r}: pick one of {', '.join(DRIVERS)}") from None


def load(entry: str) -> Callable[..., Any]:
    """Import ``"module:function"`` and return the function."""
    module, _, name = entry.partition(":")
    function: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return function
