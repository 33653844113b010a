"""The error tree's helpers."""

from __future__ import annotations

from ddpg_control.runtime.errors import first_line


def test_first_line_of_an_exception() -> None:
    assert first_line(ValueError("one\ntwo")) == "one"
    assert first_line(KeyError()) == "KeyError"
