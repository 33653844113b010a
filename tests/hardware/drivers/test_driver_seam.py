"""The --driver seam: the emulate dispatch, and calibrate through a vendor driver's plant."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from ddpg_control.cli.main import main
from hardware.profile import DeviceProfile


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--driver", "dynamixel", "--tcp", "0"], "--tcp is an option of --driver ddpg only"),
        (["--fault", "overload", "--fault-after", "1"], "--driver ddpg can raise no device fault"),
        (["--driver", "dynamixel", "--fault", "overload"], "--fault and --fault-after go together"),
    ],
)
def test_emulate_refuses_options_its_driver_lacks(cli_error, argv: list[str], message: str) -> None:
    assert message in cli_error(["emulate", *argv])


def test_calibrate_through_the_dynamixel_plant_measures_offset_and_torque_scale(
    start_driver_emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emu = start_driver_emulator("dynamixel", start_angle_rad=math.pi)
    profile = tmp_path / "dxl.toml"
    argv = ["calibrate", "--device", emu.port, "--driver", "dynamixel", "--profile", str(profile)]
    extra = [
        "--seconds",
        "0.3",
        "--step-seconds",
        "1.2",
        "--gravity-torque",
        "5",
        "--baud",
        "1000000",
    ]
    assert main([*argv, *extra]) == 0, capsys.readouterr().err
    saved = DeviceProfile.load(profile)
    assert (saved.driver, saved.device_id, saved.baud) == ("dynamixel", 1, 1_000_000)
    assert abs(math.remainder(saved.upright_offset_rad, 2 * math.pi)) < 0.01  # 4096 counts a turn
    # The emulated servo's Kt is the driver's default, so the true scale is 1.
    assert saved.torque_scale == pytest.approx(1.0, rel=0.05)
    assert saved.options["torque_constant_nm_per_a"] == 1.78
    assert saved.options["current_unit_ma"] == 2.69
    summary = dict(item.split("=", 1) for item in emu.finish().split())
    assert summary["torque_enable"] == "0" and summary["applied_current"] == "0"
    assert summary["bus_watchdog"] == "0"  # armed by the step, disarmed on the way out
