"""The training runner on real Pendulum-v1 (short runs) and a small fake env: one path for a
single learner and a population, deterministic, resuming exactly, delivering one member as an
ordinary best.pt."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
import pytest
import torch
from gymnasium import spaces

from ddpg_control.learning.agent import actor_policy
from ddpg_control.learning.checkpoint import load_actor, load_checkpoint
from ddpg_control.learning.config import TrainConfig, load_config, with_overrides
from ddpg_control.learning.evaluation import (
    CONFIRM_SEED,
    EVAL_SEED,
    EvalResult,
    evaluate,
    evaluate_grid,
    starts,
)
from ddpg_control.learning.networks import Actor, Architecture
from ddpg_control.learning.trainer import (
    BALANCE_EPISODES,
    BALANCE_PRICE,
    BALANCE_SEED,
    UPRIGHT_START,
    Best,
    Trainer,
    better,
    episode_seed,
    member_seed,
    selection_score,
    train,
)
from ddpg_control.runtime.errors import CheckpointError, ConfigError
from ddpg_control.runtime.run_layout import BEST_CHECKPOINT, LAST_CHECKPOINT
from ddpg_control.runtime.vector_env import EnvList
from sim.pendulum_v1 import PendulumV1Batch

SHORT = [
    ("population", 1),
    ("total_steps", 600),
    ("learning_starts", 100),
    ("eval_every_steps", 200),
    ("eval_episodes", 1),
    ("final_eval_episodes", 1),
    ("stop.metric", "none"),
    ("agent.hidden_sizes", [16, 16]),
    ("upright_starts", 0.0),  # every episode from the env's own start distribution
]


def pendulum() -> Any:
    return gymnasium.make("Pendulum-v1")


def short_config(*extra: tuple[str, Any]) -> TrainConfig:
    return with_overrides(TrainConfig(), [*SHORT, *extra])


def networks(path: Path) -> dict[str, dict[str, torch.Tensor]]:
    return load_checkpoint(path)["networks"]


def assert_same_networks(a: Path, b: Path) -> None:
    na, nb = networks(a), networks(b)
    for name in ("actor", "critic", "actor_target", "critic_target"):
        for key, tensor in na[name].items():
            assert torch.equal(tensor, nb[name][key]), f"{name}.{key} differs"


@pytest.mark.parametrize("members", [1, 4])
def test_same_seed_gives_bit_identical_weights(tmp_path: Path, members: int) -> None:
    for name in ("a", "b"):
        config = short_config(("population", members))
        train(config, pendulum, tmp_path / name, tensorboard=False)
    assert_same_networks(tmp_path / "a" / LAST_CHECKPOINT, tmp_path / "b" / LAST_CHECKPOINT)
    train(
        short_config(("seed", 1), ("population", members)),
        pendulum,
        tmp_path / "c",
        tensorboard=False,
    )
    other = networks(tmp_path / "c" / LAST_CHECKPOINT)["actor"]
    mine = networks(tmp_path / "a" / LAST_CHECKPOINT)["actor"]
    assert any(not torch.equal(t, other[k]) for k, t in mine.items())


@pytest.mark.parametrize("members", [1, 4])
def test_resume_continues_exactly_where_the_run_stopped(tmp_path: Path, members: int) -> None:
    pop = ("population", members)
    train(short_config(pop), pendulum, tmp_path / "whole", tensorboard=False)
    train(short_config(pop, ("total_steps", 400)), pendulum, tmp_path / "split", tensorboard=False)
    result = train(
        short_config(pop),
        pendulum,
        tmp_path / "split",
        resume_from=tmp_path / "split" / LAST_CHECKPOINT,
        tensorboard=False,
    )
    assert result.env_steps == 600
    assert_same_networks(tmp_path / "whole" / LAST_CHECKPOINT, tmp_path / "split" / LAST_CHECKPOINT)
    whole = load_checkpoint(tmp_path / "whole" / BEST_CHECKPOINT)
    split = load_checkpoint(tmp_path / "split" / BEST_CHECKPOINT)
    assert whole["progress"] == split["progress"] | {
        "wall_time_s": whole["progress"]["wall_time_s"],
        "eval_time_s": whole["progress"]["eval_time_s"],
    }
    with (tmp_path / "split" / "metrics.csv").open() as fh:
        rows = [(int(r["env_steps"]), int(r["member"])) for r in csv.DictReader(fh)]
    assert rows == [(steps, k) for steps in (200, 400, 600) for k in range(members)]
    with pytest.raises(ConfigError, match="already at step 600"):
        train(
            short_config(pop),
            pendulum,
            tmp_path / "split",
            resume_from=tmp_path / "split" / LAST_CHECKPOINT,
        )


def test_a_population_delivers_one_member_as_an_ordinary_best_checkpoint(tmp_path: Path) -> None:
    result = train(short_config(("population", 3)), pendulum, tmp_path / "pop", tensorboard=False)
    actor, payload = load_actor(tmp_path / "pop" / BEST_CHECKPOINT)  # what export and run load
    assert actor(torch.zeros(3)).shape == (1,)
    population = payload["population"]
    assert population["size"] == 3 and population["member"] == result.member
    assert population["member_seed"] == member_seed(0, population["member"]) == result.member_seed
    assert payload["progress"]["eval_return"] == pytest.approx(result.final_eval.mean_return)
    with (tmp_path / "pop" / "metrics.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    best = max(rows, key=lambda r: float(r["eval_return_mean"]))  # the best evaluation's member
    assert (int(best["member"]), int(best["env_steps"])) == (
        result.member,
        payload["progress"]["env_steps"],
    )
    assert float(best["eval_return_mean"]) == pytest.approx(result.final_eval.mean_return)
    assert (tmp_path / "pop" / "learning_curve.png").stat().st_size > 0


def test_a_last_checkpoint_reads_as_its_best_member_and_resumes_only_its_own_size(
    tmp_path: Path,
) -> None:
    train(
        short_config(("population", 3), ("total_steps", 200)),
        pendulum,
        tmp_path / "pop",
        tensorboard=False,
    )
    last = tmp_path / "pop" / LAST_CHECKPOINT
    actor, payload = load_actor(last)
    member = payload["progress"]["member"]
    with (tmp_path / "pop" / "metrics.csv").open() as fh:
        returns = [float(r["eval_return_mean"]) for r in csv.DictReader(fh)]
    assert member == int(np.argmax(returns))
    stacked = payload["networks"]["actor"]["0.weight"]
    torch.testing.assert_close(actor.net[0].weight, stacked[member].t(), rtol=0, atol=0)
    with pytest.raises(CheckpointError, match="population of 3, not 1"):
        train(short_config(), pendulum, tmp_path / "pop", resume_from=last, tensorboard=False)
    with pytest.raises(CheckpointError, match="cannot be resumed"):
        train(
            short_config(("population", 3)),
            pendulum,
            tmp_path / "pop",
            resume_from=tmp_path / "pop" / BEST_CHECKPOINT,
            tensorboard=False,
        )


def test_early_stop_fires_when_the_best_member_is_confirmed(tmp_path: Path) -> None:
    config = short_config(
        ("population", 3),
        ("final_eval_episodes", 2),
        ("total_steps", 1000),
        ("stop.metric", "eval"),
        ("stop.goal_return", -5000.0),
    )
    result = train(config, pendulum, tmp_path / "stop", tensorboard=False)
    assert result.stopped_early and result.env_steps == 200
    payload = load_checkpoint(tmp_path / "stop" / BEST_CHECKPOINT)
    assert payload["progress"]["eval_episodes"] == 2 == len(result.final_eval.returns)
    assert payload["population"]["member"] == result.member


def test_the_delivered_policy_is_the_best_evaluation_so_far() -> None:
    def results(*means: float) -> list[EvalResult]:
        return [EvalResult(m, 0.0, (m,), balance=1.0) for m in means]

    first = better(None, results(-300.0, -200.0), env_steps=1000)
    assert first == Best(1, 1000, results(-200.0)[0])
    assert better(first, results(-250.0, -200.0), env_steps=2000) is None  # not strictly better
    assert better(first, results(-150.0, -900.0), env_steps=3000) == Best(
        0, 3000, results(-150.0)[0]
    )


def test_a_policy_that_balances_is_delivered_over_a_slightly_better_one_that_leans() -> None:
    def result(mean: float, balance: float) -> EvalResult:
        return EvalResult(mean, 0.0, (mean,), balance=balance)

    leaning, balancing = result(-140.0, 0.0), result(-150.0, 1.0)
    assert selection_score(leaning) == -140.0 - BALANCE_PRICE
    assert better(None, [leaning, balancing], env_steps=1000) == Best(1, 1000, balancing)
    much_better = result(-140.0 - BALANCE_PRICE / 2 + BALANCE_PRICE, 0.5)
    first = Best(1, 1000, balancing)
    assert better(first, [much_better], env_steps=2000) == Best(0, 2000, much_better)
    assert selection_score(EvalResult(-150.0, 0.0, (-150.0,))) == -150.0  # no balance test


def test_the_balance_test_tells_a_holding_policy_from_a_leaning_one(tmp_path: Path) -> None:
    trainer = Trainer(short_config(("population", 2)), pendulum, tmp_path, PendulumV1Batch)

    def policies(obs: np.ndarray) -> np.ndarray:
        cos, sin, velocity = obs[..., 0], obs[..., 1], obs[..., 2]
        angle = np.arctan2(sin, cos)
        hold = np.clip(-40.0 * angle - 8.0 * velocity, -2.0, 2.0)
        lean = np.clip(-40.0 * (angle - 0.05) - 8.0 * velocity, -2.0, 2.0)  # rests ~0.06 rad off
        return np.stack([hold[0], lean[1]])[..., None].astype(np.float32)  # row 0, row 1

    assert [r.balance for r in trainer.evaluate(policies, rows=2)] == [1.0, 0.0]
    trainer.close()


def test_balance_steps_extend_training_until_the_delivered_policy_balances(
    tmp_path: Path,
) -> None:
    config = short_config(("total_steps", 200), ("balance_steps", 200), ("eval_every_steps", 100))
    run = tmp_path / "run"
    result = train(config, pendulum, run, tensorboard=False, vector_env_factory=PendulumV1Batch)
    assert result.balance == 0.0  # 400 steps do not teach it to balance
    assert result.env_steps == 400
    with (run / "metrics.csv").open() as f:
        assert [int(row["env_steps"]) for row in csv.DictReader(f)] == [100, 200, 300, 400]

    trainer = Trainer(config, pendulum, tmp_path / "budget", PendulumV1Batch)
    trainer.env_steps = 200
    trainer.best = Best(0, 200, EvalResult(-150.0, 0.0, (-150.0,), balance=0.75))
    assert trainer.budget == 400
    trainer.env_steps = 300
    trainer.best = Best(0, 300, EvalResult(-150.0, 0.0, (-150.0,), balance=1.0))
    assert trainer.budget == 200  # the loop ends at this evaluation
    trainer.env_steps = 100
    trainer.best = Best(0, 100, EvalResult(-900.0, 0.0, (-900.0,), balance=0.0))
    assert trainer.budget == 200  # no extension before the budget is used
    trainer.close()


def test_upright_starts_draw_near_upright_from_the_learners_own_generator(tmp_path: Path) -> None:
    never = Trainer(short_config(("population", 2)), pendulum, tmp_path, PendulumV1Batch)
    always = Trainer(
        short_config(("population", 2), ("upright_starts", 0.999)),
        pendulum,
        tmp_path,
        PendulumV1Batch,
    )
    reference = pendulum()
    for trainer in (never, always):
        trainer.start_episodes([0, 1])
    for k, seed in enumerate(never.seeds):
        first = episode_seed(seed, 0)
        np.testing.assert_array_equal(never.obs[k], reference.reset(seed=first)[0])
        near = reference.reset(seed=first, options=dict(UPRIGHT_START))[0]
        np.testing.assert_array_equal(always.obs[k], near)  # Pendulum-v1's own options
        angle = np.arctan2(always.obs[k, 1], always.obs[k, 0])
        assert abs(angle) <= UPRIGHT_START["x_init"] and abs(always.obs[k, 2]) <= 1.0
    for trainer in (never, always):
        trainer.close()
    reference.close()
    with pytest.raises(ConfigError, match="upright_starts"):
        short_config(("upright_starts", 1.0))


def test_a_confirming_evaluation_starts_where_no_periodic_evaluation_started() -> None:
    periodic = set(range(EVAL_SEED, EVAL_SEED + TrainConfig().final_eval_episodes * 8))
    confirming = set(range(CONFIRM_SEED, CONFIRM_SEED + TrainConfig().final_eval_episodes))
    balance = set(range(BALANCE_SEED, BALANCE_SEED + BALANCE_EPISODES))
    assert not periodic & confirming and not confirming & balance and not periodic & balance


def test_member_seeds_are_distinct_and_member_zero_is_the_run_seed() -> None:
    seeds = [member_seed(7, k) for k in range(8)]
    assert seeds[0] == 7
    assert len(set(seeds)) == 8
    assert member_seed(1, 0) not in {member_seed(0, k) for k in range(1, 8)}


def test_steps_store_each_transition_and_restart_episodes_from_their_seeds(tmp_path: Path) -> None:
    config = short_config(("population", 2), ("learning_starts", 50), ("noise.kind", "ou"))
    trainer = Trainer(config, pendulum, tmp_path)  # Pendulum-v1: 200-step episodes
    trainer.start_episodes([0, 1])
    first_obs = trainer.obs.copy()
    trainer.exploration.noises[1].sample()
    finished = [trainer.step() for _ in range(200)]
    assert finished[:-1] == [[]] * 199
    replay = trainer.replay
    assert [k for k, _ in finished[-1]] == [0, 1]
    for k, episode_return in finished[-1]:
        assert episode_return == pytest.approx(float(replay.reward[k, :200].sum()), rel=1e-5)
    assert (trainer.env_steps, trainer.episodes, len(replay)) == (200, 2, 200)
    reference = pendulum()
    for k, seed in enumerate(trainer.seeds):
        np.testing.assert_array_equal(first_obs[k], reference.reset(seed=episode_seed(seed, 0))[0])
        np.testing.assert_array_equal(
            trainer.obs[k], reference.reset(seed=episode_seed(seed, 1))[0]
        )
        np.testing.assert_array_equal(replay.obs[k, 1:200], replay.next_obs[k, :199])
        assert trainer.exploration.noises[k].state[0] == 0.0  # each episode restarts the noise
    assert not replay.terminated[:, :200].any()  # the time limit is truncation
    trainer.close()
    reference.close()


@pytest.mark.parametrize("vectorised", [False, True])
def test_side_by_side_evaluation_matches_the_one_episode_at_a_time_evaluation(
    vectorised: bool,
) -> None:
    torch.manual_seed(0)
    actor = Actor(Architecture(3, 1, (16, 16), 2.0))
    envs = PendulumV1Batch(4) if vectorised else EnvList([pendulum() for _ in range(3)])
    side_by_side = evaluate_grid(actor_policy(actor), envs, rows=1, columns=starts(11, 5))
    one_by_one = evaluate(actor_policy(actor), pendulum(), episodes=5, seed=11)
    np.testing.assert_allclose(side_by_side.returns[0], one_by_one.returns, rtol=1e-4)
    envs.close()


def test_the_vectorised_pendulum_trains_the_same_learners_as_gymnasiums(tmp_path: Path) -> None:
    config = short_config(("population", 3), ("total_steps", 200))
    train(config, pendulum, tmp_path / "gym", tensorboard=False)
    train(config, pendulum, tmp_path / "vec", tensorboard=False, vector_env_factory=PendulumV1Batch)
    assert_same_networks(tmp_path / "gym" / LAST_CHECKPOINT, tmp_path / "vec" / LAST_CHECKPOINT)


class FallingPoint(gymnasium.Env[np.ndarray, np.ndarray]):
    """x' = x + a * dt with a drift; terminates when |x| > 1, truncated after 15 steps."""

    dt = 0.1

    def __init__(self) -> None:
        self.observation_space = spaces.Box(-np.inf, np.inf, (3,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.x, self.t = 0.0, 0

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.x, self.t = float(self.np_random.uniform(-0.5, 0.5)), 0
        return self._obs(), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.x += (float(action[0]) + 0.5) * self.dt * 3
        self.t += 1
        terminated = abs(self.x) > 1.0
        return self._obs(), -abs(self.x), terminated, self.t >= 15 and not terminated, {}

    def _obs(self) -> np.ndarray:
        return np.array([self.x, self.t / 15, 1.0], np.float32)


def test_truncation_is_stored_as_not_terminal(tmp_path: Path) -> None:
    config = short_config(("total_steps", 400), ("buffer_size", 1000))
    train(config, FallingPoint, tmp_path / "fake", tensorboard=False)
    replay = load_checkpoint(tmp_path / "fake" / LAST_CHECKPOINT)["replay"]
    terminated = replay["terminated"].numpy()[0]
    x_next = replay["next_obs"].numpy()[0, :, 0]
    steps = np.round(replay["next_obs"].numpy()[0, :, 1] * 15)
    np.testing.assert_array_equal(terminated, (np.abs(x_next) > 1.0).astype(np.float32))
    truncated = (steps == 15) & (np.abs(x_next) <= 1.0)
    assert truncated.any() and terminated.any()
    assert not terminated[truncated].any()


def test_training_return_stop_rule_stops_once_the_window_is_full(tmp_path: Path) -> None:
    config = short_config(
        ("total_steps", 2000),
        ("stop.metric", "train"),
        ("stop.goal_return", -5000.0),
        ("stop.window_episodes", 2),
    )
    result = train(config, pendulum, tmp_path / "stop", tensorboard=False)
    assert result.stopped_early
    assert result.env_steps == 400  # first evaluation after two finished episodes


def test_run_directory_layout_and_checkpoint_contract(trained_run: Path) -> None:
    for name in ("config.toml", "metrics.csv", "learning_curve.png", LAST_CHECKPOINT):
        assert (trained_run / name).is_file(), name
    assert list((trained_run / "tensorboard").glob("events.out.tfevents.*"))
    config = load_config(trained_run / "config.toml")
    payload = load_checkpoint(trained_run / BEST_CHECKPOINT)
    assert TrainConfig.from_dict(payload["config"]) == config
    env = payload["env"]
    assert env["id"] == "Pendulum-v1"
    assert env["control_period_s"] == pytest.approx(0.05)
    assert env["max_torque_nm"] == 2.0
    assert env["randomize"] is False
    assert set(env["params"]) == {"g", "m", "l", "dt", "max_speed", "max_torque"}
    progress = payload["progress"]
    assert {"env_steps", "episodes", "eval_return", "wall_time_s"} <= set(progress)
    assert isinstance(progress["eval_return"], float)
    with (trained_run / "metrics.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert rows, "metrics.csv has no evaluation rows"
    assert int(rows[-1]["env_steps"]) >= progress["env_steps"] > 0
    stopped_early = int(rows[-1]["env_steps"]) < config.total_steps
    confirmed = config.final_eval_episodes if stopped_early else config.eval_episodes
    assert progress["eval_episodes"] == confirmed


@pytest.mark.slow
def test_short_real_training_run_learns_to_swing_up(trained_run: Path) -> None:
    """The session's real run improved the return from a random policy's to a swing-up's."""
    with (trained_run / "metrics.csv").open() as fh:
        first = float(next(csv.DictReader(fh))["eval_return_mean"])
    actor, payload = load_actor(trained_run / BEST_CHECKPOINT)
    env = pendulum()
    result = evaluate(actor_policy(actor), env, episodes=30, seed=0)
    env.close()
    assert first < -900  # before learning: the pendulum hangs or spins
    assert result.mean_return > -200  # after: swung up and held from every start
    assert payload["progress"]["eval_return"] > -200


@pytest.mark.parametrize(
    ("period_s", "gamma"), [(0.05, 0.99), (0.01, 0.99**0.2), (0.005, 0.99**0.1)]
)
def test_the_update_discounts_each_step_by_the_discount_per_second_at_the_envs_period(
    tmp_path: Path, period_s: float, gamma: float
) -> None:
    from sim.params import PendulumParams

    params = PendulumParams(control_period_s=period_s)
    trainer = Trainer(
        short_config(), lambda: gymnasium.make("PyBulletPendulum-v0", params=params), tmp_path
    )
    try:
        assert trainer.agent.gamma == pytest.approx(gamma, rel=1e-14)
        assert trainer.env_info["episode_steps"] == round(10.0 / period_s)
    finally:
        trainer.close()
    if period_s == 0.05:
        assert trainer.agent.gamma == 0.99  # exactly: the default at 20 Hz
