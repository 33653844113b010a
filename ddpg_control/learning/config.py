"""Training configuration: frozen dataclasses, loaded from TOML, overridden from the CLI.

A config file mirrors :class:`TrainConfig`: top-level keys for the run, and one table per
concern::

    seed = 0
    total_steps = 10000

    [env]
    id = "Pendulum-v1"

    [agent]
    hidden_sizes = [64, 64]

    [noise]
    kind = "gaussian"
    sigma = 0.1

    [stop]
    metric = "none"

Every value is validated on construction; a bad value raises :class:`ConfigError` saying which
key is wrong and what it accepts. Torch-free.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from ddpg_control.runtime.contracts import DEFAULT_EPISODE_S
from ddpg_control.runtime.errors import ConfigError
from ddpg_control.runtime.toml_config import build, plain, read_toml, toml_text
from ddpg_control.runtime.toml_config import parse_override as parse_override  # for callers
from ddpg_control.runtime.validation import is_number, require

NoiseKind = Literal["gaussian", "ou"]
StopMetric = Literal["eval", "train", "none"]

#: The largest seed torch takes (``torch.manual_seed`` reads it as 64 bits).
MAX_SEED = 2**64 - 1

#: The default discount per second: 0.99 per 50 ms step (20 Hz), so ``GAMMA_PER_S ** 0.05``
#: is 0.99 to the last bit. A 1 s horizon (0.98 per step) is too short for Pendulum-v1: the
#: optimal policy of that discount already loses about 3 of return per episode against the
#: undiscounted optimum (it pumps the wrong way from some starts), and it gives a 0.03 rad lean
#: half the weight in the critic.
GAMMA_PER_S = 0.99**20


def gamma_per_s_of(gamma_step: float, period_s: float) -> float:
    """The discount per second of a per-step ``gamma_step`` at ``period_s``."""
    return float(gamma_step ** (1.0 / period_s))


def _require(ok: bool, key: str, message: str) -> None:
    require(ok, f"config value '{key}' {message}")


@dataclass(frozen=True)
class EnvConfig:
    """Which Gymnasium environment to train on. ``preset``/``randomize`` are PyBullet-only;
    ``episode_s`` is every episode's duration in seconds, at the env's own control period
    (10 s: Pendulum-v1's 200 steps at 20 Hz, 1000 steps on a 100 Hz rig)."""

    id: str = "Pendulum-v1"
    preset: str = ""
    randomize: bool = False
    episode_s: float = DEFAULT_EPISODE_S

    def __post_init__(self) -> None:
        _require(bool(self.id.strip()), "env.id", "must be a Gymnasium environment id")
        _require(
            math.isfinite(self.episode_s) and self.episode_s > 0,
            "env.episode_s",
            f"must be a finite number of seconds > 0, got {self.episode_s}",
        )


@dataclass(frozen=True)
class AgentConfig:
    """DDPG networks and update (Lillicrap et al. 2016; the paper's options are switches)."""

    hidden_sizes: tuple[int, ...] = (64, 64)
    actor_lr: float = 1e-3
    critic_lr: float = 1e-3
    #: The discount per second of time; the update's per-step gamma is ``gamma_per_s **
    #: period_s`` (:meth:`gamma_step`), so every control rate has the same horizon. The default
    #: is 0.99 per step at 20 Hz, exactly (:data:`GAMMA_PER_S`).
    gamma_per_s: float = GAMMA_PER_S
    tau: float = 0.01
    batch_size: int = 128
    #: L2 penalty on the critic's weights (the paper uses 1e-2); 0 disables it.
    critic_weight_decay: float = 0.0
    #: Final layers drawn from U(-b, b) (the paper uses 3e-3); 0 keeps PyTorch's default init.
    final_layer_init_bound: float = 0.0

    def __post_init__(self) -> None:
        _require(
            len(self.hidden_sizes) > 0 and all(h > 0 for h in self.hidden_sizes),
            "agent.hidden_sizes",
            f"must be a non-empty list of positive integers, got {list(self.hidden_sizes)}",
        )
        for key in ("actor_lr", "critic_lr"):
            value = getattr(self, key)
            _require(0 < value < 1, f"agent.{key}", f"must be in (0, 1), got {value}")
        _require(
            0 < self.gamma_per_s < 1,
            "agent.gamma_per_s",
            f"must be in (0, 1) (a discount per second), got {self.gamma_per_s}",
        )
        _require(0 < self.tau <= 1, "agent.tau", f"must be in (0, 1], got {self.tau}")
        _require(self.batch_size > 0, "agent.batch_size", f"must be > 0, got {self.batch_size}")
        for key in ("critic_weight_decay", "final_layer_init_bound"):
            value = getattr(self, key)
            _require(value >= 0, f"agent.{key}", f"must be >= 0, got {value}")

    def gamma_step(self, period_s: float) -> float:
        """The discount of one step of ``period_s`` seconds: ``gamma_per_s ** period_s``."""
        return float(self.gamma_per_s**period_s)


@dataclass(frozen=True)
class NoiseConfig:
    """Exploration noise, in units of the torque limit (sigma 0.1 = 10 % of max torque)."""

    kind: NoiseKind = "gaussian"
    sigma: float = 0.1
    #: Ornstein-Uhlenbeck mean-reversion rate per step (0.15 in Lillicrap et al. 2016).
    theta: float = 0.15

    def __post_init__(self) -> None:
        _require(
            self.kind in get_args(NoiseKind),
            "noise.kind",
            f"must be one of {list(get_args(NoiseKind))}, got {self.kind!r}",
        )
        _require(
            math.isfinite(self.sigma) and self.sigma >= 0,
            "noise.sigma",
            f"must be a finite number >= 0, got {self.sigma}",
        )
        _require(0 < self.theta <= 1, "noise.theta", f"must be in (0, 1], got {self.theta}")


@dataclass(frozen=True)
class StopConfig:
    """Whether training may stop before ``total_steps``.

    ``metric = "none"`` (the default) always runs the whole step budget: what is delivered then
    depends on the seed and the budget, not on when a noisy estimate crossed a line.
    ``"eval"`` stops when a periodic evaluation's best member reaches ``goal_return`` *and* a
    confirming evaluation over ``final_eval_episodes`` (100) from start states that no periodic
    evaluation used agrees: the best of K members over many 10-episode evaluations is an
    optimistic estimate (one episode's return depends mostly on its start state, std ~80 on
    Pendulum-v1), so it is never confirmed on the starts that chose it. ``"train"`` is the rule
    of a PyTorch Pendulum tutorial (stop once the mean of the last ``window_episodes`` training
    returns passes the goal, -300 there; those returns include exploration noise and lag the
    policy by up to ``window_episodes`` episodes).
    """

    metric: StopMetric = "none"
    goal_return: float = -150.0
    window_episodes: int = 100

    def __post_init__(self) -> None:
        _require(
            self.metric in get_args(StopMetric),
            "stop.metric",
            f"must be one of {list(get_args(StopMetric))}, got {self.metric!r}",
        )
        _require(math.isfinite(self.goal_return), "stop.goal_return", "must be a finite number")
        _require(
            self.window_episodes > 0,
            "stop.window_episodes",
            f"must be > 0, got {self.window_episodes}",
        )


@dataclass(frozen=True)
class TrainConfig:
    """Everything one training run needs. Never mutated: use :func:`with_overrides`."""

    seed: int = 0
    #: Env steps per member (each learner of a population takes this many).
    total_steps: int = 10_000
    #: Up to this many more steps per member while the delivered policy fails part of its
    #: balance test (a pendulum only), ending at the first evaluation whose policy passes it.
    balance_steps: int = 0
    #: Uniformly random actions (and no updates) for this many first steps.
    learning_starts: int = 1_000
    buffer_size: int = 100_000
    #: Deterministic evaluation every this many env steps, over ``eval_episodes`` episodes.
    eval_every_steps: int = 1_000
    eval_episodes: int = 10
    #: Episodes of a stop rule's confirming evaluation (best.pt's figure when it confirms).
    final_eval_episodes: int = 100
    #: Fraction of training episodes that start near upright (trainer.UPRIGHT_START) instead
    #: of the environment's own start distribution; 0 keeps the environment's.
    upright_starts: float = 0.25
    #: Torch intra-op threads; 1 is fastest for these small networks.
    torch_threads: int = 1
    #: Independent learners trained side by side, their networks stacked; the best member is
    #: delivered as best.pt (:mod:`ddpg_control.learning.trainer`). 1: a single learner. Four
    #: learners of 10k steps each beat one of 20k steps in half its wall-clock.
    population: int = 4
    env: EnvConfig = field(default_factory=EnvConfig)
    agent: AgentConfig = field(default_factory=AgentConfig)
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    stop: StopConfig = field(default_factory=StopConfig)

    def __post_init__(self) -> None:
        _require(0 <= self.seed <= MAX_SEED, "seed", f"must be in 0..2**64-1, got {self.seed}")
        for key in ("learning_starts", "balance_steps"):
            _require(getattr(self, key) >= 0, key, f"must be >= 0, got {getattr(self, key)}")
        _require(
            self.buffer_size >= self.agent.batch_size,
            "buffer_size",
            f"must be >= agent.batch_size ({self.agent.batch_size}), got {self.buffer_size}",
        )
        _require(
            0 <= self.upright_starts < 1,
            "upright_starts",
            f"must be in [0, 1), got {self.upright_starts}",
        )
        for key in (
            "total_steps",
            "eval_every_steps",
            "eval_episodes",
            "final_eval_episodes",
            "torch_threads",
            "population",
        ):
            value = getattr(self, key)
            _require(value > 0, key, f"must be > 0, got {value}")

    def to_dict(self) -> dict[str, Any]:
        """Plain data (lists, not tuples): fits TOML, JSON and a weights-only checkpoint."""
        return plain(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], period_s: float | None = None) -> TrainConfig:
        """The config of plain ``data``. With ``period_s`` (a checkpoint's control period), a
        per-step ``agent.gamma`` an older run recorded becomes ``agent.gamma_per_s``."""
        agent = data.get("agent")
        if period_s is not None and isinstance(agent, Mapping) and "gamma" in agent:
            agent = {k: v for k, v in agent.items() if k != "gamma"}
            agent["gamma_per_s"] = gamma_per_s_of(data["agent"]["gamma"], period_s)
            data = {**data, "agent": agent}
        return build(cls, data, _refuse_step_gamma)


