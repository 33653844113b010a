"""Checks of configuration values, shared by every frozen config dataclass.

Each raises :class:`~ddpg_control.runtime.errors.ConfigError` (or the subclass passed as
``error``) with a message that names the value, and returns the value as a float when it
passes, so a ``__post_init__`` reads as a list of checks.
"""

from __future__ import annotations

import math
from typing import Any

from ddpg_control.runtime.errors import ConfigError


def require(ok: bool, message: str, error: type[ConfigError] = ConfigError) -> None:
    """Raise ``error(message)`` unless ``ok``."""
    if not ok:
        raise error(message)


def is_number(value: Any) -> bool:
    """An int or float that is not a bool (``True`` is an int to Python, not to a config)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def require_finite(name: str, value: Any, error: type[ConfigError] = ConfigError) -> float:
    """``value`` must be a finite number."""
    require(
        is_number(value) and math.isfinite(value),
        f"{name} must be a finite number, got {value!r}",
        error,
    )
    return float(value)


def require_positive(name: str, value: Any, error: type[ConfigError] = ConfigError) -> float:
    """``value`` must be a finite number > 0."""
    require(
        is_number(value) and math.isfinite(value) and value > 0,
        f"{name} must be a finite number > 0, got {value!r}",
        error,
    )
    return float(value)


def require_non_negative(name: str, value: Any, error: type[ConfigError] = ConfigError) -> float:
    """``value`` must be a finite number >= 0."""
    require(
        is_number(value) and math.isfinite(value) and value >= 0,
        f"{name} must be a finite number >= 0, got {value!r}",
        error,
    )
    return float(value)
