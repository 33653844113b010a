"""``ddpg-control calibrate``: measured against the emulator, saved, picked up by ``run``."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import pytest

from ddpg_control.cli.main import build_parser, main
from ddpg_control.pipeline.device import device_settings
from ddpg_control.runtime.errors import ConfigError
from hardware.profile import PROFILE_DIR_ENV, DeviceProfile, profile_path_for_port


def test_calibrate_measures_offset_and_torque_scale_and_leaves_zero_torque(
    start_emulator: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emu = start_emulator(start_angle_rad=math.pi)
    profile = tmp_path / "rig.toml"
    argv = ["calibrate", "--device", emu.port, "--profile", str(profile)]
    # The emulated pendulum is Pendulum-v1's rod: m*g*(l/2) = 1 * 10 * 0.5 N*m.
    options = ["--gravity-torque-nm", "5", "--device-torque-limit-nm", "1.5", "--duration-s", "0.3"]
    assert main([*argv, *options, "--step-duration-s", "1.2"]) == 0
    saved = DeviceProfile.load(profile)
    # The emulator reads pi hanging (0 = upright), so the upright offset is 0 (mod 2 pi).
    assert abs(math.remainder(saved.upright_offset_rad, 2 * math.pi)) < 0.02
    assert saved.torque_scale == pytest.approx(1.0, rel=0.05)
    assert (saved.driver, saved.max_torque_nm, saved.watchdog_ms) == ("ddpg", 1.5, 100)
    assert "upright offset" in capsys.readouterr().out
    assert emu.device.last_torque_command_nm == 0.0 and not emu.device.armed


def test_calibrate_refuses_a_swinging_pendulum(start_emulator: Any, tmp_path: Path) -> None:
    emu = start_emulator(start_angle_rad=math.pi - 0.5)
    argv = ["calibrate", "--device", emu.port, "--profile", str(tmp_path / "p.toml")]
    assert main([*argv, "--duration-s", "0.3", "--no-step"]) == 2
    assert not (tmp_path / "p.toml").exists()
    assert emu.device.last_torque_command_nm == 0.0


def _device_args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["run", "--device", "/dev/ttyX9", *argv])


def test_run_takes_the_profile_saved_for_its_port_and_the_command_line_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PROFILE_DIR_ENV, str(tmp_path))
    assert device_settings(_device_args(), 0.05).upright_offset_rad == 0.0  # no profile yet
    DeviceProfile(
        driver="ddpg", baud=115200, upright_offset_rad=0.25, direction=-1, max_torque_nm=0.8
    ).save(profile_path_for_port("/dev/ttyX9"))
    assert profile_path_for_port("/dev/ttyX9") == tmp_path / "dev-ttyX9.toml"
    settings = device_settings(_device_args("--direction", "1", "--torque-limit-nm", "1.2"), 0.05)
    assert (settings.baud, settings.upright_offset_rad, settings.direction) == (115200, 0.25, 1)
    assert settings.torque_limit_nm == 0.8  # the smaller of the profile's and the user's
    with pytest.raises(ConfigError, match="profile is for ddpg"):
        device_settings(_device_args("--driver", "dynamixel"), 0.05)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('driver = "ddpg"\ndirection = 2\n', "direction"),
        ('driver = "ddpg"\nspeed = 1\n', "unknown key 'speed'"),
        ("baud = 9600\n", "no 'driver'"),
        ('driver = "ddpg"\ntorque_scale = "big"\n', "torque_scale must be a float"),
    ],
)
def test_a_bad_profile_is_a_one_line_error(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        DeviceProfile.load(path)


def test_a_driver_without_its_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from hardware.drivers import DRIVERS

    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(ConfigError, match=r"pip install 'ddpg-control\[dynamixel\]'"):
        DRIVERS["dynamixel"].check_installed()


def test_calibrate_for_another_driver_ignores_the_ports_saved_profile(
    start_emulator: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(PROFILE_DIR_ENV, str(tmp_path / "saved"))
    emu = start_emulator(start_angle_rad=math.pi)
    saved = profile_path_for_port(emu.port)
    DeviceProfile(driver="dynamixel", baud=57600, upright_offset_rad=1.0).save(saved)
    quick = ["--duration-s", "0.3", "--no-step"]
    # A new --profile file starts from the driver's defaults, not from the port's profile.
    new = tmp_path / "new.toml"
    argv = ["calibrate", "--device", emu.port, "--driver", "ddpg", "--profile", str(new)]
    assert main([*argv, *quick]) == 0
    assert DeviceProfile.load(new).driver == "ddpg"
    assert DeviceProfile.load(saved).driver == "dynamixel"  # untouched
    # Without --profile, the port's profile of another driver is replaced, and that is said.
    assert main(["calibrate", "--device", emu.port, "--driver", "ddpg", *quick]) == 0
    assert DeviceProfile.load(saved).driver == "ddpg"
    assert DeviceProfile.load(saved).baud != 57600
    assert f"{saved} is a dynamixel profile" in capsys.readouterr().err
