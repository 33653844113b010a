"""The training runner: act, step, store, update, evaluate, log, save. It orchestrates; the
update lives in :mod:`ddpg_control.learning.agent`, the files in
:mod:`ddpg_control.learning.run_log`."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ddpg_control.learning.agent import DDPGAgent, Exploration, UpdateMetrics, actor_policy
from ddpg_control.learning.checkpoint import architecture_of, load_checkpoint, save_checkpoint
from ddpg_control.learning.config import TrainConfig, to_toml
from ddpg_control.learning.evaluation import EvalResult, evaluate
from ddpg_control.learning.networks import Architecture
from ddpg_control.learning.noise import make_noise
from ddpg_control.learning.replay_buffer import ReplayBuffer
from ddpg_control.learning.run_log import EvalRow, RunLog
from ddpg_control.runtime.errors import CheckpointError, ConfigError
from ddpg_control.runtime.run_layout import BEST_CHECKPOINT, CONFIG_FILE, LAST_CHECKPOINT

log = logging.getLogger(__name__)

#: Builds a fresh environment; the trainer makes one for training and one for evaluation.
EnvFactory = Callable[[], Any]

#: Evaluation episode i starts from ``reset(seed=EVAL_SEED + i)``: the same start states for
#: every run and every checkpoint (so evaluations compare), disjoint from training episodes.
EVAL_SEED = 1_000_000


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


def describe_env(env: Any, randomize: bool = False) -> dict[str, Any]:
    """The checkpoint's ``env`` entry: id, control period, torque limit, plain parameters."""
    base = env.unwrapped
    params: dict[str, Any]
    if hasattr(base, "params") and hasattr(base.params, "to_dict"):
        params = dict(base.params.to_dict())
    else:  # Gymnasium's Pendulum-v1 keeps its constants as attributes
        names = ("g", "m", "l", "dt", "max_speed", "max_torque")
        params = {n: float(getattr(base, n)) for n in names if hasattr(base, n)}
    return {
        "id": str(env.spec.id) if env.spec is not None else type(base).__name__,
        "control_period_s": float(base.dt),
        "max_torque_nm": float(np.asarray(env.action_space.high).reshape(-1)[0]),
        "params": params,
        "randomize": bool(randomize),
    }


def episode_seed(seed: int, episode: int) -> int:
    """The env seed of training episode ``episode``: independent across run seeds (seed 1 does
    not replay seed 0's start states), and a pure function, so a resumed run continues exactly."""
    return int(np.random.SeedSequence([seed, episode]).generate_state(1)[0])


