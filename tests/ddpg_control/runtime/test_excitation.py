"""The excitation signals and their envelope."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ddpg_control.runtime.contracts import make_observation
from ddpg_control.runtime.errors import ConfigError, SafetyStop
from ddpg_control.runtime.excitation import Excitation, ExcitationConfig, excitation_signal


@pytest.mark.parametrize("signal", ["multisine", "chirp"])
def test_signal_peaks_at_the_cap_and_fades_in_and_out(signal: str) -> None:
    config = ExcitationConfig(signal=signal, torque_nm=0.7, duration_s=20.0)
    t = np.arange(0.0, 20.0, config.period_s)
    u = excitation_signal(config, t)
    assert np.max(np.abs(u)) <= 0.7 + 1e-12
    assert np.max(np.abs(u)) > 0.6
    assert u[0] == 0.0 and abs(u[-1]) < 0.7 * config.period_s / config.ramp_s + 1e-12
    assert np.std(u) > 0.1


def test_multisine_holds_its_band() -> None:
    config = ExcitationConfig(duration_s=100.0, ramp_s=0.0, f_min_hz=0.2, f_max_hz=2.0)
    t = np.arange(0.0, 100.0, config.period_s)
    spectrum = np.abs(np.fft.rfft(excitation_signal(config, t))) ** 2
    freqs = np.fft.rfftfreq(len(t), config.period_s)
    in_band = spectrum[(freqs >= 0.15) & (freqs <= 2.2)].sum()
    assert in_band / spectrum.sum() > 0.95


def test_outside_the_envelope_it_only_brakes_and_far_outside_it_stops() -> None:
    excitation = Excitation(ExcitationConfig(torque_nm=0.5, envelope_rad=1.0), 2.0)
    # 1.2 rad counter-clockwise from hanging down (theta = pi + 1.2), still moving away.
    assert excitation(make_observation(math.pi + 1.2, 2.0)) == -0.5
    assert excitation(make_observation(math.pi - 1.2, -2.0)) == 0.5
    assert excitation.braked_ticks == 2
    # Coming back, the signal is sent again.
    excitation(make_observation(math.pi + 1.2, -2.0))
    assert excitation.braked_ticks == 2
    with pytest.raises(SafetyStop, match="envelope"):
        excitation(make_observation(math.pi + 1.6, 0.0))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"signal": "square"}, "unknown excitation signal"),
        ({"f_min_hz": 3.0, "f_max_hz": 1.0}, "f_min_hz < f_max_hz"),
        ({"f_max_hz": 20.0}, "quarter of the loop rate"),
        ({"envelope_rad": 3.0}, "envelope_rad"),
        ({"torque_nm": 0.0}, "torque_nm"),
    ],
)
def test_bad_configs_are_refused(changes: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ExcitationConfig(**changes)


def test_a_cap_above_the_limit_is_refused() -> None:
    with pytest.raises(ConfigError, match="lower --torque-nm"):
        Excitation(ExcitationConfig(torque_nm=3.0), 2.0)
