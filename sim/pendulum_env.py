"""``PyBulletPendulum-v0``: Gymnasium's inverted-pendulum swing-up, simulated by PyBullet."""

from __future__ import annotations

import math
import time
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
import numpy.typing as npt
from gymnasium import spaces

from ddpg_control.runtime.contracts import (
    DEFAULT_EPISODE_S,
    Observation,
    episode_steps,
    make_observation,
    wrap_angle,
)
from ddpg_control.runtime.velocity_estimation import (
    EstimatorSpec,
    VelocityEstimator,
    default_estimator,
)
from sim.actuator import noisy_torque
from sim.bullet_pendulum import PendulumBody
from sim.params import PendulumParams, RandomizationRanges, SimConfigError, preset
from sim.sensor import measure

RENDER_SIZE_PX = 320
#: Rewards are costs per this much time: one step of Pendulum-v1. At another control period a
#: step's reward is scaled by ``period / REWARD_PERIOD_S``, so an episode's return (and a
#: critic's values) mean the same at every rate.
REWARD_PERIOD_S = 0.05


class PyBulletPendulumEnv(gym.Env[Observation, npt.NDArray[np.float32]]):
    """Swing a torque-driven pendulum up and hold it upright; physics by PyBullet.

    ## Description

    A uniform rod (mass ``m``, length ``l``) turns about one end in a vertical plane, driven by
    a torque motor at the pivot. It starts at a random angle and must be swung up and balanced.
    With the ``"default"`` preset this is Gymnasium's ``Pendulum-v1``, step for step: from the
    same state and torques the angle stays within 1e-6 rad of it for a whole episode (measured:
    at most 4e-12 rad), velocity saturation included. The ``"realistic"`` preset and
    ``randomize=True`` make it harder, so a policy that survives them has a chance on a real
    motor.

    Angle convention: theta = 0 is upright, positive is counter-clockwise (as seen by the
    renderer's camera), radians. Dynamics (before friction, damping, latency):
    ``theta_ddot = 3 g / (2 l) sin(theta) + 3 u / (m l^2)``, with the velocity clipped to
    ``max_velocity_rad_s``. How PyBullet is set up to compute exactly this is written in
    :mod:`sim.bullet_pendulum`.

    ## Action space

    ``Box(-max_torque_nm, max_torque_nm, (1,), float32)``:

    | Num | Action                         | Min  | Max | Unit |
    |-----|--------------------------------|------|-----|------|
    | 0   | torque at the pivot, + is CCW  | -2.0 | 2.0 | N*m  |

    Actions outside the box are clipped (as in Pendulum-v1). The torque is held for the whole
    control period (zero-order hold), after ``action_latency_s``.

    ## Observation space

    ``Box([-1, -1, -max_velocity_rad_s], [1, 1, max_velocity_rad_s], (3,), float32)``, built by
    :func:`ddpg_control.runtime.contracts.make_observation`:

    | Num | Observation        | Min  | Max | Unit  |
    |-----|--------------------|------|-----|-------|
    | 0   | cos(theta)         | -1.0 | 1.0 |       |
    | 1   | sin(theta)         | -1.0 | 1.0 |       |
    | 2   | theta_dot          | -8.0 | 8.0 | rad/s |

    With sensor noise (``angle_noise_std_rad``, ``velocity_noise_std_rad_s``) the observation is
    built from the noisy reading, the velocity clipped to the box; the reward is not noisy.
    The reading is ``measurement_delay_s`` old and quantised to ``encoder_counts_per_rev``
    (:mod:`sim.sensor`). When ``reports_velocity`` is false, ``theta_dot`` is the estimate of
    :attr:`velocity_estimator` (:mod:`ddpg_control.runtime.velocity_estimation`) from the
    angle readings, the same estimator ``ddpg-control run`` applies to the deployed policy.

    ## Rewards

    As Pendulum-v1: ``r = -(theta_n^2 + 0.1 theta_dot^2 + 0.001 u^2)`` with ``theta_n`` the angle
    wrapped to [-pi, pi), ``theta_dot`` the state before the step and ``u`` the clipped torque.
    The range is [-16.27, 0]. At a control period other than Pendulum-v1's 50 ms the reward is
    multiplied by ``control_period_s / 0.05`` (:data:`REWARD_PERIOD_S`): the cost is a rate
    integrated over time, so a 10 s episode's return is on the same scale at 20 Hz and 200 Hz.

    ## Starting state

    ``theta`` uniform in [-pi, pi], ``theta_dot`` uniform in [-1, 1] rad/s, drawn from the env's
    ``np_random`` exactly as Pendulum-v1 draws them (same seed, same start).
    ``reset(options={"state": (theta_rad, theta_dot_rad_s)})`` starts from a given state;
    ``reset(options={"x_init": a, "y_init": v})`` draws from [-a, a] x [-v, v] instead, as
    Pendulum-v1's own options do (``x_init`` = 0.3 starts near upright).

    ## Episode end

    Never terminates. Truncated after ``episode_s`` seconds (default 10):
    ``round(episode_s / control_period_s)`` steps (:attr:`max_episode_steps`), 200 at the
    default 20 Hz as Pendulum-v1, 1000 at 100 Hz. The env truncates itself, so the duration
    holds at any rate; ``gymnasium.make(..., max_episode_steps=N)`` can still add a step limit.

    ## Arguments

    * ``preset``: ``"default"`` (Pendulum-v1) or ``"realistic"`` (physics at 1 kHz inside each
      50 ms control period, Coulomb friction 0.05 N*m with 0.08 N*m stiction, damping 0.02
      N*m*s/rad, 5 ms torque response, torque and sensor noise, 5 ms latency, a 4096-count
      encoder read 2 ms late, no velocity reported); see :data:`sim.params.PRESETS`.
    * ``params``: a :class:`~sim.params.PendulumParams`, overrides ``preset``.
    * ``episode_s``: the episode's duration in seconds (see Episode end).
    * ``randomize``: draw mass, length, damping, friction, latency, motor time constant and
      measurement delay every episode from
      ``ranges`` (default :class:`~sim.params.RandomizationRanges`), using the env's
      ``np_random`` after the start state. ``params`` stays the nominal set;
      ``episode_params`` is the current draw.
    * ``render_mode``: ``"rgb_array"`` returns frames (320x320x3 uint8) headless;
      ``"human"`` opens the PyBullet window and runs in real time.

    Invalid parameters raise :class:`~sim.params.SimConfigError` (a ``ConfigError``) here.

    ## Version history

    * v0: first version; episodes and rewards in time (``episode_s``, reward per 50 ms) so
      that a rig's own control period keeps the task, identical at the default 20 Hz.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 20}

    def __init__(
        self,
        preset: str = "default",
        randomize: bool = False,
        params: PendulumParams | None = None,
        render_mode: str | None = None,
        ranges: RandomizationRanges | None = None,
        episode_s: float = DEFAULT_EPISODE_S,
    ) -> None:
        if params is not None and not isinstance(params, PendulumParams):
            raise SimConfigError(f"params must be a PendulumParams, got {type(params).__name__}")
        if ranges is not None and not isinstance(ranges, RandomizationRanges):
            raise SimConfigError(
                f"ranges must be a RandomizationRanges, got {type(ranges).__name__}"
            )
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise SimConfigError(
                f"render_mode must be one of {self.metadata['render_modes']} or None, "
                f"got {render_mode!r}"
            )
        nominal = params if params is not None else _preset(preset)
        self.params = nominal
        self.preset = preset if params is None else "custom"
        self.randomize = bool(randomize)
        self.ranges = ranges if ranges is not None else RandomizationRanges()
        self.episode_params = nominal
        self.dt = nominal.control_period_s
        try:
            #: Steps of one episode: ``episode_s`` at this control period.
            self.max_episode_steps = episode_steps(episode_s, self.dt)
        except (TypeError, ValueError) as exc:
            raise SimConfigError(f"episode_s: {exc}") from None
        self.episode_s = float(episode_s)
        self._reward_scale = self.dt / REWARD_PERIOD_S
        self._elapsed_steps = 0
        self.render_mode = render_mode
        self.metadata = {**self.metadata, "render_fps": max(1, round(1.0 / self.dt))}
        torque = np.array([nominal.max_torque_nm], dtype=np.float32)
        self.action_space = spaces.Box(low=-torque, high=torque, dtype=np.float32)
        high = np.array([1.0, 1.0, nominal.max_velocity_rad_s], dtype=np.float32)
        self.observation_space = spaces.Box(low=-high, high=high, dtype=np.float32)
        self.last_torque_nm: float | None = None
        self._body = PendulumBody(nominal, gui=render_mode == "human")
        self._body.reset_state(math.pi, 0.0)
        #: The velocity estimator behind ``theta_dot`` (None: the plant's own velocity).
        self.velocity_estimator: EstimatorSpec | None = (
            None
            if nominal.reports_velocity
            else default_estimator(nominal.control_period_s, nominal.max_velocity_rad_s)
        )
        self._estimator: VelocityEstimator | None = (
            None if self.velocity_estimator is None else self.velocity_estimator.build()
        )
        self._last_frame_time_s: float | None = None

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Observation, dict[str, Any]]:
        super().reset(seed=seed)
        options = options or {}
        unknown = sorted(set(options) - {"state", "x_init", "y_init"})
        if unknown:
            raise SimConfigError(
                f"unknown reset option(s) {unknown}; known: 'state', 'x_init', 'y_init'"
            )
        if "state" in options:
            angle_rad, velocity_rad_s = _state_option(options["state"])
        else:
            high = start_range(options)
            angle_rad, velocity_rad_s = (float(v) for v in self.np_random.uniform(-high, high))
        if self.randomize:
            self.episode_params = self.ranges.sample(self.np_random, self.params)
            self._body.configure(self.episode_params)
        self._body.reset_state(angle_rad, velocity_rad_s)
        self._body.rng = self.np_random
        if self._estimator is not None:
            self._estimator.reset()
        self.last_torque_nm = None
        self._last_frame_time_s = None
        self._elapsed_steps = 0
        if self.render_mode == "human":
            self.render()
        return self._observe(), {}

    def step(
        self, action: npt.NDArray[np.float32]
    ) -> tuple[Observation, SupportsFloat, bool, bool, dict[str, Any]]:
        limit = self.episode_params.max_torque_nm
        torque = np.clip(np.asarray(action, dtype=np.float32).reshape(-1), -limit, limit)[0]
        angle_rad, velocity_rad_s = self._body.state()
        cost = wrap_angle(angle_rad) ** 2 + 0.1 * velocity_rad_s**2 + 0.001 * float(torque**2)
        torque_nm = float(torque)
        produced_nm = noisy_torque(torque_nm, self.episode_params, self.np_random)
        self._body.advance(produced_nm, self.episode_params.physics_substeps)
        self.last_torque_nm = torque_nm
        self._elapsed_steps += 1
        if self.render_mode == "human":
            self.render()
        truncated = self._elapsed_steps >= self.max_episode_steps
        return self._observe(), -cost * self._reward_scale, False, truncated, {}

    def _observe(self) -> Observation:
        angle_rad, velocity_rad_s = measure(
            *self._body.measured_state(), self.episode_params, self.np_random
        )
        if self._estimator is not None:
            velocity_rad_s = self._estimator.update(wrap_angle(angle_rad))
        limit = self.params.max_velocity_rad_s
        return make_observation(angle_rad, min(max(velocity_rad_s, -limit), limit))

    @property
    def state(self) -> tuple[float, float]:
        """The true ``(theta_rad, theta_dot_rad_s)``, theta unwrapped as in Pendulum-v1."""
        return self._body.state()

    def render(self) -> npt.NDArray[np.uint8] | None:  # type: ignore[override]
        if self.render_mode == "rgb_array":
            return self._body.render_rgb(RENDER_SIZE_PX, RENDER_SIZE_PX)
        if self.render_mode == "human":
            # The GUI draws itself; keep the pace of the real pendulum.
            now = time.monotonic()
            if self._last_frame_time_s is not None:
                time.sleep(max(0.0, self._last_frame_time_s + self.dt - now))
            self._last_frame_time_s = time.monotonic()
        return None

    def close(self) -> None:
        self._body.close()
        super().close()


def _preset(name: str) -> PendulumParams:
    if not isinstance(name, str):
        raise SimConfigError(f"preset must be a preset name, got {name!r}")
    return preset(name)


def _state_option(state: Any) -> tuple[float, float]:
    try:
        angle_rad, velocity_rad_s = (float(v) for v in state)
    except (TypeError, ValueError):
        raise SimConfigError(
            f"reset option 'state' must be (theta_rad, theta_dot_rad_s), got {state!r}"
        ) from None
    if not (math.isfinite(angle_rad) and math.isfinite(velocity_rad_s)):
        raise SimConfigError(f"reset option 'state' must be finite, got {state!r}")
    return angle_rad, velocity_rad_s


def start_range(options: dict[str, Any]) -> npt.NDArray[np.float64]:
    """The half-widths ``[angle_rad, velocity_rad_s]`` of the uniform start-state draw:
    Pendulum-v1's (pi, 1) unless ``options`` names ``x_init``/``y_init``, as Pendulum-v1's
    ``reset(options=...)`` takes them."""
    high = np.array([float(options.get("x_init", math.pi)), float(options.get("y_init", 1.0))])
    if not (np.all(np.isfinite(high)) and np.all(high >= 0)):
        raise SimConfigError(f"x_init and y_init must be finite and >= 0, got {high.tolist()}")
    return high
