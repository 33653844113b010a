"""The training runner. It orchestrates, step by step: roll out (act, step, store), update,
evaluate and save checkpoints, ask the early-stop rule, finish. The algorithm lives in
:mod:`ddpg_control.learning.agent`, the stop rules in :mod:`ddpg_control.learning.early_stop`,
the files in :mod:`ddpg_control.learning.run_log`."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ddpg_control.learning.agent import DDPGAgent, Exploration, UpdateMetrics
from ddpg_control.learning.checkpoint import (
    describe_env,
    load_checkpoint,
    load_resumable,
    save_checkpoint,
)
from ddpg_control.learning.config import TrainConfig, to_toml
from ddpg_control.learning.early_stop import EvalOutcome, GoalReached, make_stop_rule
from ddpg_control.learning.evaluation import EvalResult
from ddpg_control.learning.evaluator import Evaluator
from ddpg_control.learning.networks import Architecture
from ddpg_control.learning.noise import make_noise
from ddpg_control.learning.replay_buffer import ReplayBuffer
from ddpg_control.learning.rollout import Rollout
from ddpg_control.learning.run_log import EvalRow, RunLog
from ddpg_control.learning.vector_env import VectorEnvFactory
from ddpg_control.runtime.errors import CheckpointError, ConfigError
from ddpg_control.runtime.run_layout import BEST_CHECKPOINT, CONFIG_FILE, LAST_CHECKPOINT

log = logging.getLogger(__name__)

#: Builds a fresh environment; the trainer makes one for training and one for evaluation.
EnvFactory = Callable[[], Any]

#: Update metrics go to TensorBoard every this many env steps; progress goes out every
#: ``PROGRESS_EVERY_STEPS`` and after each evaluation.
LOG_UPDATE_EVERY_STEPS = 200
PROGRESS_EVERY_STEPS = 100


@dataclass(frozen=True)
class Progress:
    """What the live progress display shows; sent every ~100 steps and after evaluations."""

    env_steps: int
    total_steps: int
    episodes: int
    episode_return: float | None
    eval_return: float | None


@dataclass(frozen=True)
class TrainResult:
    run_dir: Path
    env_steps: int
    episodes: int
    wall_time_s: float
    best_eval_return: float | None
    final_eval: EvalResult
    stopped_early: bool
    #: Population runs: how many members, and which member (and its seed) is best.pt.
    population: int = 1
    member: int | None = None
    member_seed: int | None = None


class _Trainer:
    def __init__(self, config: TrainConfig, env_factory: EnvFactory, run_dir: Path) -> None:
        self.config = config
        self.run_dir = run_dir
        torch.set_num_threads(config.torch_threads)
        torch.manual_seed(config.seed)
        #: One generator for warm-up torques, exploration noise and replay sampling.
        self.rng = np.random.default_rng(config.seed)
        self.env = env_factory()
        self.evaluator = Evaluator(env_factory())
        self.env_info = describe_env(self.env, config.env.randomize)
        obs_dim = int(np.prod(self.env.observation_space.shape))
        act_dim = int(np.prod(self.env.action_space.shape))
        max_torque_nm = self.env_info["max_torque_nm"]
        self.arch = Architecture(obs_dim, act_dim, config.agent.hidden_sizes, max_torque_nm)
        n = config.noise
        noise = make_noise(n.kind, act_dim, n.sigma, n.theta, self.rng)
        exploration = Exploration(config.learning_starts, noise, self.rng)
        self.agent = DDPGAgent(self.arch, config.agent, exploration)
        self.buffer = ReplayBuffer(config.buffer_size, obs_dim, act_dim)
        self.rollout = Rollout(self.env, self.agent, self.buffer, config.seed)
        self.stop_rule = make_stop_rule(config.stop)
        self.wall_time_s = 0.0

    def close(self) -> None:
        self.env.close()
        self.evaluator.env.close()

    # -- the loop ----------------------------------------------------------------------------
    def run(self, runlog: RunLog, on_progress: Callable[[Progress], None] | None) -> TrainResult:
        cfg = self.config
        rollout = self.rollout
        start = time.perf_counter() - self.wall_time_s
        last_return: float | None = None
        last_eval: float | None = None
        metrics = UpdateMetrics(float("nan"), float("nan"), float("nan"))
        goal: GoalReached | None = None

        def report() -> None:
            if on_progress is not None:
                steps, episodes = rollout.env_steps, rollout.episodes
                on_progress(Progress(steps, cfg.total_steps, episodes, last_return, last_eval))

        rollout.start()
        while rollout.env_steps < cfg.total_steps:
            episode_return = rollout.step()
            if episode_return is not None:
                last_return = episode_return
                runlog.episode(rollout.env_steps, episode_return)
            if rollout.env_steps >= cfg.learning_starts:
                metrics = self.agent.update(self.buffer.sample(cfg.agent.batch_size, self.rng))
                if rollout.env_steps % LOG_UPDATE_EVERY_STEPS == 0:
                    runlog.update(rollout.env_steps, *metrics)
            if rollout.env_steps % PROGRESS_EVERY_STEPS == 0:
                report()
            if self.evaluation_due():
                outcome = self.periodic_evaluation(runlog, metrics, start)
                last_eval = outcome.result.mean_return
                report()
                goal = self.stop_rule.check(
                    outcome, runlog.episode_returns, self.confirming_evaluation
                )
                if goal is not None:
                    if goal.confirmation is not None:
                        confirmation = goal.confirmation
                        self.save_best(confirmation, len(confirmation.returns))
                    break
        self.wall_time_s = time.perf_counter() - start
        return self.finish(goal)

    def evaluation_due(self) -> bool:
        steps = self.rollout.env_steps
        return steps % self.config.eval_every_steps == 0 or steps == self.config.total_steps

    def periodic_evaluation(
        self, runlog: RunLog, metrics: UpdateMetrics, start: float
    ) -> EvalOutcome:
        """Evaluate, log a metrics row, save best.pt (if this evaluation is the best so far)
        and last.pt."""
        outcome = self.evaluator.periodic(self.agent.actor, self.config.eval_episodes)
        self.wall_time_s = time.perf_counter() - start
        runlog.evaluation(self.metrics_row(outcome.result, metrics, runlog))
        if outcome.improved:
            self.save_best(outcome.result, eval_episodes=None)
        last = self.checkpoint_state(outcome.result.mean_return, with_replay=True)
        save_checkpoint(self.run_dir / LAST_CHECKPOINT, last)
        return outcome

    def metrics_row(self, result: EvalResult, metrics: UpdateMetrics, runlog: RunLog) -> EvalRow:
        """The line of ``metrics.csv`` for an evaluation now."""
        recent = runlog.episode_returns[-10:]
        return EvalRow(
            self.rollout.env_steps,
            self.rollout.episodes,
            round(self.wall_time_s, 3),
            round(self.evaluator.time_s, 3),
            float(np.mean(recent)) if recent else float("nan"),
            result.mean_return,
            result.std_return,
            *metrics,
        )

    def confirming_evaluation(self) -> EvalResult:
        """A stop rule's second opinion, over ``final_eval_episodes``."""
        result = self.evaluator.timed(self.agent.actor, self.config.final_eval_episodes)
        log.info("step %d: confirming evaluation %.1f", self.rollout.env_steps, result.mean_return)
        return result

    def finish(self, goal: GoalReached | None) -> TrainResult:
        """The final figure: a confirmed goal's evaluation, or else the better of the best and
        the last weights over ``final_eval_episodes`` (which becomes best.pt)."""
        final = goal.confirmation if goal is not None else None
        if final is None:
            final = self.choose_best()
        log.info(
            "best checkpoint: mean return %.1f over %d episodes",
            final.mean_return,
            len(final.returns),
        )
        return TrainResult(
            self.run_dir,
            self.rollout.env_steps,
            self.rollout.episodes,
            self.wall_time_s,
            self.evaluator.best_return,
            final,
            stopped_early=goal is not None and self.rollout.env_steps < self.config.total_steps,
        )

    # -- checkpoints -------------------------------------------------------------------------
    def save_best(self, evaluation: EvalResult, eval_episodes: int | None) -> None:
        """The current weights as best.pt, with ``evaluation`` as their figure (over
        ``eval_episodes``; None: the periodic evaluation's number)."""
        best = self.checkpoint_state(
            evaluation.mean_return, with_replay=False, eval_episodes=eval_episodes
        )
        save_checkpoint(self.run_dir / BEST_CHECKPOINT, best)

    def choose_best(self) -> EvalResult:
        """Evaluate the last weights and best.pt's over ``final_eval_episodes``; save the better
        as best.pt with that evaluation as its figure, and return it."""
        episodes = self.config.final_eval_episodes
        best_path = self.run_dir / BEST_CHECKPOINT
        last = self.evaluator.evaluate(self.agent.actor, episodes)
        last_state = self.checkpoint_state(
            last.mean_return, with_replay=False, eval_episodes=len(last.returns)
        )
        best_state = load_checkpoint(best_path)
        self.agent.actor.load_state_dict(best_state["networks"]["actor"])
        final = self.evaluator.evaluate(self.agent.actor, episodes)
        if last.mean_return > final.mean_return:
            final, best_state = last, last_state
        best_state.pop("format_version", None)
        best_state["progress"].update(
            eval_return=final.mean_return, eval_episodes=len(final.returns)
        )
        save_checkpoint(best_path, best_state)
        return final

    def checkpoint_state(
        self, eval_return: float | None, *, with_replay: bool, eval_episodes: int | None = None
    ) -> dict[str, Any]:
        """Everything a checkpoint holds (layout: :mod:`ddpg_control.learning.checkpoint`);
        ``with_replay`` adds the replay buffer, which resuming needs."""
        noise_state = self.agent.noise_state()
        state: dict[str, Any] = {
            "architecture": self.arch.to_dict(),
            "networks": self.agent.networks_state(),
            "optimizers": self.agent.optimizers_state(),
            "config": self.config.to_dict(),
            "env": self.env_info,
            "progress": {
                "eval_episodes": eval_episodes or self.config.eval_episodes,
                "env_steps": self.rollout.env_steps,
                "episodes": self.rollout.episodes,
                "eval_return": eval_return,
                "best_eval_return": self.evaluator.best_return,
                "wall_time_s": self.wall_time_s,
                "eval_time_s": self.evaluator.time_s,
            },
            "rng": {
                "numpy": self.rng.bit_generator.state,
                "torch": torch.get_rng_state(),
                "noise_state": None if noise_state is None else torch.from_numpy(noise_state),
            },
        }
        if with_replay:
            state["replay"] = {
                k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v
                for k, v in self.buffer.state_dict().items()
            }
        return state

    def restore(self, path: Path) -> None:
        """Continue from a ``last.pt``: weights, optimizers, replay buffer, generators, counts."""
        state = load_resumable(path, self.arch)
        try:
            self.agent.load_state(state["networks"], state["optimizers"])
            self.buffer.load_state_dict(
                {
                    k: v.numpy() if isinstance(v, torch.Tensor) else v
                    for k, v in state["replay"].items()
                }
            )
            rng = state["rng"]
            self.rng.bit_generator.state = rng["numpy"]
            torch.set_rng_state(rng["torch"])
            if rng.get("noise_state") is not None:
                self.agent.load_noise_state(rng["noise_state"].numpy())
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            raise CheckpointError(f"checkpoint '{path}' cannot be resumed: {exc}") from exc
        progress = state["progress"]
        self.rollout.env_steps = int(progress["env_steps"])
        self.rollout.episodes = int(progress["episodes"])
        self.evaluator.best_return = progress.get("best_eval_return")
        self.evaluator.time_s = float(progress.get("eval_time_s", 0.0))
        self.wall_time_s = float(progress["wall_time_s"])
        log.info("resumed from %s at step %d", path, self.rollout.env_steps)


