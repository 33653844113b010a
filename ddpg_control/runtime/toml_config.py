"""Frozen config dataclasses read from TOML and written back as TOML.

:func:`build` makes a dataclass from plain data: each value is checked against the type of its
field's default (an int is taken where a float is), an unknown key is named with the keys that
exist, and a field whose default is a dataclass is read from a table of its own. Every error is
a :class:`~ddpg_control.runtime.errors.ConfigError` that names the key. Torch-free.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ddpg_control.runtime.errors import ConfigError

#: Called with each unknown key (dotted) and its value before the key is refused, to raise a
#: clearer error for a key that has a new name.
RenamedKey = Callable[[str, Any], None]


def read_toml(path: Path) -> dict[str, Any]:
    """The TOML file ``path`` as plain data."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file '{path}' does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file '{path}': {exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file '{path}' is not valid TOML: {exc}") from None


def parse_override(text: str) -> tuple[str, Any]:
    """``"agent.actor_lr=3e-4"`` -> ``("agent.actor_lr", 0.0003)``; values use TOML syntax,
    bare words are taken as strings (``noise.kind=ou``)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"override '{text}' must look like KEY=VALUE, e.g. agent.tau=0.005")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key, value


def build(
    cls: type, data: Mapping[str, Any], renamed: RenamedKey | None = None, prefix: str = ""
) -> Any:
    """``cls(**data)``, every key and value checked (see the module's docstring); missing
    keys keep their defaults. ``prefix`` is the dotted path of ``cls``'s table."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"config section '{prefix.rstrip('.')}' must be a table")
    defaults = cls()
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown and renamed is not None:
        for key in unknown:
            renamed(prefix + key, data[key])
    if unknown:
        raise ConfigError(
            f"unknown config key '{prefix}{unknown[0]}' (known keys: {', '.join(sorted(known))})"
        )
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        default = getattr(defaults, name)
        if dataclasses.is_dataclass(default):
            kwargs[name] = build(type(default), value, renamed, prefix=f"{prefix}{name}.")
        else:
            kwargs[name] = _coerce(prefix + name, value, default)
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"invalid config: {exc}") from exc


def _coerce(key: str, value: Any, default: Any) -> Any:
    """Check ``value`` against the type of the field's default; ints are accepted as floats."""
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, str):
        ok = isinstance(value, str)
    elif isinstance(default, tuple):
        ok = isinstance(value, list | tuple) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        )
        value = tuple(value) if ok else value
    else:  # pragma: no cover - every field has one of the types above
        ok = True
    if not ok:
        raise ConfigError(
            f"config value '{key}' must be of type {type(default).__name__}, got {value!r}"
        )
    return value


def plain(config: Any) -> dict[str, Any]:
    """A config dataclass as plain data (lists, not tuples): fits TOML, JSON and a weights-only
    checkpoint."""

    def each(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: each(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [each(v) for v in value]
        return value

    result: dict[str, Any] = each(dataclasses.asdict(config))
    return result


def toml_text(data: Mapping[str, Any]) -> str:
    """Plain ``data`` as TOML: its values, then one table per mapping in it."""
    lines = [f"{k} = {toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for section, table in data.items():
        if isinstance(table, dict):
            lines += ["", f"[{section}]", *(f"{k} = {toml_value(v)}" for k, v in table.items())]
    return "\n".join(lines) + "\n"


def toml_value(value: Any) -> str:
    """One TOML value: a bool, number (``nan`` and ``inf`` included), string, or a list or
    tuple of them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")
