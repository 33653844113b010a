"""Exploration noise: seeded through the passed-in generator, right statistics."""

from __future__ import annotations

import numpy as np
import pytest

from ddpg_control.learning.noise import GaussianNoise, OrnsteinUhlenbeckNoise, make_noise


def test_gaussian_noise_has_requested_sigma_and_zero_mean() -> None:
    noise = GaussianNoise(2, sigma=0.3, rng=np.random.default_rng(0))
    samples = np.array([noise.sample() for _ in range(20_000)])
    assert samples.shape == (20_000, 2)
    assert np.all(np.abs(samples.mean(axis=0)) < 0.01)
    assert np.allclose(samples.std(axis=0), 0.3, rtol=0.03)


def test_same_seed_same_sequence_and_no_global_state() -> None:
    a = make_noise("ou", 1, 0.2, 0.15, np.random.default_rng(42))
    np.random.seed(0)  # the global generator must play no part
    first = [a.sample().item() for _ in range(50)]
    b = make_noise("ou", 1, 0.2, 0.15, np.random.default_rng(42))
    np.random.seed(99)
    assert [b.sample().item() for _ in range(50)] == first


def test_ou_noise_is_correlated_and_has_its_stationary_spread() -> None:
    sigma, theta = 0.2, 0.15
    noise = OrnsteinUhlenbeckNoise(1, sigma=sigma, theta=theta, rng=np.random.default_rng(1))
    x = np.array([noise.sample().item() for _ in range(60_000)])
    lag1 = np.corrcoef(x[:-1], x[1:])[0, 1]
    assert lag1 == pytest.approx(1 - theta, abs=0.02)
    # stationary variance of x' = (1 - theta) x + sigma e  is  sigma^2 / (1 - (1 - theta)^2)
    assert x.std() == pytest.approx(sigma / np.sqrt(1 - (1 - theta) ** 2), rel=0.08)


def test_ou_reset_returns_to_mean() -> None:
    noise = OrnsteinUhlenbeckNoise(3, sigma=1.0, theta=0.15, rng=np.random.default_rng(0))
    for _ in range(10):
        noise.sample()
    assert np.any(noise.state != 0)
    noise.reset()
    np.testing.assert_array_equal(noise.state, np.zeros(3))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "gaussian", "sigma": -1.0}, "sigma"),
        ({"kind": "ou", "theta": 0.0}, "theta"),
        ({"kind": "brown"}, "unknown noise kind"),
    ],
)
def test_bad_noise_parameters_are_refused(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"kind": "gaussian", "size": 1, "sigma": 0.1, "theta": 0.15}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        make_noise(rng=np.random.default_rng(0), **args)  # type: ignore[arg-type]
