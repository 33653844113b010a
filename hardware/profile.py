"""Device profiles: what ``ddpg-control calibrate`` measured, saved once, picked up by ``run``.

A profile is a small TOML file::

    driver = "dynamixel"
    port = "/dev/ttyUSB0"
    baud = 1000000
    id = 1
    upright_offset_rad = 3.1021
    direction = 1
    torque_scale = 1.0
    max_torque_nm = 1.5        # optional: the host's torque limit
    watchdog_ms = 100

    [options]                  # the driver's own settings (hardware/drivers/__init__.py)
    torque_constant_nm_per_a = 1.78

``run --device PORT`` reads ``--profile FILE`` when given, else the profile saved for PORT in
:func:`profile_dir` (``$DDPG_CONTROL_PROFILES``, default ``~/.config/ddpg-control/devices``),
if there is one. Options given on the command line win over the profile.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ddpg_control.runtime.errors import ConfigError
from ddpg_control.runtime.toml_config import toml_value

PROFILE_DIR_ENV = "DDPG_CONTROL_PROFILES"


def profile_dir() -> Path:
    given = os.environ.get(PROFILE_DIR_ENV)
    return Path(given) if given else Path.home() / ".config" / "ddpg-control" / "devices"


def profile_path_for_port(port: str) -> Path:
    """Where the profile of ``port`` is saved: its path with every run of characters other than
    letters, digits, ``.``, ``_`` and ``-`` made one ``-`` (``/dev/ttyUSB0`` -> ``dev-ttyUSB0``)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", port).strip("-") or "device"
    return profile_dir() / f"{name}.toml"


@dataclass(frozen=True, slots=True)
class DeviceProfile:
    driver: str
    port: str = ""
    baud: int | None = None
    device_id: int | None = None
    upright_offset_rad: float = 0.0
    direction: int = 1
    torque_scale: float = 1.0
    max_torque_nm: float | None = None
    watchdog_ms: int | None = None
    options: dict[str, float | int | str] = field(default_factory=dict)

    def to_toml(self) -> str:
        lines = ["# ddpg-control device profile (written by 'ddpg-control calibrate')"]
        items: list[tuple[str, Any]] = [
            ("driver", self.driver),
            ("port", self.port),
            ("baud", self.baud),
            ("id", self.device_id),
            ("upright_offset_rad", self.upright_offset_rad),
            ("direction", self.direction),
            ("torque_scale", self.torque_scale),
            ("max_torque_nm", self.max_torque_nm),
            ("watchdog_ms", self.watchdog_ms),
        ]
        lines += [f"{key} = {toml_value(value)}" for key, value in items if value is not None]
        if self.options:
            lines += ["", "[options]"]
            lines += [f"{key} = {toml_value(v)}" for key, v in sorted(self.options.items())]
        return "\n".join(lines) + "\n"

    def save(self, path: Path) -> Path:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(self.to_toml(), encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"cannot write the profile {path} ({exc.strerror or exc}): name a writable "
                "file with --profile"
            ) from None
        return path

    @classmethod
    def load(cls, path: Path) -> DeviceProfile:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(
                f"no device profile at {path}: run 'ddpg-control calibrate'"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read the device profile {path}: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"device profile {path} is not valid TOML: {exc}") from None
        return cls.from_dict(data, str(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str) -> DeviceProfile:
        known = {
            "driver": str,
            "port": str,
            "baud": int,
            "id": int,
            "upright_offset_rad": float,
            "direction": int,
            "torque_scale": float,
            "max_torque_nm": float,
            "watchdog_ms": int,
            "options": dict,
        }
        for key, value in data.items():
            kind = known.get(key)
            if kind is None:
                raise ConfigError(f"device profile {where}: unknown key {key!r}")
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise ConfigError(
                    f"device profile {where}: {key} must be a {kind.__name__}, got {value!r}"
                )
        if "driver" not in data:
            raise ConfigError(f"device profile {where}: no 'driver'")
        profile = cls(
            driver=data["driver"],
            port=data.get("port", ""),
            baud=data.get("baud"),
            device_id=data.get("id"),
            upright_offset_rad=float(data.get("upright_offset_rad", 0.0)),
            direction=data.get("direction", 1),
            torque_scale=float(data.get("torque_scale", 1.0)),
            max_torque_nm=(
                float(data["max_torque_nm"]) if data.get("max_torque_nm") is not None else None
            ),
            watchdog_ms=data.get("watchdog_ms"),
            options=dict(data.get("options", {})),
        )
        profile.check(where)
        return profile

    def check(self, where: str) -> None:
        def bad(message: str) -> ConfigError:
            return ConfigError(f"device profile {where}: {message}")

        if self.direction not in (1, -1):
            raise bad(f"direction must be 1 or -1, got {self.direction}")
        if not math.isfinite(self.upright_offset_rad):
            raise bad("upright_offset_rad must be finite")
        if not (math.isfinite(self.torque_scale) and self.torque_scale > 0):
            raise bad(f"torque_scale must be > 0, got {self.torque_scale}")
        if self.max_torque_nm is not None and not (
            math.isfinite(self.max_torque_nm) and self.max_torque_nm > 0
        ):
            raise bad(f"max_torque_nm must be > 0, got {self.max_torque_nm}")
        for key in ("baud", "watchdog_ms"):
            value = getattr(self, key)
            if value is not None and value <= 0:
                raise bad(f"{key} must be > 0, got {value}")
        if self.device_id is not None and self.device_id < 0:
            raise bad(f"id must be >= 0, got {self.device_id}")
