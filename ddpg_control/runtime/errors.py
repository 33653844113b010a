"""The exception tree. Every error a user can meet is one of these, with a message that says
what to do next. The CLI prints ``error: <message>`` and exits non-zero; it never shows a
traceback for these.

This module is a leaf: it imports nothing from the project, so ``sim``, ``hardware`` and
``export`` may subclass these types.
"""

from __future__ import annotations


class DdpgControlError(Exception):
    """Base of every error ddpg-control raises on purpose."""

    exit_code: int = 2


class ConfigError(DdpgControlError, ValueError):
    """A configuration value, config file or command-line option is invalid."""


class RunDirectoryError(DdpgControlError):
    """No run directory, or a run directory without what the command needs."""


class CheckpointError(DdpgControlError):
    """A checkpoint is missing, corrupt, or from another architecture."""


class PolicyArtifactError(DdpgControlError):
    """An ONNX policy file is missing, invalid, or does not match the plant."""


class PlantError(DdpgControlError):
    """The plant (simulator or motor driver) failed or reported a fault."""

    exit_code = 3


class TelemetryError(DdpgControlError):
    """Telemetry could not be written in full (the file could not be written, or rows were
    dropped because the disk fell behind). The control run itself is unaffected."""


class SafetyStop(DdpgControlError):
    """The safety layer stopped the run (non-finite value, velocity envelope, ...)."""

    exit_code = 4


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name when the message is empty), for
    one-line errors that wrap a library's multi-line one."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
