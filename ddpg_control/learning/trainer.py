"""The training runner: ``config.population`` = K independent DDPG learners, a single learner
being a population of one. It orchestrates: roll out (explore, step, store), update, evaluate,
save checkpoints, ask the early-stop rule, finish. Member k has its own seed
(:func:`member_seed`), environment copy, replay buffer row, noise and generator; what costs per
member is done for all K at once (stacked networks, one vector env, one replay buffer).

Every ``eval_every_steps`` all members are evaluated from the same start states, and on a
pendulum also by a balance test from near upright; ``best.pt`` is the member of the best
evaluation so far by return and balance (:func:`selection_score`, :func:`better`), a single
learner's checkpoint that records which member and seed it is. The stop rule sees each
evaluation's best member, so the early stop fires as soon as one member is confirmed.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ddpg_control.learning.agent import Exploration, actor_policy, explore
from ddpg_control.learning.checkpoint import (
    architecture_of,
    describe_env,
    load_checkpoint,
    save_checkpoint,
)
from ddpg_control.learning.config import TrainConfig, to_toml
from ddpg_control.learning.early_stop import EvalOutcome, GoalReached, make_stop_rule
from ddpg_control.learning.evaluation import (
    CONFIRM_SEED,
    EVAL_SEED,
    EvalResult,
    GridOutcome,
    GridPolicy,
    Start,
    evaluate_grid,
    starts,
)
from ddpg_control.learning.networks import Architecture
from ddpg_control.learning.noise import make_noise
from ddpg_control.learning.replay_buffer import ReplayBuffer
from ddpg_control.learning.results import Progress, TrainResult
from ddpg_control.learning.run_log import EvalRow, RunLog
from ddpg_control.learning.stacked import StackedAgent
from ddpg_control.runtime.contracts import TIGHT_BAND_VELOCITY_RAD_S
from ddpg_control.runtime.errors import CheckpointError, ConfigError
from ddpg_control.runtime.run_layout import BEST_CHECKPOINT, CONFIG_FILE, LAST_CHECKPOINT
from ddpg_control.runtime.vector_env import EnvList, ResetOptions, VectorEnv, VectorEnvFactory

log = logging.getLogger(__name__)

#: Builds a fresh environment.
EnvFactory = Callable[[], Any]

#: Update metrics go to TensorBoard every this many env steps; progress goes out every
#: ``PROGRESS_EVERY_STEPS`` and after each evaluation.
LOG_UPDATE_EVERY_STEPS = 200
PROGRESS_EVERY_STEPS = 100


#: Where a training episode starts when it starts near upright (``config.upright_starts``): the
#: half-widths of the uniform draw of angle (rad) and velocity (rad/s), as Pendulum-v1's reset
#: options name them. Inside it the policy learns to catch and hold, where a swing-up spends a
#: small share of its steps: the cost of leaning 0.03 rad is 0.001 a step, which the critic
#: only resolves with many transitions there.
UPRIGHT_START: ResetOptions = {"x_init": 0.3, "y_init": 1.0}


#: The balance test of every periodic evaluation: this many episodes per member from
#: :data:`UPRIGHT_START` (starts ``reset(seed=BALANCE_SEED + i)``), each held when it spends at
#: least the last :data:`BALANCE_HELD_SHARE` of its steps within :data:`BALANCE_BAND` of
#: upright: half the tight band's angle (0.02 rad), since a policy should rest within 0.01 rad.
#: A policy can come to rest 0.05-0.3 rad off upright, where its torque meets gravity, and lose
#: only about 0.5-2 of return per episode: less than the start states move a 10-episode mean,
#: so the return alone cannot tell a balancing policy from a leaning one.
BALANCE_EPISODES = 4
BALANCE_SEED = 3_000_000
BALANCE_HELD_SHARE = 0.25
BALANCE_BAND = (0.01, TIGHT_BAND_VELOCITY_RAD_S)
#: What failing the whole balance test costs in choosing the delivered policy, in units of
#: mean return per episode: a policy that balances wins unless one that does not is this much
#: better on the swing-ups of the evaluation.
BALANCE_PRICE = 20.0


def member_seed(seed: int, member: int) -> int:
    """Member 0 uses the run's seed; the others seeds derived from it, independent of other
    runs' (run seed 1's member 0 is not run seed 0's member 1)."""
    if member == 0:
        return seed
    return int(np.random.SeedSequence(seed, spawn_key=(member,)).generate_state(1)[0])