def train(
    config: TrainConfig,
    env_factory: EnvFactory,
    run_dir: Path,
    *,
    resume_from: Path | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    tensorboard: bool = True,
    vector_env_factory: VectorEnvFactory | None = None,
) -> TrainResult:
    """Train DDPG into ``run_dir`` (created if needed) and return the outcome.

    Writes ``config.toml``, ``checkpoints/best.pt`` (best periodic evaluation, re-evaluated at
    the end over ``final_eval_episodes``), ``checkpoints/last.pt`` (with the replay buffer, for
    resuming), ``metrics.csv``, ``learning_curve.png`` and ``tensorboard/``. With
    ``resume_from`` (a ``last.pt``) training continues where that checkpoint stopped.
    ``vector_env_factory`` (population runs only) steps the members' environments together:
    without it they are ``env_factory`` environments stepped in a loop.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    if config.population > 1:
        return _train_population(
            config, env_factory, vector_env_factory, run_dir, resume_from, on_progress, tensorboard
        )
    trainer = _Trainer(config, env_factory, run_dir)
    try:
        if resume_from is not None:
            trainer.restore(resume_from)
            if trainer.rollout.env_steps >= config.total_steps:
                raise ConfigError(
                    f"the checkpoint is already at step {trainer.rollout.env_steps}; pass a "
                    f"larger --total-steps (now {config.total_steps}) to continue training"
                )
        (run_dir / CONFIG_FILE).write_text(to_toml(config), encoding="utf-8")
        runlog = RunLog(run_dir, tensorboard=tensorboard)
        try:
            return trainer.run(runlog, on_progress)
        finally:
            runlog.close()
    finally:
        trainer.close()


def _train_population(
    config: TrainConfig,
    env_factory: EnvFactory,
    vector_env_factory: VectorEnvFactory | None,
    run_dir: Path,
    resume_from: Path | None,
    on_progress: Callable[[Progress], None] | None,
    tensorboard: bool,
) -> TrainResult:
    """:func:`train` for ``config.population`` > 1 (:mod:`ddpg_control.learning.population`)."""
    from ddpg_control.learning.population import PopulationTrainer
    from ddpg_control.learning.population_log import PopulationLog

    trainer = PopulationTrainer(config, env_factory, run_dir, vector_env_factory)
    try:
        if resume_from is not None:
            trainer.restore(resume_from)
            if trainer.env_steps >= config.total_steps:
                raise ConfigError(
                    f"the checkpoint is already at step {trainer.env_steps}; pass a "
                    f"larger --total-steps (now {config.total_steps}) to continue training"
                )
        (run_dir / CONFIG_FILE).write_text(to_toml(config), encoding="utf-8")
        runlog = PopulationLog(run_dir, trainer.seeds, tensorboard=tensorboard)
        try:
            result: TrainResult = trainer.run(runlog, on_progress)
        finally:
            runlog.close(trainer.best_member)
        return result
    finally:
        trainer.close()