def _refuse_step_gamma(key: str, value: Any) -> None:
    """``agent.gamma`` was a discount per step; say what to write for a discount per second."""
    if key != "agent.gamma":
        return
    example = ""
    if is_number(value) and 0 < value < 1:
        example = (
            f"; {value} per step at 20 Hz (Pendulum-v1) is "
            f"agent.gamma_per_s = {gamma_per_s_of(value, 0.05)!r}"
        )
    raise ConfigError(
        "config key 'agent.gamma' (a discount per step) is now 'agent.gamma_per_s', a discount "
        f"per second of time: gamma_per_s = gamma ** (1 / control_period_s){example}"
    )


def load_config(path: Path) -> TrainConfig:
    """Read a TOML config file; missing keys keep their defaults."""
    return TrainConfig.from_dict(read_toml(path))


def with_overrides(config: TrainConfig, overrides: Sequence[tuple[str, Any]]) -> TrainConfig:
    """A new config with dotted keys replaced (``seed``, ``agent.tau``, ``env.id`` ...)."""
    data = config.to_dict()
    sections = [k for k, v in data.items() if isinstance(v, dict)]
    for key, value in overrides:
        section, _, name = key.rpartition(".")
        if section and section not in sections:
            raise ConfigError(
                f"unknown config section '{section}' in '{key}' (sections: {', '.join(sections)})"
            )
        (data[section] if section else data)[name] = value  # unknown keys: from_dict says
    return TrainConfig.from_dict(data)


def to_toml(config: TrainConfig) -> str:
    """The resolved config as TOML text; :func:`load_config` reads it back unchanged."""
    return toml_text(config.to_dict())
