"""What balancing means, measured on episodes' true angles and velocities.

An episode *enters and stays* in a band from the first sample after which every sample, to the
episode's last, is inside it. Two bands are used: the loose one (within 0.1 rad of upright, the
robustness score's long-standing success) and the tight one (within 0.02 rad *and* 0.2 rad/s),
which a pendulum resting a few degrees off upright never enters. Torch-free, numpy only.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from ddpg_control.runtime.contracts import TIGHT_BAND_ANGLE_RAD, TIGHT_BAND_VELOCITY_RAD_S

LOOSE_ANGLE_RAD = 0.1
#: The tight band, as training's balance test and the runtime know it.
TIGHT_ANGLE_RAD = TIGHT_BAND_ANGLE_RAD
TIGHT_VELOCITY_RAD_S = TIGHT_BAND_VELOCITY_RAD_S

Array = npt.NDArray[np.float64]


def upright_error_rad(angle_rad: npt.ArrayLike) -> Array:
    """Signed angle from upright, wrapped to (-pi, pi]."""
    return np.asarray(np.arctan2(np.sin(angle_rad), np.cos(angle_rad)), dtype=np.float64)


def entry_index(
    angle_rad: npt.ArrayLike,
    velocity_rad_s: npt.ArrayLike,
    angle_band_rad: float,
    velocity_band_rad_s: float = math.inf,
) -> npt.NDArray[np.intp]:
    """Per episode (the last axis is time), the first sample from which the state stays within
    ``|angle| <= angle_band_rad`` and ``|velocity| <= velocity_band_rad_s`` (inclusive) to the
    end; -1 when the last sample is outside. Angles are measured from upright, wrapped."""
    error = np.abs(upright_error_rad(angle_rad))
    inside = (error <= angle_band_rad) & (np.abs(np.asarray(velocity_rad_s)) <= velocity_band_rad_s)
    steps = inside.shape[-1]
    outside = ~inside
    last_outside = steps - 1 - np.argmax(outside[..., ::-1], axis=-1)
    start = np.where(outside.any(axis=-1), last_outside + 1, 0)
    return np.asarray(np.where(start < steps, start, -1), dtype=np.intp)


def tight_entry_index(
    angle_rad: npt.ArrayLike, velocity_rad_s: npt.ArrayLike
) -> npt.NDArray[np.intp]:
    """:func:`entry_index` for the tight band (0.02 rad and 0.2 rad/s)."""
    return entry_index(angle_rad, velocity_rad_s, TIGHT_ANGLE_RAD, TIGHT_VELOCITY_RAD_S)
