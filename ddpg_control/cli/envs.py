"""Building Gymnasium environments for the CLI: ``Pendulum-v1`` and the PyBullet pendulum."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ddpg_control.runtime.errors import ConfigError

PYBULLET_ENV_ID = "PyBulletPendulum-v0"


def env_kwargs(env_id: str, preset: str = "", randomize: bool = False) -> dict[str, Any]:
    """Keyword arguments for ``gymnasium.make``; PyBullet-only options are refused elsewhere."""
    kwargs: dict[str, Any] = {}
    if env_id == PYBULLET_ENV_ID:
        if preset:
            kwargs["preset"] = preset
        if randomize:
            kwargs["randomize"] = True
    elif preset or randomize:
        option = "--preset" if preset else "--randomize"
        raise ConfigError(
            f"{option} only applies to {PYBULLET_ENV_ID}, not to {env_id}; "
            f"drop it or pass --env {PYBULLET_ENV_ID}"
        )
    return kwargs


def make_env(
    env_id: str, preset: str = "", randomize: bool = False, render_mode: str | None = None
) -> Any:
    """``gymnasium.make(env_id, ...)``, importing ``sim`` first for the PyBullet pendulum."""
    kwargs = env_kwargs(env_id, preset, randomize)
    import gymnasium

    if env_id == PYBULLET_ENV_ID:
        try:
            import sim  # noqa: F401  (registers PyBulletPendulum-v0 with Gymnasium)
        except ImportError as exc:
            raise ConfigError(
                f"{env_id} needs the 'sim' package ({exc}); reinstall with 'pip install -e .'"
            ) from exc
    if render_mode is not None:
        kwargs["render_mode"] = render_mode
    try:
        return gymnasium.make(env_id, **kwargs)
    except gymnasium.error.Error as exc:
        known = ", ".join(sorted(k for k in gymnasium.registry if "Pendulum" in k))
        raise ConfigError(
            f"unknown environment id '{env_id}' ({type(exc).__name__}); try one of: {known}, "
            f"{PYBULLET_ENV_ID}"
        ) from None
    except TypeError as exc:  # an option the environment's constructor does not take
        raise ConfigError(f"cannot build '{env_id}' with {kwargs}: {exc}") from None


def env_factory(env_id: str, preset: str = "", randomize: bool = False) -> Callable[[], Any]:
    """A factory for the trainer, checked now so a bad id fails before training starts."""
    make_env(env_id, preset, randomize).close()
    return lambda: make_env(env_id, preset, randomize)
