"""Frozen dataclasses from TOML and back: nested tables, checked types, named unknown keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ddpg_control.runtime.errors import ConfigError
from ddpg_control.runtime.toml_config import build, plain, read_toml, toml_text


@dataclass(frozen=True)
class Inner:
    rate_hz: float = 20.0
    sizes: tuple[int, ...] = (1, 2)


@dataclass(frozen=True)
class Outer:
    name: str = 'a "quoted" \\ name'
    on: bool = False
    inner: Inner = field(default_factory=Inner)


def test_a_config_round_trips_through_toml_text(tmp_path: Path) -> None:
    config = build(Outer, {"on": True, "inner": {"rate_hz": 100, "sizes": [3]}})
    assert config == Outer(on=True, inner=Inner(rate_hz=100.0, sizes=(3,)))
    path = tmp_path / "c.toml"
    path.write_text(toml_text(plain(config)))
    assert build(Outer, read_toml(path)) == config


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"inner": {"rate": 1.0}},
            r"unknown config key 'inner.rate' \(known keys: rate_hz, sizes\)",
        ),
        ({"on": 1}, "'on' must be of type bool"),
        ({"inner": 3}, "section 'inner' must be a table"),
    ],
)
def test_bad_data_names_the_key(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build(Outer, data)


def test_a_renamed_key_gets_its_own_message_before_it_is_refused() -> None:
    def renamed(key: str, value: Any) -> None:
        if key == "inner.hz":
            raise ConfigError(f"'inner.hz' is now 'inner.rate_hz' (got {value})")

    with pytest.raises(ConfigError, match="is now 'inner.rate_hz' \\(got 5\\)"):
        build(Outer, {"inner": {"hz": 5}}, renamed)
