"""Recording an episode as an animated GIF, headless."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from PIL import Image

import sim  # noqa: F401  (registers the env)
from ddpg_control.runtime.errors import ConfigError
from sim.render import record_episode, save_gif


def pump(obs: np.ndarray) -> np.ndarray:
    """Torque along the motion: swings the pendulum higher every period."""
    return np.array([2.0 if obs[2] >= 0 else -2.0], dtype=np.float32)


def test_recorded_episode_is_a_looping_gif_of_moving_frames(tmp_path: Path) -> None:
    env = gym.make("PyBulletPendulum-v0", render_mode="rgb_array")
    frames = record_episode(env, pump, seed=1, max_steps=30)
    env.close()
    assert len(frames) == 31  # the start and one frame per step
    path = save_gif(frames, tmp_path / "out" / "swing.gif", fps=20)
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames == 31
        assert gif.size == (320, 320)
        assert gif.info["duration"] == 50 and gif.info["loop"] == 0
        gif.seek(0)
        first = np.asarray(gif.convert("RGB"))
        gif.seek(30)
        last = np.asarray(gif.convert("RGB"))
    assert (first != last).any(axis=2).sum() > 500  # the pendulum moved


def test_a_whole_episode_ends_at_truncation(tmp_path: Path) -> None:
    env = gym.make("PyBulletPendulum-v0", render_mode="rgb_array")
    frames = record_episode(env, pump, seed=0, caption=False)
    env.close()
    assert len(frames) == 201


def test_recording_needs_rgb_array_and_a_gif_path(tmp_path: Path) -> None:
    env = gym.make("PyBulletPendulum-v0")
    with pytest.raises(ConfigError, match="rgb_array"):
        record_episode(env, pump)
    env.close()
    frame = np.zeros((8, 8, 3), dtype=np.uint8)
    with pytest.raises(ConfigError, match=r"\.gif"):
        save_gif([frame], tmp_path / "movie.mp4")
    with pytest.raises(ConfigError, match="no frames"):
        save_gif([], tmp_path / "empty.gif")
