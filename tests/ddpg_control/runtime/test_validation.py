"""The shared value checks: what passes, and the message of what does not."""

from __future__ import annotations

import math

import pytest

from ddpg_control.runtime.errors import ConfigError
from ddpg_control.runtime.validation import (
    require,
    require_finite,
    require_non_negative,
    require_positive,
)


class CustomError(ConfigError):
    pass


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, True, "1", None])
def test_require_finite_refuses_what_is_not_a_finite_number(value: object) -> None:
    with pytest.raises(ConfigError, match=r"^mass_kg must be a finite number, got "):
        require_finite("mass_kg", value)


@pytest.mark.parametrize(
    ("check", "bad", "good"),
    [
        (require_positive, [0, -1.0, math.nan], [1e-9, 3]),
        (require_non_negative, [-1e-9, math.inf], [0, 2.5]),
    ],
)
def test_bounds(check, bad: list[float], good: list[float]) -> None:  # type: ignore[no-untyped-def]
    for value in bad:
        with pytest.raises(ConfigError, match="period_s must be a finite number"):
            check("period_s", value)
    assert [check("period_s", value) for value in good] == [float(v) for v in good]


def test_the_error_type_can_be_chosen() -> None:
    with pytest.raises(CustomError, match="bad thing"):
        require(False, "bad thing", CustomError)
    with pytest.raises(CustomError):
        require_positive("x", -1, CustomError)
    require(True, "never raised")