def episode_seed(seed: int, episode: int) -> int:
    """The env seed of a learner's training episode ``episode``: independent across seeds, and
    a pure function, so a resumed run continues exactly."""
    return int(np.random.SeedSequence([seed, episode]).generate_state(1)[0])


@dataclass(frozen=True)
class Best:
    """The best evaluation so far: which member, at which step, and what it scored."""

    member: int
    env_steps: int
    evaluation: EvalResult


def observes_a_pendulum(space: Any) -> bool:
    """Whether observations are the pendulum's ``(cos, sin, velocity)``: then every evaluation
    also runs the balance test."""
    high = np.asarray(getattr(space, "high", ())).reshape(-1)
    low = np.asarray(getattr(space, "low", ())).reshape(-1)
    return high.shape == (3,) and bool(np.all(high[:2] == 1.0) and np.all(low[:2] == -1.0))


def selection_score(result: EvalResult) -> float:
    """What choosing the delivered policy maximises: the mean return, less
    :data:`BALANCE_PRICE` times the share of the balance test it failed (no balance test:
    the mean return)."""
    if result.balance is None:
        return result.mean_return
    return result.mean_return - BALANCE_PRICE * (1.0 - result.balance)


def better(best: Best | None, results: list[EvalResult], env_steps: int) -> Best | None:
    """The delivered policy after an evaluation of every member (``results[k]`` is member
    k's): its best member by :func:`selection_score` if it beats ``best`` (the best of the
    earlier evaluations), else None."""
    scores = [selection_score(r) for r in results]
    k = int(np.argmax(scores))
    if best is None or scores[k] > selection_score(best.evaluation):
        return Best(k, env_steps, results[k])
    return None


