"""PyBulletPendulum-v0 as a Gymnasium environment: checker, seeding, reset options, rendering."""

from __future__ import annotations

import math
import warnings

import gymnasium as gym
import numpy as np
import pybullet
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.utils.passive_env_checker import env_render_passive_checker

import sim
from ddpg_control.runtime.contracts import make_observation
from ddpg_control.runtime.errors import ConfigError
from sim.params import PendulumParams, RandomizationRanges
from sim.pendulum_env import PyBulletPendulumEnv


@pytest.mark.parametrize("kwargs", [{}, {"preset": "realistic", "randomize": True}])
def test_gymnasium_env_checker_passes(kwargs: dict[str, object]) -> None:
    env = gym.make("PyBulletPendulum-v0", **kwargs)
    with warnings.catch_warnings():
        # The one warning the checker gives Pendulum-v1 too: the torque box is not [-1, 1].
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message=".*symmetric and normalized space.*")
        # The "human" render mode needs a display; rgb_array is checked below.
        check_env(env.unwrapped, skip_render_check=True)
    env.close()


def test_both_registration_spellings_work() -> None:
    assert sim.PYBULLET_ENV_ID in gym.registry
    for env_id in ("sim:PyBulletPendulum-v0", "PyBulletPendulum-v0"):
        env = gym.make(env_id)
        assert env.unwrapped.max_episode_steps == 200
        assert env.unwrapped.dt == 0.05
        assert env.unwrapped.params.to_dict()["mass_kg"] == 1.0
        env.close()


def rollout(seed: int, **kwargs: object) -> list[np.ndarray]:
    env = gym.make("PyBulletPendulum-v0", **kwargs)
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    out = [obs]
    for _ in range(60):
        obs, reward, *_ = env.step(env.action_space.sample())
        out += [obs, np.array([reward])]
    env.close()
    return out


@pytest.mark.parametrize("kwargs", [{}, {"preset": "realistic", "randomize": True}])
def test_two_seeded_rollouts_are_identical(kwargs: dict[str, object]) -> None:
    first, second, other = rollout(5, **kwargs), rollout(5, **kwargs), rollout(6, **kwargs)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_reset_from_a_given_state() -> None:
    env = gym.make("PyBulletPendulum-v0")
    obs, info = env.reset(seed=0, options={"state": (math.pi, 0.5)})
    np.testing.assert_array_equal(obs, make_observation(math.pi, 0.5))
    assert info == {}
    assert env.unwrapped.state == (math.pi, 0.5)
    with pytest.raises(ConfigError, match="state"):
        env.reset(options={"state": (1.0,)})
    with pytest.raises(ConfigError, match="finite"):
        env.reset(options={"state": (math.nan, 0.0)})
    with pytest.raises(ConfigError, match="unknown reset option"):
        env.reset(options={"start": 1.0})
    env.close()


def test_reset_draws_from_pendulum_v1s_narrower_start_range_when_asked() -> None:
    env, reference = gym.make("PyBulletPendulum-v0"), gym.make("Pendulum-v1")
    near = {"x_init": 0.3, "y_init": 1.0}
    for seed in range(5):
        obs, _ = env.reset(seed=seed, options=near)
        np.testing.assert_allclose(obs, reference.reset(seed=seed, options=near)[0], atol=1e-6)
        angle, velocity = env.unwrapped.state
        assert abs(angle) <= 0.3 and abs(velocity) <= 1.0
    with pytest.raises(ConfigError, match="x_init"):
        env.reset(options={"x_init": -1.0})
    env.close()
    reference.close()


def test_randomized_episodes_draw_parameters_within_the_ranges() -> None:
    ranges = RandomizationRanges(mass_kg=(0.5, 0.6), length_m=None, action_latency_s=None)
    env = gym.make("PyBulletPendulum-v0", preset="realistic", randomize=True, ranges=ranges)
    drawn = []
    for seed in range(5):
        env.reset(seed=seed)
        params = env.unwrapped.episode_params
        assert 0.5 <= params.mass_kg <= 0.6
        assert params.length_m == 1.0  # None keeps the nominal value
        drawn.append(params.mass_kg)
    assert len(set(drawn)) == 5
    assert env.unwrapped.params.mass_kg == 1.0  # the nominal set is not changed
    env.close()


def test_realistic_preset_is_harder_than_default() -> None:
    """Friction and damping take energy out: a free swing from horizontal loses height."""
    top = {}
    for name in ("default", "realistic"):
        env = gym.make("PyBulletPendulum-v0", preset=name)
        env.reset(seed=0, options={"state": (math.pi / 2, 0.0)})
        heights = []
        for _ in range(200):
            env.step(np.zeros(1, dtype=np.float32))
            heights.append(math.cos(env.unwrapped.state[0]))
        top[name] = max(heights[-60:])  # highest point over the last 3 s (a full swing)
        env.close()
    assert top["default"] == pytest.approx(0.0, abs=0.1)  # no losses: still reaches horizontal
    assert top["realistic"] < -0.5  # settling towards hanging down (cos = -1)


