"""params.toml: written, read back, refused when wrong; randomisation centred on a fit."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.params import PendulumParams, SimConfigError
from sim.params_file import (
    load_params_file,
    params_toml,
    ranges_around,
    with_fine_physics,
    write_params_file,
)

FIT = PendulumParams(mass_kg=1.3, length_m=0.7, joint_friction_nm=0.07, torque_scale=0.8)


def test_round_trip_keeps_values_uncertainty_and_provenance(tmp_path: Path) -> None:
    path = write_params_file(
        tmp_path / "p.toml",
        params_toml(
            FIT,
            std={"mass_kg": 0.01, "torque_scale": 0.004},
            provenance={"files": ["a.csv"], "written_utc": "2026-01-01T00:00:00+00:00"},
        ),
    )
    loaded = load_params_file(path)
    assert loaded.params == FIT
    assert loaded.std == {"mass_kg": 0.01, "torque_scale": 0.004}
    assert loaded.provenance["files"] == ["a.csv"]


def test_ranges_are_centred_on_the_fit_and_widened_by_its_uncertainty(tmp_path: Path) -> None:
    path = write_params_file(
        tmp_path / "p.toml", params_toml(FIT, std={"mass_kg": 0.1, "length_m": 0.001})
    )
    ranges = ranges_around(load_params_file(path))
    assert ranges.mass_kg == pytest.approx((1.0, 1.6))  # +-3 sigma
    assert ranges.length_m == pytest.approx((0.665, 0.735))  # at least +-5 %
    assert ranges.torque_scale == pytest.approx((0.76, 0.84))
    low, high = ranges.joint_friction_nm or (0, 0)
    assert low < 0.07 < high


def test_the_users_own_ranges_win(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text("[pendulum]\nmass_kg = 2.0\n[randomize]\nmass_kg = [1.5, 2.5]\n")
    loaded = load_params_file(path)
    assert loaded.params.mass_kg == 2.0 and loaded.params.length_m == 1.0
    assert ranges_around(loaded).mass_kg == (1.5, 2.5)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mass_kg = 1.0\n", "no \\[pendulum\\]"),
        ("[pendulum]\nmass = 1.0\n", "unknown pendulum parameter"),
        ("[pendulum]\nmass_kg = -1.0\n", "mass_kg must be > 0"),
        ("[pendulum]\ntorque_scale = 0.0\n", "torque_scale must be > 0"),
        ("[pendulum]\n[uncertainty]\nmass_kg = -1\n", "uncertainty"),
        ("[pendulum]\n[randomize]\ngravity_m_s2 = [9, 10]\n", "cannot be randomised"),
        ("[pendulum]\n[randomize]\nmass_kg = [2, 1]\n", "swap them"),
        ("[pendulum\n", "not valid TOML"),
    ],
)
def test_bad_files_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "p.toml"
    path.write_text(text)
    with pytest.raises(SimConfigError, match=message):
        load_params_file(path)


def test_a_missing_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(SimConfigError, match="identify"):
        load_params_file(tmp_path / "nope.toml")


def test_fine_physics_steps_at_least_every_millisecond() -> None:
    assert with_fine_physics(PendulumParams()).physics_dt_s == pytest.approx(0.001)
    fine = PendulumParams(physics_substeps=100)
    assert with_fine_physics(fine) == fine