class Member:
    """One learner's own parts: seed, generator (warm-up torques, exploration noise and
    replay sampling) and noise; its replay buffer is row k, its environment copy k."""

    def __init__(self, seed: int, config: TrainConfig, act_dim: int) -> None:
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        n = config.noise
        self.noise = make_noise(n.kind, act_dim, n.sigma, n.theta, self.rng)
        self.episodes = 0
        self.episode_return = 0.0

    def next_episode_seed(self) -> int:
        self.episode_return = 0.0
        self.noise.reset()
        return episode_seed(self.seed, self.episodes)

    def start_options(self, upright_starts: float) -> ResetOptions | None:
        """With probability ``upright_starts`` (drawn from this learner's generator only when
        it is above 0, so a run without it draws what it always drew) the next episode starts
        near upright."""
        if upright_starts > 0 and self.rng.random() < upright_starts:
            return dict(UPRIGHT_START)
        return None

    def state_dict(self) -> dict[str, Any]:
        noise_state = getattr(self.noise, "state", None)
        return {
            "seed": self.seed,
            "episodes": self.episodes,
            "numpy": self.rng.bit_generator.state,
            "noise_state": None if noise_state is None else torch.from_numpy(noise_state),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if int(state["seed"]) != self.seed:
            raise ValueError(f"member seed {state['seed']} is not {self.seed}")
        self.rng.bit_generator.state = state["numpy"]
        if state.get("noise_state") is not None and hasattr(self.noise, "state"):
            self.noise.state = state["noise_state"].numpy().astype(np.float64)
        self.episodes = int(state["episodes"])


class Trainer:
    """K learners trained side by side (K = ``config.population``, 1 included). The training
    environments and the evaluations' episodes come from ``vector_env_factory`` (all episodes
    of an evaluation side by side), else from ``env_factory``, stepped in a loop."""

    def __init__(
        self,
        config: TrainConfig,
        env_factory: EnvFactory,
        run_dir: Path,
        vector_env_factory: VectorEnvFactory | None = None,
    ) -> None:
        self.config = config
        self.run_dir = run_dir
        torch.set_num_threads(config.torch_threads)
        size = config.population
        probe = env_factory()
        try:
            self.env_info = describe_env(probe, config.env.randomize)
            obs_dim = int(np.prod(probe.observation_space.shape))
            act_dim = int(np.prod(probe.action_space.shape))
            self.balances = observes_a_pendulum(probe.observation_space)
        finally:
            probe.close()
        max_nm = self.env_info["max_torque_nm"]
        self.arch = Architecture(obs_dim, act_dim, config.agent.hidden_sizes, max_nm)
        self.members = [Member(member_seed(config.seed, k), config, act_dim) for k in range(size)]
        noises, rngs = [m.noise for m in self.members], [m.rng for m in self.members]
        self.exploration = Exploration(config.learning_starts, max_nm, act_dim, noises, rngs)
        gamma = config.agent.gamma_step(self.env_info["control_period_s"])
        self.agent = StackedAgent(self.arch, config.agent, self.seeds, gamma)
        self.replay = ReplayBuffer(size, config.buffer_size, obs_dim, act_dim)
        if vector_env_factory is None:
            self.envs: VectorEnv = EnvList.of(env_factory, size)
            self.eval_envs: VectorEnv = EnvList.of(env_factory, size)
        else:
            self.envs = vector_env_factory(size)
            columns = config.eval_episodes + BALANCE_EPISODES  # all members' episodes in one pass
            episodes = max(size * columns, config.final_eval_episodes)
            self.eval_envs = vector_env_factory(episodes)
        self.obs = np.zeros((size, obs_dim), dtype=np.float32)
        self.stop_rule = make_stop_rule(config.stop)
        self.env_steps = 0
        self.best: Best | None = None
        self.eval_time_s = 0.0
        self.wall_time_s = 0.0

    @property
    def seeds(self) -> list[int]:
        return [m.seed for m in self.members]

    @property
    def episodes(self) -> int:
        return sum(m.episodes for m in self.members)

    def close(self) -> None:
        self.envs.close()
        self.eval_envs.close()

    def start_episodes(self, members: list[int]) -> None:
        seeds = [self.members[k].next_episode_seed() for k in members]
        fraction = self.config.upright_starts
        options = [self.members[k].start_options(fraction) for k in members]
        self.obs[members] = self.envs.reset(seeds, members, options)

    def step(self) -> list[tuple[int, float]]:
        """One transition per member; returns (member, return) of the episodes that ended."""
        action_nm = explore(self.exploration, self.env_steps, lambda: self.agent.act(self.obs))
        out = self.envs.step(action_nm)
        # Time-limit truncation is not termination: those transitions still bootstrap.
        self.replay.add(self.obs, action_nm, out.reward, out.obs, out.terminated)
        self.obs = out.obs.copy()
        for k, m in enumerate(self.members):
            m.episode_return += float(out.reward[k])
        ended = np.flatnonzero(out.terminated | out.truncated).tolist()
        finished = [(k, self.members[k].episode_return) for k in ended]
        for k in ended:
            self.members[k].episodes += 1
        if ended:
            self.start_episodes(ended)
        self.env_steps += 1
        return finished

    @property
    def budget(self) -> int:
        """Steps per member: ``total_steps``; once they are used, ``balance_steps`` more while
        the delivered policy (the best evaluation so far) fails part of its balance test."""
        cfg, balance = self.config, None if self.best is None else self.best.evaluation.balance
        more = self.env_steps >= cfg.total_steps and balance not in (None, 1.0)
        return cfg.total_steps + (cfg.balance_steps if more else 0)

    def run(self, runlog: RunLog, on_progress: Callable[[Progress], None] | None) -> TrainResult:
        cfg = self.config
        start = time.perf_counter() - self.wall_time_s
        last_returns: dict[int, float] = {}
        last_eval: float | None = None
        metrics = np.full((len(self.members), 3), np.nan)
        goal: GoalReached | None = None

        def report() -> None:
            if on_progress is not None:
                ret = float(np.mean(list(last_returns.values()))) if last_returns else None
                on_progress(Progress(self.env_steps, self.budget, self.episodes, ret, last_eval))

        self.start_episodes(list(range(len(self.members))))
        while self.env_steps < self.budget:
            for k, episode_return in self.step():
                last_returns[k] = episode_return
                runlog.episode(k, self.env_steps, episode_return)
            if self.env_steps >= cfg.learning_starts:
                batch = self.replay.sample(cfg.agent.batch_size, [m.rng for m in self.members])
                metrics = self.agent.update(batch)
                if self.env_steps % LOG_UPDATE_EVERY_STEPS == 0:
                    runlog.update(self.env_steps, metrics)
            if self.env_steps % PROGRESS_EVERY_STEPS == 0:
                report()
            if self.env_steps % cfg.eval_every_steps == 0 or self.env_steps == self.budget:
                outcome, k = self.periodic_evaluation(runlog, metrics, start)
                last_eval = outcome.result.mean_return
                report()
                confirm = functools.partial(self.confirm, k)
                goal = self.stop_rule.check(outcome, runlog.episode_returns[k], confirm)
                if goal is not None:
                    if goal.confirmation is not None:  # of member k, this evaluation's best
                        self.save_best(goal.confirmation)
                    break
        self.wall_time_s = time.perf_counter() - start
        return self.finish(goal)

    def periodic_evaluation(
        self, runlog: RunLog, metrics: np.ndarray, start: float
    ) -> tuple[EvalOutcome, int]:
        """Evaluate every member, log their rows, save best.pt (when one beats every earlier
        evaluation) and last.pt; return the best member's outcome and index."""
        results = self.evaluate(self.agent.act_grid, len(self.members))
        self.wall_time_s = time.perf_counter() - start
        runlog.evaluation(
            [self.metrics_row(r, metrics[k], runlog, k) for k, r in enumerate(results)]
        )
        k = int(np.argmax([selection_score(r) for r in results]))
        best = better(self.best, results, self.env_steps)
        if best is not None:
            self.best = best
            self.save_best(best.evaluation)
        self.save_last(k, results[k].mean_return)
        return EvalOutcome(results[k], best is not None), k

    def evaluate(self, policy: GridPolicy, rows: int) -> list[EvalResult]:
        """``rows`` policies side by side (row k: member k), deterministic, over
        ``eval_episodes`` episodes from ``reset(seed=EVAL_SEED + i)`` and, on a pendulum, the
        balance test's in the same pass: per row, the share of its :data:`BALANCE_EPISODES`
        from near upright that end held within :data:`BALANCE_BAND`."""
        n = self.config.eval_episodes
        columns = starts(EVAL_SEED, n)
        if self.balances:
            columns += starts(BALANCE_SEED, BALANCE_EPISODES, UPRIGHT_START)
        outcome = self._evaluate_grid(policy, rows, columns)
        held = outcome.held(BALANCE_HELD_SHARE)[:, n:].mean(axis=1) if self.balances else None
        return [
            EvalResult.of(outcome.returns[k, :n], None if held is None else float(held[k]))
            for k in range(rows)
        ]

    def _evaluate_grid(self, policy: GridPolicy, rows: int, columns: list[Start]) -> GridOutcome:
        """:func:`evaluate_grid` on the evaluation envs; its time counts as evaluation time."""
        start = time.perf_counter()
        band = BALANCE_BAND if self.balances else None
        outcome = evaluate_grid(policy, self.eval_envs, rows, columns, band)
        self.eval_time_s += time.perf_counter() - start
        return outcome

    def confirm(self, k: int) -> EvalResult:
        """A stop rule's second opinion on member k, over ``final_eval_episodes`` from start
        states no evaluation used to choose it (``CONFIRM_SEED``): a figure free of the
        selection's optimism."""
        actor = actor_policy(self.agent.member_actor(k))
        columns = starts(CONFIRM_SEED, self.config.final_eval_episodes)
        result = EvalResult.of(self._evaluate_grid(actor, 1, columns).returns[0])
        log.info("step %d: member %d confirms %.1f", self.env_steps, k, result.mean_return)
        return result

    def metrics_row(
        self, result: EvalResult, metrics: np.ndarray, runlog: RunLog, k: int
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

    def finish(self, goal: GoalReached | None) -> TrainResult:
        assert self.best is not None  # the loop ends on an evaluation
        final = self.best.evaluation
        if goal is not None and goal.confirmation is not None:
            final = goal.confirmation
        member = self.best.member
        log.info(
            "best checkpoint: member %d, mean return %.1f over %d episodes",
            member,
            final.mean_return,
            len(final.returns),
        )
        return TrainResult(
            self.run_dir,
            self.env_steps,
            self.episodes,
            self.wall_time_s,
            self.best.evaluation.mean_return,
            final,
            stopped_early=goal is not None and self.env_steps < self.config.total_steps,
            population=len(self.members),
            member=member,
            member_seed=self.members[member].seed,
            balance=self.best.evaluation.balance,
        )

    # -- checkpoints -------------------------------------------------------------------------
    def checkpoint_base(self, episodes: int, eval_return: float, **progress: Any) -> dict[str, Any]:
        """What best.pt and last.pt share; ``progress`` adds to the progress record."""
        assert self.best is not None
        return {
            "architecture": self.arch.to_dict(),
            "config": self.config.to_dict(),
            "env": self.env_info,
            "progress": {
                "env_steps": self.env_steps,
                "episodes": episodes,
                "eval_return": eval_return,
                "best_eval_return": self.best.evaluation.mean_return,
                "wall_time_s": self.wall_time_s,
                "eval_time_s": self.eval_time_s,
                **progress,
            },
        }

    def save_best(self, evaluation: EvalResult) -> None:
        """The best member's current networks as best.pt, a single learner's checkpoint with
        ``evaluation`` as its figure."""
        assert self.best is not None
        k, n = self.best.member, len(evaluation.returns)
        state = {
            **self.checkpoint_base(
                self.members[k].episodes, evaluation.mean_return, eval_episodes=n
            ),
            "networks": self.agent.member_networks(k),
            "population": {
                "size": len(self.members),
                "member": k,
                "member_seed": self.members[k].seed,
                "run_seed": self.config.seed,
            },
        }
        save_checkpoint(self.run_dir / BEST_CHECKPOINT, state)

    def save_last(self, member: int, eval_return: float) -> None:
        """Every member, with replay buffers and generators: what resuming needs. ``member``
        (the best of this evaluation) is what reading it as one learner gives."""
        best = self.best
        assert best is not None
        state = {
            **self.checkpoint_base(self.episodes, eval_return, member=member),
            **self.agent.state_dict(),
            "best": {
                "member": best.member,
                "env_steps": best.env_steps,
                "returns": torch.tensor(best.evaluation.returns, dtype=torch.float64),
                "balance": best.evaluation.balance,
            },
            "population": {
                "size": len(self.members),
                "members": [m.state_dict() for m in self.members],
            },
            "replay": {
                key: torch.from_numpy(v) if isinstance(v, np.ndarray) else v
                for key, v in self.replay.state_dict().items()
            },
        }
        save_checkpoint(self.run_dir / LAST_CHECKPOINT, state)

    def restore(self, path: Path) -> None:
        """Continue from a run's ``last.pt``."""
        state = load_checkpoint(path)
        population = state.get("population")
        if not isinstance(population, dict) or "members" not in population or "best" not in state:
            raise CheckpointError(
                f"checkpoint '{path}' cannot be resumed (no learners' state: a {BEST_CHECKPOINT}, "
                f"or an older version's); resume from a {LAST_CHECKPOINT} this version wrote"
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
            self.agent.load_state_dict(state)
            for m, saved in zip(self.members, population["members"], strict=True):
                m.load_state_dict(saved)
            replay = state["replay"]
            self.replay.load_state_dict(
                {k: v.numpy() if isinstance(v, torch.Tensor) else v for k, v in replay.items()}
            )
            best = state["best"]
            evaluation = EvalResult.of(best["returns"].numpy(), best.get("balance"))
            self.best = Best(int(best["member"]), int(best["env_steps"]), evaluation)
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            raise CheckpointError(f"checkpoint '{path}' cannot be resumed: {exc}") from exc
        progress = state["progress"]
        self.env_steps = int(progress["env_steps"])
        self.eval_time_s = float(progress.get("eval_time_s", 0.0))
        self.wall_time_s = float(progress["wall_time_s"])
        log.info("resumed %d learners from %s at step %d", len(self.members), path, self.env_steps)


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
    """Train ``config.population`` DDPG learners into ``run_dir`` (created if needed) and
    return the outcome.

    Writes ``config.toml``, ``checkpoints/best.pt`` (the member of the best evaluation),
    ``checkpoints/last.pt`` (every member, with replay buffers, for resuming), ``metrics.csv``,
    ``learning_curve.png`` and ``tensorboard/``. With ``resume_from`` (a ``last.pt``) training
    continues where that checkpoint stopped; ``vector_env_factory`` as :class:`Trainer` takes it.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    trainer = Trainer(config, env_factory, run_dir, vector_env_factory)
    try:
        if resume_from is not None:
            trainer.restore(resume_from)
            if trainer.env_steps >= trainer.budget:
                raise ConfigError(
                    f"the checkpoint is already at step {trainer.env_steps}; pass a "
                    f"larger --total-steps (now {trainer.budget}) to continue training"
                )
        (run_dir / CONFIG_FILE).write_text(to_toml(config), encoding="utf-8")
        runlog = RunLog(run_dir, trainer.seeds, tensorboard=tensorboard)
        result: TrainResult | None = None
        try:
            result = trainer.run(runlog, on_progress)
        finally:
            runlog.close(None if result is None else result.member)
        return result
    finally:
        trainer.close()
