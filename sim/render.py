"""Recording an episode of the pendulum as an animated GIF (pillow), headless.

``ddpg-control eval --record swingup.gif`` uses this; so can a script::

    env = gym.make("PyBulletPendulum-v0", render_mode="rgb_array")
    frames = record_episode(env, policy, seed=0)
    save_gif(frames, "swingup.gif", fps=env.metadata["render_fps"])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

from sim.params import SimConfigError

Frame = npt.NDArray[np.uint8]


def _caption(frame: Frame, text: str) -> Frame:
    image = Image.fromarray(frame)
    ImageDraw.Draw(image).text((8, 6), text, fill=(20, 20, 20))
    return np.asarray(image)


def record_episode(
    env: Any,
    policy: Callable[[np.ndarray], Any],
    *,
    seed: int = 0,
    max_steps: int | None = None,
    caption: bool = True,
) -> list[Frame]:
    """Run one episode of ``policy`` (observation -> torque in N*m) and return its frames.

    ``env`` must have been made with ``render_mode="rgb_array"``. The episode is deterministic
    (``reset(seed=seed)``, no exploration noise). Each frame is captioned with the time, the
    torque and the return so far unless ``caption`` is false.
    """
    if getattr(env, "render_mode", None) != "rgb_array":
        raise SimConfigError("record_episode needs an env made with render_mode='rgb_array'")
    dt = float(getattr(env.unwrapped, "dt", 0.05))
    obs, _ = env.reset(seed=seed)
    frames: list[Frame] = []
    total, step, torque = 0.0, 0, 0.0
    while True:
        frame = np.asarray(env.render(), dtype=np.uint8)
        if caption:
            frame = _caption(frame, f"t={step * dt:5.2f} s  u={torque:+.2f} N*m  R={total:8.1f}")
        frames.append(frame)
        if max_steps is not None and step >= max_steps:
            break
        action = np.asarray(policy(obs), dtype=np.float32).reshape(env.action_space.shape)
        torque = float(action.reshape(-1)[0])
        obs, reward, terminated, truncated, _ = env.step(action)
        total += float(reward)
        step += 1
        if terminated or truncated:
            frame = np.asarray(env.render(), dtype=np.uint8)
            if caption:
                text = f"t={step * dt:5.2f} s  u={torque:+.2f} N*m  R={total:8.1f}"
                frame = _caption(frame, text)
            frames.append(frame)
            break
    return frames


def save_gif(frames: Sequence[Frame], path: str | Path, *, fps: float = 20.0) -> Path:
    """Write ``frames`` (H x W x 3 uint8) as an animated GIF that loops forever."""
    path = Path(path)
    if not frames:
        raise SimConfigError("no frames to write; record at least one step")
    if path.suffix.lower() != ".gif":
        raise SimConfigError(f"the recording must be a .gif file, got {str(path)!r}")
    if fps <= 0:
        raise SimConfigError(f"fps must be > 0, got {fps!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    images = [Image.fromarray(np.asarray(f, dtype=np.uint8)) for f in frames]
    images[0].save(
        path,
        save_all=True,
        append_images=images[1:],
        duration=max(20, round(1000.0 / fps)),
        loop=0,
        optimize=False,
    )
    return path
