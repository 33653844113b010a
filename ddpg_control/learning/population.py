"""Population training: ``config.population`` = K independent DDPG learners in one process.

Member k has its own seed (:func:`member_seed`), environment, replay buffer, exploration noise
and generator, exactly as a single-learner run with that seed has. What costs per member is done
for all K at once: the networks are stacked (:class:`~ddpg_control.learning.stacked.StackedAgent`),
so one update costs far less than K; the K environments are one
:class:`~ddpg_control.learning.vector_env.VectorEnv` stepped with one stacked actor call per step;
the K replay buffers are one :class:`~ddpg_control.learning.replay_buffer.StackedReplay`, written
and sampled with one array operation each.

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

from ddpg_control.learning.agent import DDPGAgent, Exploration, actor_policy
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
from ddpg_control.learning.replay_buffer import Batch, StackedReplay
from ddpg_control.learning.rollout import episode_seed
from ddpg_control.learning.run_log import EvalRow
from ddpg_control.learning.stacked import StackedAgent
from ddpg_control.learning.vector_env import (
    EnvList,
    VectorEnv,
    VectorEnvFactory,
    evaluate_grid,
)
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


def as_result(returns: np.ndarray) -> EvalResult:
    return EvalResult(float(returns.mean()), float(returns.std()), tuple(returns.tolist()))


class Member:
    """One learner's own parts: seed, generator and exploration noise (its replay buffer is row
    k of the population's :class:`StackedReplay`, its environment copy k of the training
    envs)."""

    def __init__(self, seed: int, config: TrainConfig, act_dim: int):
        self.seed = seed
        #: Warm-up torques, exploration noise and replay sampling, as in a single-learner run.
        self.rng = np.random.default_rng(seed)
        n = config.noise
        self.noise = make_noise(n.kind, act_dim, n.sigma, n.theta, self.rng)
        self.episodes = 0
        self.episode_return = 0.0

    def next_episode_seed(self) -> int:
        self.episode_return = 0.0
        self.noise.reset()
        return episode_seed(self.seed, self.episodes)


class PopulationTrainer:
    """The runner for K members: :meth:`run` mirrors the single learner's loop.

    ``vector_env_factory`` (``n`` -> a :class:`VectorEnv` of ``n`` copies) steps the K training
    environments and the evaluations' episodes with one call each; where it is cheap (a
    vectorised implementation), the evaluations run all their episodes side by side. Without
    it, K environments from ``env_factory`` are stepped in a loop (:class:`EnvList`), for
    training and, K episodes at a time, for evaluation.
    """

    def __init__(
        self,
        config: TrainConfig,
        env_factory: Callable[[], Any],
        run_dir: Path,
        vector_env_factory: VectorEnvFactory | None = None,
    ):
        self.config = config
        self.run_dir = run_dir
        torch.set_num_threads(config.torch_threads)
        size = config.population
        seeds = [member_seed(config.seed, k) for k in range(size)]
        probe = env_factory()
        try:
            self.env_info = describe_env(probe, config.env.randomize)
            obs_dim = int(np.prod(probe.observation_space.shape))
            act_dim = int(np.prod(probe.action_space.shape))
        finally:
            probe.close()
        self.arch = Architecture(
            obs_dim, act_dim, config.agent.hidden_sizes, self.env_info["max_torque_nm"]
        )
        self.members: list[Member] = []
        agents = []
        for s in seeds:
            member = Member(s, config, act_dim)
            self.members.append(member)
            torch.manual_seed(s)
            exploration = Exploration(config.learning_starts, member.noise, member.rng)
            agents.append(DDPGAgent(self.arch, config.agent, exploration))
        self.agent = StackedAgent(self.arch, config.agent, agents)
        self.replay = StackedReplay(size, config.buffer_size, obs_dim, act_dim)
        if vector_env_factory is None:
            self.envs: VectorEnv = EnvList.of(env_factory, size)
            #: Evaluations run K episodes side by side, one per env.
            self.eval_envs: VectorEnv = EnvList.of(env_factory, size)
        else:
            self.envs = vector_env_factory(size)
            episodes = max(size * config.eval_episodes, config.final_eval_episodes)
            self.eval_envs = vector_env_factory(episodes)
        self.obs = np.zeros((size, obs_dim), dtype=np.float32)
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
        self.envs.close()
        self.eval_envs.close()

    # -- rollout and update ------------------------------------------------------------------
    def start_episodes(self, members: list[int]) -> None:
        seeds = [self.members[k].next_episode_seed() for k in members]
        self.obs[members] = self.envs.reset(seeds, members)

    def step(self) -> list[tuple[int, float]]:
        """One transition per member; returns (member, return) of the episodes that ended."""
        max_nm = self.arch.max_torque_nm
        act_dim = self.arch.act_dim
        if self.env_steps < self.config.learning_starts:
            action = np.stack([m.rng.uniform(-max_nm, max_nm, size=act_dim) for m in self.members])
        else:
            noise = np.stack([m.noise.sample() for m in self.members])
            action = np.clip(self.agent.act(self.obs) + max_nm * noise, -max_nm, max_nm)
        action_nm = action.astype(np.float32)
        out = self.envs.step(action_nm)
        self.replay.add(self.obs, action_nm, out.reward, out.obs, out.terminated)
        self.obs = out.obs.copy()
        finished = []
        for k, m in enumerate(self.members):
            m.episode_return += float(out.reward[k])
        ended = np.flatnonzero(out.terminated | out.truncated).tolist()
        for k in ended:
            m = self.members[k]
            finished.append((k, m.episode_return))
            m.episodes += 1
        if ended:
            self.start_episodes(ended)
        self.env_steps += 1
        return finished

    def sample(self) -> Batch:
        """Each member's minibatch from its own buffer and generator, stacked ``[K, ...]``."""
        return self.replay.sample(self.config.agent.batch_size, [m.rng for m in self.members])

    # -- evaluation --------------------------------------------------------------------------
    def evaluate_members(self, episodes: int) -> list[EvalResult]:
        """Every member, deterministic, from the same start states as the single learner's
        evaluation (episode i from ``EVAL_SEED + i``); one stacked actor call per step."""
        start = time.perf_counter()
        returns = evaluate_grid(
            self.agent.act_grid, self.eval_envs, len(self.members), episodes, EVAL_SEED
        )
        self.eval_time_s += time.perf_counter() - start
        return [as_result(r) for r in returns]

    def evaluate_member(self, k: int, episodes: int) -> EvalResult:
        def policy(obs: np.ndarray) -> np.ndarray:
            return self.agent.act_member(k, obs[0])[None]

        return as_result(evaluate_grid(policy, self.eval_envs, 1, episodes, EVAL_SEED)[0])

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

        self.start_episodes(list(range(len(self.members))))
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
        final = as_result(
            evaluate_grid(actor_policy(actor), self.eval_envs, 1, episodes, EVAL_SEED)[0]
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
        for k, m in enumerate(self.members):
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
                        for key, v in self.replay.state_dict(k).items()
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
            for k, (m, saved) in enumerate(zip(self.members, population["members"], strict=True)):
                if int(saved["seed"]) != m.seed:
                    raise ValueError(f"member seed {saved['seed']} is not {m.seed}")
                m.rng.bit_generator.state = saved["numpy"]
                if saved.get("noise_state") is not None and hasattr(m.noise, "state"):
                    m.noise.state = saved["noise_state"].numpy().astype(np.float64)
                self.replay.load_state_dict(
                    k,
                    {
                        k: v.numpy() if isinstance(v, torch.Tensor) else v
                        for k, v in saved["replay"].items()
                    },
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
