"""Population training: ``config.population`` = K independent DDPG learners in one process.

Member k has its own seed (:func:`member_seed`), environment, replay buffer, exploration noise
and generator, exactly as a single-learner run with that seed has; only the networks are shared
work: stacked (:class:`~ddpg_control.learning.stacked.StackedAgent`), so one update costs far
less than K. The K environments step together, one stacked actor call per step.

Every ``eval_every_steps`` all members are evaluated on the same start states (``EVAL_SEED +
i``); the best member of the best evaluation so far is ``best.pt``, a single-learner checkpoint
(``export`` and ``run`` take it unchanged) that also records which member and seed it is. The
stop rule sees the best member of each evaluation, so the early stop fires as soon as one member
is confirmed. ``last.pt`` holds the whole population, for ``--resume``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ddpg_control.learning.agent import DDPGAgent, Exploration
from ddpg_control.learning.checkpoint import (
    architecture_of,
    describe_env,
    load_checkpoint,
    save_checkpoint,
)
from ddpg_control.learning.config import TrainConfig
from ddpg_control.learning.early_stop import EvalOutcome, GoalReached, make_stop_rule
from ddpg_control.learning.evaluation import EvalResult
from ddpg_control.learning.evaluator import EVAL_SEED
from ddpg_control.learning.networks import Actor, Architecture
from ddpg_control.learning.noise import make_noise
from ddpg_control.learning.population_log import PopulationLog
from ddpg_control.learning.replay_buffer import Batch, ReplayBuffer
from ddpg_control.learning.rollout import episode_seed
from ddpg_control.learning.run_log import EvalRow
from ddpg_control.learning.stacked import StackedAgent
from ddpg_control.runtime.errors import CheckpointError
from ddpg_control.runtime.run_layout import BEST_CHECKPOINT, LAST_CHECKPOINT

log = logging.getLogger(__name__)

LOG_UPDATE_EVERY_STEPS = 200
PROGRESS_EVERY_STEPS = 100


def member_seed(seed: int, member: int) -> int:
    """Member 0 uses the run's seed; the others seeds derived from it, independent of other
    runs' (run seed 1's member 0 is not run seed 0's member 1)."""
    if member == 0:
        return seed
    return int(np.random.SeedSequence(seed, spawn_key=(member,)).generate_state(1)[0])


#: A batched policy: observations ``[n, obs_dim]`` -> torques ``[n, act_dim]`` in N*m.
BatchPolicy = Callable[[np.ndarray], np.ndarray]


def evaluate_lockstep(policy: BatchPolicy, envs: list[Any], episodes: int, seed: int) -> EvalResult:
    """:func:`~ddpg_control.learning.evaluation.evaluate` with ``len(envs)`` episodes at a time:
    episode i still starts from ``reset(seed=seed + i)``, so the figures compare."""
    returns = np.zeros(episodes)
    shape = envs[0].action_space.shape
    for first in range(0, episodes, len(envs)):
        batch = list(range(first, min(first + len(envs), episodes)))
        obs = np.stack([envs[j].reset(seed=seed + i)[0] for j, i in enumerate(batch)])
        running = list(range(len(batch)))
        while running:
            actions = policy(obs).astype(np.float32)
            still = []
            for j in running:
                o, reward, terminated, truncated, _ = envs[j].step(actions[j].reshape(shape))
                obs[j] = o
                returns[batch[j]] += float(reward)
                if not (terminated or truncated):
                    still.append(j)
            running = still
    return EvalResult(float(returns.mean()), float(returns.std()), tuple(returns.tolist()))


