"""``params.toml``: a rig's pendulum parameters, their uncertainties, randomisation and provenance.

``ddpg-control identify`` writes one; ``train``, ``eval``, ``run --sim`` and ``emulate`` read one
with ``--params FILE``. Tables (only ``[pendulum]`` is required)::

    [pendulum]      PendulumParams fields (SI units, names as in sim/params.py); the rest default
    [uncertainty]   one standard deviation of fitted fields, same names
    [randomize]     your own randomisation ranges: field = [low, high] (RandomizationRanges names)
    [provenance]    what it was fitted from and when (files, sha256, time, method, residuals)

Randomisation centred on the file (:func:`ranges_around`): the ``[randomize]`` ranges where
given, else the value +- ``sigmas`` standard deviations, widened to at least
``min_relative`` of the value so that a very confident fit still trains a robust policy.
Read with the standard library's ``tomllib``; written by :func:`write_params_file` (the format
is small enough not to need a TOML writer).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ddpg_control.runtime.files import write_atomically
from ddpg_control.runtime.toml_config import toml_value
from sim.params import PendulumParams, RandomizationRanges, SimConfigError

#: Randomised around a fit: +- this many standard deviations ...
DEFAULT_SIGMAS = 3.0
#: ... and at least this share of the value (mass, length, torque scale) ...
MIN_RELATIVE = 0.05
#: ... or of the value plus this floor (damping, friction: N*m(*s/rad); latency: s).
ABSOLUTE_FLOORS = {
    "joint_damping_nm_s_rad": 0.005,
    "joint_friction_nm": 0.01,
    "action_latency_s": 0.002,
}


@dataclass(frozen=True)
class ParamsFile:
    """What a ``params.toml`` holds."""

    path: Path
    params: PendulumParams
    std: dict[str, float]
    ranges: dict[str, tuple[float, float]]
    provenance: dict[str, Any]


def _table(data: dict[str, Any], name: str, path: Path) -> dict[str, Any]:
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise SimConfigError(f"{path}: [{name}] must be a table")
    return table


def load_params_file(path: Path) -> ParamsFile:
    """Read and validate a ``params.toml``; errors name the file and the bad key."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SimConfigError(
            f"parameter file '{path}' does not exist; 'ddpg-control identify TELEMETRY.csv "
            "--output FILE' writes one"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SimConfigError(f"cannot read parameter file '{path}': {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SimConfigError(f"'{path}' is not valid TOML: {exc}") from None
    if "pendulum" not in data:
        raise SimConfigError(f"'{path}' has no [pendulum] table of PendulumParams fields")
    pendulum = _table(data, "pendulum", path)
    try:
        params = PendulumParams.from_dict(pendulum)
    except SimConfigError as exc:
        raise SimConfigError(f"{path} [pendulum]: {exc}") from None
    except TypeError as exc:
        raise SimConfigError(f"{path} [pendulum]: {exc}") from None
    known = {f.name for f in fields(PendulumParams)}
    std: dict[str, float] = {}
    for key, value in _table(data, "uncertainty", path).items():
        if key not in known or not _number(value) or value < 0:
            raise SimConfigError(
                f"{path} [uncertainty] {key} = {value!r}: must name a pendulum field and be >= 0"
            )
        std[key] = float(value)
    range_names = {f.name for f in fields(RandomizationRanges)}
    ranges: dict[str, tuple[float, float]] = {}
    for key, value in _table(data, "randomize", path).items():
        if key not in range_names:
            raise SimConfigError(
                f"{path} [randomize] {key}: cannot be randomised; use one of {sorted(range_names)}"
            )
        if not (isinstance(value, list) and len(value) == 2 and all(map(_number, value))):
            raise SimConfigError(f"{path} [randomize] {key} must be [low, high], got {value!r}")
        ranges[key] = (float(value[0]), float(value[1]))
    RandomizationRanges(**{k: v for k, v in ranges.items()})  # validates low <= high, >= 0
    return ParamsFile(
        path=Path(path),
        params=params,
        std=std,
        ranges=ranges,
        provenance=dict(_table(data, "provenance", path)),
    )


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def ranges_around(
    loaded: ParamsFile, *, sigmas: float = DEFAULT_SIGMAS, min_relative: float = MIN_RELATIVE
) -> RandomizationRanges:
    """Randomisation centred on the file's values (see the module's docstring)."""
    changes: dict[str, tuple[float, float] | None] = {}
    for f in fields(RandomizationRanges):
        name = f.name
        if name in loaded.ranges:
            changes[name] = loaded.ranges[name]
            continue
        value = float(getattr(loaded.params, name))
        half = max(
            sigmas * loaded.std.get(name, 0.0),
            min_relative * abs(value),
            ABSOLUTE_FLOORS.get(name, 0.0),
        )
        low = value - half
        if name in ("mass_kg", "length_m", "torque_scale"):
            low = max(low, 0.5 * value)
        changes[name] = (max(low, 0.0), value + half)
    return RandomizationRanges(**changes)


def params_toml(
    params: PendulumParams,
    *,
    std: dict[str, float] | None = None,
    provenance: dict[str, Any] | None = None,
    comments: dict[str, str] | None = None,
) -> str:
    """The text of a ``params.toml`` (see the module's docstring)."""
    comments = comments or {}
    lines = [
        "# Rig parameters for ddpg-control (--params FILE); SI units, see sim/params.py.",
        "",
        "[pendulum]",
    ]
    for key, value in params.to_dict().items():
        note = f"  # {comments[key]}" if key in comments else ""
        lines.append(f"{key} = {toml_value(value)}{note}")
    if std:
        lines += ["", "[uncertainty]  # one standard deviation"]
        lines += [f"{k} = {toml_value(float(v))}" for k, v in std.items()]
    if provenance:
        lines += ["", "[provenance]"]
        lines += [f"{k} = {toml_value(v)}" for k, v in provenance.items()]
    return "\n".join(lines) + "\n"


def write_params_file(path: Path, text: str) -> Path:
    """Write ``params_toml`` output atomically (a crash leaves the old file or none)."""
    tomllib.loads(text)  # never write a file we could not read back
    return write_atomically(Path(path), text.encode("utf-8"))


#: The physics step a rig is simulated with in real time (emulator, ``excite --sim``).
FINE_PHYSICS_DT_S = 0.001


def with_fine_physics(params: PendulumParams, dt_s: float = FINE_PHYSICS_DT_S) -> PendulumParams:
    """``params`` stepped at least every ``dt_s`` (more sub-steps, same control period), so a
    real-time plant moves smoothly and identification sees the physics it models."""
    substeps = max(params.physics_substeps, math.ceil(params.control_period_s / dt_s - 1e-9))
    return params.with_changes(physics_substeps=substeps)
