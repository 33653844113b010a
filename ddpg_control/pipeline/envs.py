"""Gymnasium environments for training and evaluation: ``Pendulum-v1`` and the PyBullet pendulum.

Importing this module registers the PyBullet pendulum with Gymnasium (through :mod:`sim`).
Episodes last ``episode_s`` seconds at the environment's own control period: the PyBullet
pendulum takes the duration itself, any other environment (``Pendulum-v1``, fixed at 20 Hz)
gets a ``TimeLimit`` of ``round(episode_s / dt)`` steps; the default 10 s keeps Pendulum-v1's
200.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ddpg_control.runtime.contracts import DEFAULT_EPISODE_S, episode_steps
from ddpg_control.runtime.errors import ConfigError, first_line
from sim import PYBULLET_ENV_ID

if TYPE_CHECKING:
    from sim.params_file import ParamsFile


def env_kwargs(
    env_id: str,
    preset: str = "",
    randomize: bool = False,
    params_file: ParamsFile | None = None,
    episode_s: float = DEFAULT_EPISODE_S,
) -> dict[str, Any]:
    """Keyword arguments for ``gymnasium.make``; PyBullet-only options are refused elsewhere.
    ``params_file`` (``--params``) sets the pendulum, and with ``randomize`` centres the
    randomisation on it. Only the PyBullet pendulum takes ``episode_s`` as an argument
    (:func:`make_env` limits the others' episodes)."""
    kwargs: dict[str, Any] = {}
    if env_id == PYBULLET_ENV_ID:
        if episode_s != DEFAULT_EPISODE_S:
            kwargs["episode_s"] = episode_s
        if preset:
            kwargs["preset"] = preset
        if randomize:
            kwargs["randomize"] = True
        if params_file is not None:
            from sim.params_file import ranges_around

            kwargs["params"] = params_file.params
            if randomize:
                kwargs["ranges"] = ranges_around(params_file)
    elif params_file is not None:
        raise ConfigError(
            f"--params only applies to {PYBULLET_ENV_ID}, not to {env_id}; "
            f"pass --env {PYBULLET_ENV_ID}"
        )
    elif preset or randomize:
        option = "--preset" if preset else "--randomize"
        raise ConfigError(
            f"{option} only applies to {PYBULLET_ENV_ID}, not to {env_id}; "
            f"drop it or pass --env {PYBULLET_ENV_ID}"
        )
    return kwargs


def make_env(
    env_id: str,
    preset: str = "",
    randomize: bool = False,
    render_mode: str | None = None,
    params_file: ParamsFile | None = None,
    episode_s: float = DEFAULT_EPISODE_S,
) -> Any:
    """``gymnasium.make(env_id, ...)``, importing ``sim`` first for the PyBullet pendulum, with
    episodes of ``episode_s`` seconds (see the module's docstring)."""
    kwargs = env_kwargs(env_id, preset, randomize, params_file, episode_s)
    if render_mode is not None:
        kwargs["render_mode"] = render_mode
    env = _make(env_id, kwargs)
    if env_id == PYBULLET_ENV_ID or not hasattr(env.unwrapped, "dt"):
        return env
    steps = _steps(episode_s, float(env.unwrapped.dt))
    if env.spec is not None and env.spec.max_episode_steps == steps:
        return env
    env.close()
    return _make(env_id, {**kwargs, "max_episode_steps": steps})


def _steps(episode_s: float, period_s: float) -> int:
    try:
        return episode_steps(episode_s, period_s)
    except ValueError as exc:
        raise ConfigError(f"config value 'env.episode_s' (--episode-s): {exc}") from None


def _make(env_id: str, kwargs: dict[str, Any]) -> Any:
    import gymnasium

    try:
        return gymnasium.make(env_id, **kwargs)
    except (gymnasium.error.DependencyNotInstalled, ImportError) as exc:
        raise ConfigError(
            f"'{env_id}' needs a package that is not installed: {first_line(exc)}"
        ) from None
    except gymnasium.error.Error as exc:
        known = ", ".join(sorted(k for k in gymnasium.registry if "Pendulum" in k))
        raise ConfigError(
            f"unknown environment id '{env_id}' ({type(exc).__name__}); try one of: {known}"
        ) from None
    except TypeError as exc:  # an option the environment's constructor does not take
        raise ConfigError(f"cannot build '{env_id}' with {kwargs}: {exc}") from None


def env_factory(
    env_id: str,
    preset: str = "",
    randomize: bool = False,
    params_file: ParamsFile | None = None,
    episode_s: float = DEFAULT_EPISODE_S,
) -> Callable[[], Any]:
    """A factory for the trainer, checked now so a bad id or an environment the trainer cannot
    drive fails before training starts."""
    env = make_env(env_id, preset, randomize, params_file=params_file, episode_s=episode_s)
    try:
        check_trainable(env, env_id)
    finally:
        env.close()
    return lambda: make_env(env_id, preset, randomize, params_file=params_file, episode_s=episode_s)


def vector_env_factory(
    env_id: str, episode_s: float = DEFAULT_EPISODE_S
) -> Callable[[int], Any] | None:
    """For population training, ``n`` -> ``n`` copies of ``env_id`` stepped with one call, where
    a vectorised implementation exists: ``Pendulum-v1`` (``sim.pendulum_v1``, numpy over
    all copies), episodes of ``episode_s``. None otherwise: the trainer then steps ordinary
    environments in a loop."""
    if env_id != "Pendulum-v1":
        return None
    import functools

    from sim.pendulum_v1 import PERIOD_S, PendulumV1Batch

    return functools.partial(PendulumV1Batch, max_episode_steps=_steps(episode_s, PERIOD_S))


def check_trainable(env: Any, env_id: str) -> None:
    """Raise :class:`ConfigError` unless the trainer can drive ``env``: a flat ``Box``
    observation, a continuous ``Box`` action space with one limit symmetric about zero (the
    actor outputs ``limit * tanh``), and a control period (``env.unwrapped.dt``) for the
    exported policy."""
    import numpy as np
    from gymnasium.spaces import Box

    obs_space, action_space = env.observation_space, env.action_space
    if not isinstance(action_space, Box):
        problem = f"its action space {action_space} is not a continuous Box"
    elif not isinstance(obs_space, Box) or len(obs_space.shape) != 1:
        problem = f"its observation space {obs_space} is not a flat Box"
    elif not (
        np.all(np.isfinite(action_space.high))
        and np.all(action_space.high > 0)
        and np.all(action_space.high == action_space.high.flat[0])
        and np.array_equal(action_space.low, -action_space.high)
    ):
        problem = f"its action bounds {action_space} are not one limit symmetric about zero"
    elif not hasattr(env.unwrapped, "dt"):
        problem = "it has no control period (env.unwrapped.dt)"
    else:
        return
    raise ConfigError(
        f"cannot train on {env_id}: {problem}; training needs a continuous Box action space "
        "(one limit, symmetric about zero), a flat Box observation and a control period, "
        f"e.g. Pendulum-v1 or {PYBULLET_ENV_ID}"
    )