def actor_batch_policy(actor: Actor) -> BatchPolicy:
    actor.eval()

    def policy(obs: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return actor(torch.from_numpy(obs.astype(np.float32))).numpy()

    return policy


class Member:
    """One learner's own parts: seed, generator, exploration, replay buffer, environment."""

    def __init__(self, seed: int, env: Any, eval_env: Any, config: TrainConfig, act_dim: int):
        self.seed = seed
        #: Warm-up torques, exploration noise and replay sampling, as in a single-learner run.
        self.rng = np.random.default_rng(seed)
        n = config.noise
        self.noise = make_noise(n.kind, act_dim, n.sigma, n.theta, self.rng)
        self.env = env
        self.eval_env = eval_env
        obs_dim = int(np.prod(env.observation_space.shape))
        self.buffer = ReplayBuffer(config.buffer_size, obs_dim, act_dim)
        self.episodes = 0
        self.episode_return = 0.0
        self.obs: np.ndarray = np.zeros(obs_dim, dtype=np.float32)

    def start_episode(self) -> None:
        self.obs, _ = self.env.reset(seed=episode_seed(self.seed, self.episodes))
        self.episode_return = 0.0
        self.noise.reset()


class PopulationTrainer:
    """The runner for K members: :meth:`run` mirrors the single learner's loop."""

    def __init__(self, config: TrainConfig, env_factory: Callable[[], Any], run_dir: Path):
        self.config = config
        self.run_dir = run_dir
        torch.set_num_threads(config.torch_threads)
        size = config.population
        seeds = [member_seed(config.seed, k) for k in range(size)]
        self.members: list[Member] = []
        first_env = env_factory()
        self.env_info = describe_env(first_env, config.env.randomize)
        obs_dim = int(np.prod(first_env.observation_space.shape))
        act_dim = int(np.prod(first_env.action_space.shape))
        self.arch = Architecture(
            obs_dim, act_dim, config.agent.hidden_sizes, self.env_info["max_torque_nm"]
        )
        agents = []
        for k, s in enumerate(seeds):
            env = first_env if k == 0 else env_factory()
            member = Member(s, env, env_factory(), config, act_dim)
            self.members.append(member)
            torch.manual_seed(s)
            exploration = Exploration(config.learning_starts, member.noise, member.rng)
            agents.append(DDPGAgent(self.arch, config.agent, exploration))
        self.agent = StackedAgent(self.arch, config.agent, agents)
        #: Confirming and final evaluations run K episodes side by side on the members'
        #: evaluation envs, one batched actor call per step for all of them.
        self.lockstep_envs = [m.eval_env for m in self.members]
        self.stop_rule = make_stop_rule(config.stop)
        self.env_steps = 0
        self.best_return: float | None = None
        self.best_member: int | None = None
        #: The member whose most recent periodic evaluation was the best.
        self.last_best = 0
        self.eval_time_s = 0.0
        self.wall_time_s = 0.0

    @property
    def seeds(self) -> list[int]:
        return [m.seed for m in self.members]

    def close(self) -> None:
        for m in self.members:
            m.env.close()
            m.eval_env.close()

    # -- rollout and update ------------------------------------------------------------------
    def step(self) -> list[tuple[int, float]]:
        """One transition per member; returns (member, return) of the episodes that ended."""
        max_nm = self.arch.max_torque_nm
        act_dim = self.arch.act_dim
        explore = self.env_steps >= self.config.learning_starts
        mu = self.agent.act(np.stack([m.obs for m in self.members])) if explore else None
        finished = []
        for k, m in enumerate(self.members):
            if mu is None:
                action = m.rng.uniform(-max_nm, max_nm, size=act_dim)
            else:
                action = np.clip(mu[k] + max_nm * m.noise.sample(), -max_nm, max_nm)
            action_nm = action.astype(np.float32)
            next_obs, reward, terminated, truncated, _ = m.env.step(action_nm)
            m.buffer.add(m.obs, action_nm, float(reward), next_obs, bool(terminated))
            m.obs = next_obs
            m.episode_return += float(reward)
            if terminated or truncated:
                finished.append((k, m.episode_return))
                m.episodes += 1
                m.start_episode()
        self.env_steps += 1
        return finished

    def sample(self) -> Batch:
        """Each member's minibatch from its own buffer and generator, stacked ``[K, ...]``."""
        batches = [m.buffer.sample(self.config.agent.batch_size, m.rng) for m in self.members]
        return Batch(*(np.stack(parts) for parts in zip(*batches, strict=True)))

    # -- evaluation --------------------------------------------------------------------------
    def evaluate_members(self, episodes: int) -> list[EvalResult]:
        """Every member, deterministic, from the same start states as the single learner's
        evaluation (episode i from ``EVAL_SEED + i``); the members' envs step together."""
        start = time.perf_counter()
        returns = np.zeros((len(self.members), episodes))
        shape = self.members[0].eval_env.action_space.shape
        for i in range(episodes):
            obs = np.stack([m.eval_env.reset(seed=EVAL_SEED + i)[0] for m in self.members])
            running = list(range(len(self.members)))
            while running:
                actions = self.agent.act(obs).astype(np.float32)
                still = []
                for k in running:
                    env = self.members[k].eval_env
                    o, r, terminated, truncated, _ = env.step(actions[k].reshape(shape))
                    obs[k] = o
                    returns[k, i] += float(r)
                    if not (terminated or truncated):
                        still.append(k)
                running = still
        self.eval_time_s += time.perf_counter() - start
        return [EvalResult(float(r.mean()), float(r.std()), tuple(r.tolist())) for r in returns]

    def evaluate_member(self, k: int, episodes: int) -> EvalResult:
        return evaluate_lockstep(
            lambda obs: self.agent.act_member(k, obs), self.lockstep_envs, episodes, EVAL_SEED
        )

    def confirm(self, k: int) -> EvalResult:
        """Member k over ``final_eval_episodes``, as the single learner confirms."""
        start = time.perf_counter()
        result = self.evaluate_member(k, self.config.final_eval_episodes)
        self.eval_time_s += time.perf_counter() - start
        log.info(
            "step %d: member %d confirming evaluation %.1f", self.env_steps, k, result.mean_return
        )
        return result

    # -- the loop ----------------------------------------------------------------------------
    def run(self, runlog: PopulationLog, on_progress: Callable[[Any], None] | None) -> Any:
        from ddpg_control.learning.trainer import Progress

        cfg = self.config
        start = time.perf_counter() - self.wall_time_s
        last_returns: dict[int, float] = {}
        last_eval: float | None = None
        metrics = np.full((len(self.members), 3), np.nan)
        goal: GoalReached | None = None
        winner: int | None = None

        def report() -> None:
            if on_progress is not None:
                ret = float(np.mean(list(last_returns.values()))) if last_returns else None
                episodes = sum(m.episodes for m in self.members)
                on_progress(Progress(self.env_steps, cfg.total_steps, episodes, ret, last_eval))

        for m in self.members:
            m.start_episode()
        while self.env_steps < cfg.total_steps:
            for k, episode_return in self.step():
                last_returns[k] = episode_return
                runlog.episode(k, self.env_steps, episode_return)
            if self.env_steps >= cfg.learning_starts:
                metrics = self.agent.update(self.sample())
                if self.env_steps % LOG_UPDATE_EVERY_STEPS == 0:
                    runlog.update(self.env_steps, metrics)
            if self.env_steps % PROGRESS_EVERY_STEPS == 0:
                report()
            if self.env_steps % cfg.eval_every_steps == 0 or self.env_steps == cfg.total_steps:
                results = self.evaluate_members(cfg.eval_episodes)
                self.wall_time_s = time.perf_counter() - start
                runlog.evaluation(
                    [
                        self.metrics_row(results[k], metrics[k], runlog, k)
                        for k in range(len(results))
                    ]
                )
                k = self.last_best = int(np.argmax([r.mean_return for r in results]))
                improved = self.best_return is None or results[k].mean_return > self.best_return
                if improved:
                    self.best_return, self.best_member = results[k].mean_return, k
                    self.save_best(k, results[k], eval_episodes=None)
                last_eval = results[k].mean_return
                self.save_last(results[k].mean_return)
                report()
                goal = self.stop_rule.check(
                    EvalOutcome(results[k], improved),
                    runlog.episode_returns[k],
                    lambda k=k: self.confirm(k),  # type: ignore[misc]
                )
                if goal is not None:
                    winner = k
                    if goal.confirmation is not None:
                        self.save_best(k, goal.confirmation, len(goal.confirmation.returns))
                    break
        self.wall_time_s = time.perf_counter() - start
        return self.finish(goal, winner)

    def metrics_row(
        self, result: EvalResult, metrics: np.ndarray, runlog: PopulationLog, k: int
    ) -> EvalRow:
        recent = runlog.episode_returns[k][-10:]
        return EvalRow(
            self.env_steps,
            self.members[k].episodes,
            round(self.wall_time_s, 3),
            round(self.eval_time_s, 3),
            float(np.mean(recent)) if recent else float("nan"),
            result.mean_return,
            result.std_return,
            *(float(v) for v in metrics),
        )

    def finish(self, goal: GoalReached | None, winner: int | None) -> Any:
        from ddpg_control.learning.trainer import TrainResult

        final = goal.confirmation if goal is not None else None
        if final is None:
            final, winner = self.choose_best()
        self.best_member = winner
        log.info(
            "best checkpoint: member %s, mean return %.1f over %d episodes",
            winner,
            final.mean_return,
            len(final.returns),
        )
        return TrainResult(
            self.run_dir,
            self.env_steps,
            sum(m.episodes for m in self.members),
            self.wall_time_s,
            self.best_return,
            final,
            stopped_early=goal is not None and self.env_steps < self.config.total_steps,
            population=len(self.members),
            member=winner,
            member_seed=None if winner is None else self.members[winner].seed,
        )

    def choose_best(self) -> tuple[EvalResult, int]:
        """best.pt against the last weights of the member whose last evaluation was best, each
        over ``final_eval_episodes``; the better becomes best.pt with that figure."""
        episodes = self.config.final_eval_episodes
        best_path = self.run_dir / BEST_CHECKPOINT
        best_state = load_checkpoint(best_path)
        actor = Actor(architecture_of(best_state, best_path))
        actor.load_state_dict(best_state["networks"]["actor"])
        final = evaluate_lockstep(
            actor_batch_policy(actor), self.lockstep_envs, episodes, EVAL_SEED
        )
        winner = int(best_state["population"]["member"])
        k = self.last_best
        last = self.evaluate_member(k, episodes)
        if last.mean_return > final.mean_return:
            final, winner = last, k
            best_state = self.member_state(k, last.mean_return, len(last.returns))
        best_state.pop("format_version", None)
        best_state["progress"].update(
            eval_return=final.mean_return, eval_episodes=len(final.returns)
        )
        save_checkpoint(best_path, best_state)
        return final, winner

    # -- checkpoints -------------------------------------------------------------------------
    def member_state(self, k: int, eval_return: float, eval_episodes: int | None) -> dict[str, Any]:
        """Member k as a single-learner checkpoint (what ``export`` and ``run`` read)."""
        return {
            "architecture": self.arch.to_dict(),
            "networks": self.agent.member_networks(k),
            "config": self.config.to_dict(),
            "env": self.env_info,
            "progress": {
                "eval_episodes": eval_episodes or self.config.eval_episodes,
                "env_steps": self.env_steps,
                "episodes": self.members[k].episodes,
                "eval_return": eval_return,
                "best_eval_return": self.best_return,
                "wall_time_s": self.wall_time_s,
                "eval_time_s": self.eval_time_s,
            },
            "population": {
                "size": len(self.members),
                "member": k,
                "member_seed": self.members[k].seed,
                "run_seed": self.config.seed,
            },
        }

    def save_best(self, k: int, evaluation: EvalResult, eval_episodes: int | None) -> None:
        state = self.member_state(k, evaluation.mean_return, eval_episodes)
        save_checkpoint(self.run_dir / BEST_CHECKPOINT, state)

    def save_last(self, eval_return: float) -> None:
        """The whole population, with replay buffers and generators: what resuming needs."""
        members = []
        for m in self.members:
            noise_state = getattr(m.noise, "state", None)
            members.append(
                {
                    "seed": m.seed,
                    "episodes": m.episodes,
                    "numpy": m.rng.bit_generator.state,
                    "noise_state": None
                    if noise_state is None
                    else torch.from_numpy(np.asarray(noise_state)),
                    "replay": {
                        key: torch.from_numpy(v) if isinstance(v, np.ndarray) else v
                        for key, v in m.buffer.state_dict().items()
                    },
                }
            )
        state = {
            "architecture": self.arch.to_dict(),
            "networks": self.agent.networks_state(),
            "optimizers": self.agent.optimizers_state(),
            "config": self.config.to_dict(),
            "env": self.env_info,
            "progress": {
                "env_steps": self.env_steps,
                "episodes": sum(m.episodes for m in self.members),
                "eval_return": eval_return,
                "best_eval_return": self.best_return,
                "best_member": self.best_member,
                "last_best_member": self.last_best,
                "wall_time_s": self.wall_time_s,
                "eval_time_s": self.eval_time_s,
            },
            "population": {"size": len(self.members), "members": members},
        }
        save_checkpoint(self.run_dir / LAST_CHECKPOINT, state)

    def restore(self, path: Path) -> None:
        """Continue from a population's ``last.pt``."""
        state = load_checkpoint(path)
        population = state.get("population")
        if not isinstance(population, dict) or "members" not in population:
            raise CheckpointError(
                f"checkpoint '{path}' is not a population's {LAST_CHECKPOINT}; resume it "
                f"without --population, or pass the population run's {LAST_CHECKPOINT}"
            )
        if int(population["size"]) != len(self.members):
            raise CheckpointError(
                f"checkpoint '{path}' holds a population of {population['size']}, not "
                f"{len(self.members)}; resume with the run's own --population"
            )
        if architecture_of(state, path) != self.arch:
            raise CheckpointError(
                f"checkpoint '{path}' was trained with another architecture "
                f"({state['architecture']}); resume with the run's own config"
            )
        try:
            self.agent.load_state(state["networks"], state["optimizers"])
            for m, saved in zip(self.members, population["members"], strict=True):
                if int(saved["seed"]) != m.seed:
                    raise ValueError(f"member seed {saved['seed']} is not {m.seed}")
                m.rng.bit_generator.state = saved["numpy"]
                if saved.get("noise_state") is not None and hasattr(m.noise, "state"):
                    m.noise.state = saved["noise_state"].numpy().astype(np.float64)
                m.buffer.load_state_dict(
                    {
                        k: v.numpy() if isinstance(v, torch.Tensor) else v
                        for k, v in saved["replay"].items()
                    }
                )
                m.episodes = int(saved["episodes"])
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            raise CheckpointError(f"checkpoint '{path}' cannot be resumed: {exc}") from exc
        progress = state["progress"]
        self.env_steps = int(progress["env_steps"])
        self.best_return = progress.get("best_eval_return")
        self.best_member = progress.get("best_member")
        self.last_best = int(progress.get("last_best_member") or 0)
        self.eval_time_s = float(progress.get("eval_time_s", 0.0))
        self.wall_time_s = float(progress["wall_time_s"])
        log.info(
            "resumed a population of %d from %s at step %d", len(self.members), path, self.env_steps
        )