class _Trainer:
    def __init__(self, config: TrainConfig, env_factory: EnvFactory, run_dir: Path) -> None:
        self.config = config
        self.run_dir = run_dir
        torch.set_num_threads(config.torch_threads)
        torch.manual_seed(config.seed)
        self.rng = np.random.default_rng(config.seed)
        self.env = env_factory()
        self.eval_env = env_factory()
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
        self.env_steps = 0
        self.episodes = 0
        self.best_eval: float | None = None
        self.wall_time_s = 0.0
        self.eval_time_s = 0.0
        self.confirmed: EvalResult | None = None
        self.improved = False

    # -- checkpoints -------------------------------------------------------------------------
    def payload(
        self, eval_return: float | None, with_replay: bool, eval_episodes: int | None = None
    ) -> dict[str, Any]:
        noise_state = self.agent.noise_state()
        payload: dict[str, Any] = {
            "architecture": self.arch.to_dict(),
            "networks": self.agent.networks_state(),
            "optimizers": self.agent.optimizers_state(),
            "config": self.config.to_dict(),
            "env": self.env_info,
            "progress": {
                "eval_episodes": eval_episodes or self.config.eval_episodes,
                "env_steps": self.env_steps,
                "episodes": self.episodes,
                "eval_return": eval_return,
                "best_eval_return": self.best_eval,
                "wall_time_s": self.wall_time_s,
                "eval_time_s": self.eval_time_s,
            },
            "rng": {
                "numpy": self.rng.bit_generator.state,
                "torch": torch.get_rng_state(),
                "noise_state": None if noise_state is None else torch.from_numpy(noise_state),
            },
        }
        if with_replay:
            payload["replay"] = {
                k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v
                for k, v in self.buffer.state_dict().items()
            }
        return payload

    def restore(self, path: Path) -> None:
        payload = load_checkpoint(path)
        if architecture_of(payload, path) != self.arch:
            raise CheckpointError(
                f"checkpoint '{path}' was trained with another architecture "
                f"({payload['architecture']}); resume with the run's own config"
            )
        if "replay" not in payload or "optimizers" not in payload:
            raise CheckpointError(
                f"checkpoint '{path}' cannot be resumed (no replay buffer); resume from "
                f"{LAST_CHECKPOINT}"
            )
        try:
            self.agent.load_state(payload["networks"], payload["optimizers"])
            self.buffer.load_state_dict(
                {
                    k: v.numpy() if isinstance(v, torch.Tensor) else v
                    for k, v in payload["replay"].items()
                }
            )
            rng = payload["rng"]
            self.rng.bit_generator.state = rng["numpy"]
            torch.set_rng_state(rng["torch"])
            if rng.get("noise_state") is not None:
                self.agent.load_noise_state(rng["noise_state"].numpy())
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            raise CheckpointError(f"checkpoint '{path}' cannot be resumed: {exc}") from exc
        progress = payload["progress"]
        self.env_steps = int(progress["env_steps"])
        self.episodes = int(progress["episodes"])
        self.best_eval = progress.get("best_eval_return")
        self.wall_time_s = float(progress["wall_time_s"])
        self.eval_time_s = float(progress.get("eval_time_s", 0.0))
        log.info("resumed from %s at step %d", path, self.env_steps)

    # -- the loop ----------------------------------------------------------------------------
    def evaluate(self, episodes: int) -> EvalResult:
        policy = actor_policy(self.agent.actor)
        result = evaluate(policy, self.eval_env, episodes, EVAL_SEED)
        self.agent.actor.train()
        return result

    def run(self, runlog: RunLog, on_progress: Callable[[Progress], None] | None) -> TrainResult:
        cfg = self.config
        start = time.perf_counter() - self.wall_time_s
        obs, _ = self.env.reset(seed=episode_seed(cfg.seed, self.episodes))
        self.agent.reset_noise()
        episode_return = 0.0
        last_return: float | None = None
        last_eval: float | None = None
        metrics = UpdateMetrics(float("nan"), float("nan"), float("nan"))
        stopped_early = False
        while self.env_steps < cfg.total_steps:
            action32 = self.agent.explore(obs, self.env_steps)
            next_obs, reward, terminated, truncated, _ = self.env.step(action32)
            # Time-limit truncation is not termination: those transitions still bootstrap.
            self.buffer.add(obs, action32, float(reward), next_obs, bool(terminated))
            obs = next_obs
            episode_return += float(reward)
            self.env_steps += 1
            if terminated or truncated:
                self.episodes += 1
                last_return = episode_return
                runlog.episode(self.env_steps, episode_return)
                episode_return = 0.0
                obs, _ = self.env.reset(seed=episode_seed(cfg.seed, self.episodes))
                self.agent.reset_noise()
            if self.env_steps >= cfg.learning_starts:
                metrics = self.agent.update(self.buffer.sample(cfg.agent.batch_size, self.rng))
                if self.env_steps % 200 == 0:
                    runlog.update(self.env_steps, *metrics)
            if on_progress is not None and self.env_steps % 100 == 0:
                on_progress(
                    Progress(self.env_steps, cfg.total_steps, self.episodes, last_return, last_eval)
                )
            if self.env_steps % cfg.eval_every_steps == 0 or self.env_steps == cfg.total_steps:
                last_eval = self.periodic_evaluation(runlog, metrics, start)
                if on_progress is not None:
                    on_progress(
                        Progress(
                            self.env_steps, cfg.total_steps, self.episodes, last_return, last_eval
                        )
                    )
                if self.goal_reached(last_eval, runlog):
                    stopped_early = self.env_steps < cfg.total_steps
                    break
        self.wall_time_s = time.perf_counter() - start
        return self.finish(stopped_early)

    def periodic_evaluation(self, runlog: RunLog, metrics: UpdateMetrics, start: float) -> float:
        """Evaluate, log a metrics row, save best (by this evaluation) and last checkpoints."""
        eval_start = time.perf_counter()
        result = self.evaluate(self.config.eval_episodes)
        self.eval_time_s += time.perf_counter() - eval_start
        self.wall_time_s = time.perf_counter() - start
        recent = runlog.episode_returns[-10:]
        runlog.evaluation(
            EvalRow(
                self.env_steps,
                self.episodes,
                round(self.wall_time_s, 3),
                round(self.eval_time_s, 3),
                float(np.mean(recent)) if recent else float("nan"),
                result.mean_return,
                result.std_return,
                *metrics,
            )
        )
        self.improved = self.best_eval is None or result.mean_return > self.best_eval
        if self.improved:
            self.best_eval = result.mean_return
            save_checkpoint(self.run_dir / BEST_CHECKPOINT, self.payload(result.mean_return, False))
        save_checkpoint(self.run_dir / LAST_CHECKPOINT, self.payload(result.mean_return, True))
        return result.mean_return

    def goal_reached(self, eval_return: float, runlog: RunLog) -> bool:
        """The early stop. ``eval``: a new best periodic evaluation passed the goal *and* a
        confirming evaluation over ``final_eval_episodes`` agrees (a few episodes are too noisy:
        one episode's return depends mostly on its start state)."""
        stop = self.config.stop
        if stop.metric == "train":
            window = runlog.episode_returns[-stop.window_episodes :]
            return (
                len(window) == stop.window_episodes and float(np.mean(window)) >= stop.goal_return
            )
        if stop.metric != "eval" or eval_return < stop.goal_return or not self.improved:
            return False
        eval_start = time.perf_counter()
        confirm = self.evaluate(self.config.final_eval_episodes)
        self.eval_time_s += time.perf_counter() - eval_start
        log.info("step %d: confirming evaluation %.1f", self.env_steps, confirm.mean_return)
        if confirm.mean_return < stop.goal_return:
            return False
        self.confirmed = confirm
        save_checkpoint(
            self.run_dir / BEST_CHECKPOINT,
            self.payload(confirm.mean_return, False, len(confirm.returns)),
        )
        return True

    def finish(self, stopped_early: bool) -> TrainResult:
        """The final figure: a confirmed early stop's evaluation, or else the better of the
        best and the last checkpoint over ``final_eval_episodes`` (which becomes best.pt)."""
        best_path = self.run_dir / BEST_CHECKPOINT
        final = self.confirmed
        if final is None:
            last = self.evaluate(self.config.final_eval_episodes)
            last_payload = self.payload(last.mean_return, False, len(last.returns))
            payload = load_checkpoint(best_path)
            self.agent.actor.load_state_dict(payload["networks"]["actor"])
            final = self.evaluate(self.config.final_eval_episodes)
            if last.mean_return > final.mean_return:
                final, payload = last, last_payload
            payload.pop("format_version", None)
            payload["progress"].update(
                eval_return=final.mean_return, eval_episodes=len(final.returns)
            )
            save_checkpoint(best_path, payload)
        log.info(
            "best checkpoint: mean return %.1f over %d episodes",
            final.mean_return,
            len(final.returns),
        )
        return TrainResult(
            self.run_dir,
            self.env_steps,
            self.episodes,
            self.wall_time_s,
            self.best_eval,
            final,
            stopped_early,
        )