def test_rgb_array_frames_are_headless_images() -> None:
    env = gym.make("PyBulletPendulum-v0", render_mode="rgb_array")
    env.reset(seed=0, options={"state": (0.0, 0.0)})
    env_render_passive_checker(env.unwrapped)
    upright = env.render()
    env.reset(options={"state": (math.pi / 2, 0.0)})
    sideways = env.render()
    assert upright.shape == (320, 320, 3) and upright.dtype == np.uint8
    assert (upright < 200).any(axis=2).sum() > 500  # the rod is visible
    assert not np.array_equal(upright, sideways)
    # Upright: rod pixels above the pivot. theta = +pi/2 (counter-clockwise): rod to the left.
    rod_up = np.argwhere((upright[:, :, 0] > 150) & (upright[:, :, 1] < 120))
    rod_side = np.argwhere((sideways[:, :, 0] > 150) & (sideways[:, :, 1] < 120))
    assert rod_up[:, 0].mean() < 150 and abs(rod_up[:, 1].mean() - 160) < 20
    assert rod_side[:, 1].mean() < 150 and abs(rod_side[:, 0].mean() - 160) < 20
    env.close()


def test_human_mode_without_a_display_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(ConfigError, match="rgb_array"):
        gym.make("PyBulletPendulum-v0", render_mode="human")


def test_many_envs_created_and_closed_do_not_leak_physics_clients() -> None:
    ids = []
    for _ in range(150):
        env = gym.make("PyBulletPendulum-v0")
        env.reset(seed=0)
        client_id = env.unwrapped._body.client_id
        ids.append(client_id)
        env.close()
        env.close()  # twice is fine
        assert pybullet.getConnectionInfo(physicsClientId=client_id)["isConnected"] == 0
    # Closed clients are reused, so the ids stay few (PyBullet allows 1024 at once).
    assert len(set(ids)) <= 2
    # Dropped without close(): garbage collection disconnects it.
    env = gym.make("PyBulletPendulum-v0")
    client_id = env.unwrapped._body.client_id
    del env
    import gc

    gc.collect()
    assert pybullet.getConnectionInfo(physicsClientId=client_id)["isConnected"] == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"preset": "fast"}, "unknown simulator preset"),
        ({"params": PendulumParams(), "ranges": {"mass_kg": (1, 2)}}, "RandomizationRanges"),
        ({"params": {"mass_kg": 1.0}}, "PendulumParams"),
        ({"render_mode": "ascii"}, "render_mode"),
    ],
)
@pytest.mark.filterwarnings("ignore:.*not in the possible render_modes")
def test_bad_constructor_arguments_raise_config_errors(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        gym.make("PyBulletPendulum-v0", **kwargs)


@pytest.mark.parametrize(("rate_hz", "steps"), [(20, 200), (100, 1000), (200, 2000)])
def test_an_episode_lasts_its_seconds_at_the_rigs_rate(rate_hz: int, steps: int) -> None:
    params = PendulumParams(control_period_s=1.0 / rate_hz)
    env = gym.make("PyBulletPendulum-v0", params=params)
    env.reset(seed=0)
    truncated_at = [
        i for i in range(1, steps + 1) if env.step(np.zeros(1, np.float32))[3]
    ]  # every step, so a late or early end shows
    env.close()
    assert truncated_at == [steps]


def test_the_episode_duration_is_an_argument() -> None:
    env = gym.make("PyBulletPendulum-v0", params=PendulumParams(control_period_s=0.01), episode_s=3)
    assert env.unwrapped.max_episode_steps == 300
    env.close()
    for bad in (0.0, -2.0, math.nan, 0.001):
        with pytest.raises(ConfigError, match="episode_s"):
            PyBulletPendulumEnv(episode_s=bad)


def test_a_steps_reward_is_its_cost_over_the_steps_duration() -> None:
    """The same state and torque cost 1/5 as much per 10 ms step as per 50 ms step, so a 10 s
    return is on one scale at every rate; at 50 ms it is Pendulum-v1's reward."""
    rewards = {}
    for period_s in (0.05, 0.01):
        env = gym.make("PyBulletPendulum-v0", params=PendulumParams(control_period_s=period_s))
        env.reset(options={"state": (0.5, -1.0)})
        rewards[period_s] = float(env.step(np.array([1.5], np.float32))[1])
        env.close()
    cost = 0.5**2 + 0.1 * 1.0**2 + 0.001 * 1.5**2
    assert rewards[0.05] == -cost
    assert rewards[0.01] == pytest.approx(-cost * 0.2, rel=1e-12)
