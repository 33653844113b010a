"""Exploration noise, in units of the torque limit. Randomness comes from a passed-in
``np.random.Generator``, never the global one. Torch-free."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class ActionNoise(Protocol):
    """A noise process: ``sample()`` once per step, ``reset()`` at each episode start."""

    def sample(self) -> np.ndarray: ...

    def reset(self) -> None: ...


class GaussianNoise:
    """Independent N(0, sigma^2) per step."""

    def __init__(self, size: int, sigma: float, rng: np.random.Generator) -> None:
        if sigma < 0:
            raise ValueError(f"sigma must be >= 0, got {sigma}")
        self.size = size
        self.sigma = sigma
        self.rng = rng

    def sample(self) -> np.ndarray:
        return self.rng.normal(0.0, self.sigma, size=self.size)

    def reset(self) -> None:
        """Stateless: nothing to reset."""


class OrnsteinUhlenbeckNoise:
    """Temporally correlated noise: x <- x + theta * (mu - x) + sigma * N(0, 1), per step.

    The process Lillicrap et al. 2016 explore with (theta 0.15, sigma 0.2, mu 0), as a PyTorch
    Pendulum tutorial also uses it, discretised with dt = 1 step.
    The state starts at ``mu`` and returns there on :meth:`reset`.
    """

    def __init__(
        self,
        size: int,
        sigma: float,
        theta: float,
        rng: np.random.Generator,
        mu: float = 0.0,
    ) -> None:
        if sigma < 0:
            raise ValueError(f"sigma must be >= 0, got {sigma}")
        if not 0 < theta <= 1:
            raise ValueError(f"theta must be in (0, 1], got {theta}")
        self.size = size
        self.sigma = sigma
        self.theta = theta
        self.mu = mu
        self.rng = rng
        self.state = np.full(size, mu, dtype=np.float64)

    def sample(self) -> np.ndarray:
        self.state = (
            self.state
            + self.theta * (self.mu - self.state)
            + self.sigma * self.rng.standard_normal(self.size)
        )
        return self.state.copy()

    def reset(self) -> None:
        self.state = np.full(self.size, self.mu, dtype=np.float64)


def make_noise(
    kind: str, size: int, sigma: float, theta: float, rng: np.random.Generator
) -> ActionNoise:
    if kind == "gaussian":
        return GaussianNoise(size, sigma, rng)
    if kind == "ou":
        return OrnsteinUhlenbeckNoise(size, sigma, theta, rng)
    raise ValueError(f"unknown noise kind {kind!r}; use 'gaussian' or 'ou'")
