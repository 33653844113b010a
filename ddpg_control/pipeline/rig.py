"""The simulated rig a command builds: a ``params.toml`` (``--params``), a simulator preset
(``--preset``), or the rig a policy was trained for, in that order, else the default preset.

The file's format is in :mod:`sim.params_file`; presets are :data:`sim.params.PRESETS`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from ddpg_control.runtime.errors import ConfigError

if TYPE_CHECKING:
    from export.metadata import PolicyMetadata
    from sim.params import PendulumParams
    from sim.params_file import ParamsFile

log = logging.getLogger(__name__)

DEFAULT_PRESET = "default"


def load_rig_file(path: Path | None) -> ParamsFile | None:
    """The loaded ``params.toml`` at ``path``, or None when no file is named."""
    if path is None:
        return None
    from sim.params_file import load_params_file

    return load_params_file(path)


def rig_params(
    params_file: ParamsFile | None,
    preset_name: str | None,
    trained_for: PolicyMetadata | None = None,
) -> PendulumParams:
    """The rig's parameters: ``params_file`` if given, else the preset ``preset_name``, else the
    PyBullet pendulum ``trained_for`` names (a policy's metadata), else the default preset."""
    from sim.params import PendulumParams, preset

    if params_file is not None:
        return params_file.params
    if preset_name is not None:
        return preset(preset_name)
    if trained_for is None:
        return preset(DEFAULT_PRESET)
    env_params = dict(trained_for.env_params or {})
    if env_params:
        try:
            return PendulumParams.from_dict(env_params)
        except ConfigError as exc:
            log.info("policy's env params are not the PyBullet pendulum's (%s)", exc)
    return preset(trained_for.env_preset or DEFAULT_PRESET)
