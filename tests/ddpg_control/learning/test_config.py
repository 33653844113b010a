"""TrainConfig: defaults, TOML round trip, overrides, and bad values as ConfigError."""

from __future__ import annotations

from pathlib import Path

import pytest

from ddpg_control.learning.config import (
    GAMMA_PER_S,
    TrainConfig,
    gamma_per_s_of,
    load_config,
    parse_override,
    to_toml,
    with_overrides,
)
from ddpg_control.runtime.errors import ConfigError


def test_resolved_config_round_trips_through_toml(tmp_path: Path) -> None:
    config = with_overrides(
        TrainConfig(),
        [("agent.hidden_sizes", [32, 16]), ("noise.kind", "ou"), ("env.randomize", True)],
    )
    path = tmp_path / "config.toml"
    path.write_text(to_toml(config))
    assert load_config(path) == config


def test_config_file_keeps_defaults_for_missing_keys(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("seed = 7\n[agent]\ntau = 0.005\ngamma_per_s = 1e-1\n")
    config = load_config(path)
    assert config.seed == 7
    assert config.agent.tau == 0.005
    assert config.agent.batch_size == TrainConfig().agent.batch_size


def test_integer_is_accepted_where_a_float_is_expected(tmp_path: Path) -> None:
    config = with_overrides(TrainConfig(), [("stop.goal_return", -150)])
    assert config.stop.goal_return == -150.0
    assert isinstance(config.stop.goal_return, float)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("agent.actor_lr=3e-4", ("agent.actor_lr", 3e-4)),
        ("noise.kind=ou", ("noise.kind", "ou")),
        ("agent.hidden_sizes=[8, 8]", ("agent.hidden_sizes", [8, 8])),
        ("env.randomize=true", ("env.randomize", True)),
        ("seed = 3", ("seed", 3)),
    ],
)
def test_parse_override_reads_toml_values(text: str, expected: tuple[str, object]) -> None:
    assert parse_override(text) == expected


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ([("total_steps", 0)], "total_steps"),
        ([("total_steps", -5)], "total_steps"),
        ([("agent.tau", 0.0)], "agent.tau"),
        ([("agent.gamma_per_s", 1.0)], "agent.gamma_per_s"),
        ([("agent.gamma_per_s", 0.0)], "agent.gamma_per_s"),
        ([("env.episode_s", 0.0)], "env.episode_s"),
        ([("env.episode_s", -10)], "env.episode_s"),
        ([("env.episode_s", float("nan"))], "env.episode_s"),
        ([("agent.hidden_sizes", [])], "agent.hidden_sizes"),
        ([("agent.hidden_sizes", [64, 0])], "agent.hidden_sizes"),
        ([("noise.kind", "pink")], "noise.kind"),
        ([("stop.metric", "sometimes")], "stop.metric"),
        ([("buffer_size", 10)], "buffer_size"),
        ([("agent.batch_size", "big")], "agent.batch_size"),
        ([("seed", True)], "seed"),
        ([("seed", -1)], "seed"),
        ([("seed", 2**64)], "seed"),
        ([("noise.sigma", float("inf"))], "noise.sigma"),
        ([("agent.nonsense", 1)], "agent.nonsense"),
        ([("optimizer.lr", 1)], "optimizer"),
    ],
)
def test_bad_values_raise_config_error_naming_the_key(
    overrides: list[tuple[str, object]], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        with_overrides(TrainConfig(), overrides)


def test_any_seed_torch_takes_is_accepted() -> None:
    assert with_overrides(TrainConfig(), [("seed", 2**64 - 1)]).seed == 2**64 - 1


def test_override_without_equals_sign_is_refused() -> None:
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_override("agent.tau")


def test_missing_invalid_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("seed = = 3\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="cannot read|not valid TOML"):
        load_config(binary)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("[agent]\nlearning_rate = 0.1\n")
    with pytest.raises(ConfigError, match="agent.learning_rate"):
        load_config(unknown)
    section = tmp_path / "section.toml"
    section.write_text("agent = 3\n")
    with pytest.raises(ConfigError, match="agent"):
        load_config(section)


def test_configs_are_frozen() -> None:
    config = TrainConfig()
    with pytest.raises(AttributeError):
        config.seed = 1  # type: ignore[misc]


def test_the_default_discount_is_099_per_step_at_20_hz_to_the_last_bit() -> None:
    agent = TrainConfig().agent
    assert agent.gamma_step(0.05) == 0.99
    assert GAMMA_PER_S == 0.99**20


@pytest.mark.parametrize("rate_hz", [20, 100, 200, 500])
def test_the_per_step_discount_keeps_the_horizon_in_seconds(rate_hz: int) -> None:
    """gamma_step = gamma_per_s ** period: one second of steps discounts by gamma_per_s."""
    agent = with_overrides(TrainConfig(), [("agent.gamma_per_s", 0.5)]).agent
    gamma = agent.gamma_step(1.0 / rate_hz)
    assert gamma == pytest.approx(0.5 ** (1.0 / rate_hz), rel=1e-15)
    assert gamma**rate_hz == pytest.approx(0.5, rel=1e-12)
    assert gamma_per_s_of(gamma, 1.0 / rate_hz) == pytest.approx(0.5, rel=1e-12)


def test_a_per_step_gamma_in_a_file_says_what_to_write(tmp_path: Path) -> None:
    path = tmp_path / "old.toml"
    path.write_text("[agent]\ngamma = 0.99\n")
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    message = str(exc.value)
    assert "'agent.gamma' (a discount per step) is now 'agent.gamma_per_s'" in message
    assert f"agent.gamma_per_s = {0.99**20!r}" in message and "\n" not in message
    with pytest.raises(ConfigError, match="is now 'agent.gamma_per_s'"):
        with_overrides(TrainConfig(), [("agent.gamma", 0.98)])


def test_a_recorded_per_step_gamma_converts_with_its_control_period() -> None:
    """A checkpoint's config from before the discount per second resumes as the same
    discount: its per-step gamma at the checkpoint's period."""
    data = TrainConfig().to_dict()
    del data["agent"]["gamma_per_s"]
    data["agent"]["gamma"] = 0.99
    config = TrainConfig.from_dict(data, period_s=0.05)
    assert config == TrainConfig()
    assert TrainConfig.from_dict(data, period_s=0.01).agent.gamma_step(0.01) == pytest.approx(0.99)


def test_the_episode_duration_is_a_config_value(tmp_path: Path) -> None:
    assert TrainConfig().env.episode_s == 10.0
    config = with_overrides(TrainConfig(), [("env.episode_s", 4)])
    assert config.env.episode_s == 4.0
    path = tmp_path / "c.toml"
    path.write_text(to_toml(config))
    assert "episode_s = 4.0" in path.read_text() and load_config(path) == config