def train(
    config: TrainConfig,
    env_factory: EnvFactory,
    run_dir: Path,
    *,
    resume_from: Path | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    tensorboard: bool = True,
) -> TrainResult:
    """Train DDPG into ``run_dir`` (created if needed) and return the outcome.

    Writes ``config.toml``, ``checkpoints/best.pt`` (best periodic evaluation, re-evaluated at
    the end over ``final_eval_episodes``), ``checkpoints/last.pt`` (with the replay buffer, for
    resuming), ``metrics.csv``, ``learning_curve.png`` and ``tensorboard/``. With
    ``resume_from`` (a ``last.pt``) training continues where that checkpoint stopped.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    trainer = _Trainer(config, env_factory, run_dir)
    try:
        if resume_from is not None:
            trainer.restore(resume_from)
            if trainer.env_steps >= config.total_steps:
                raise ConfigError(
                    f"the checkpoint is already at step {trainer.env_steps}; pass a larger "
                    f"--total-steps (now {config.total_steps}) to continue training"
                )
        (run_dir / CONFIG_FILE).write_text(to_toml(config), encoding="utf-8")
        runlog = RunLog(run_dir, tensorboard=tensorboard)
        try:
            return trainer.run(runlog, on_progress)
        finally:
            runlog.close()
    finally:
        trainer.env.close()
        trainer.eval_env.close()
