"""The --driver seam: emulate through the registry, and calibrate through a vendor driver's
plant."""

from __future__ import annotations

import importlib
import math
from pathlib import Path

import pytest

from ddpg_control.cli.main import main
from hardware.emulator import Emulator
from hardware.profile import DeviceProfile


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--fault", "overload@1"], "--fault overload: --driver ddpg injects silence, disconnect"),
        (["--driver", "odrive", "--fault", "disconnect"], "--driver odrive injects silence, drv"),
        (["--driver", "moteus", "--counts-per-rev", "4096"], "--counts-per-rev is not a setting"),
        (["--driver", "dynamixel", "--protocol-version", "2"], "--protocol-version is not a"),
    ],
)
def test_emulate_refuses_what_its_driver_cannot_do(
    cli_error, argv: list[str], message: str
) -> None:
    assert message in cli_error(["emulate", *argv])


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("@1", "expected KIND or KIND@SECONDS, got '@1'"),
        ("silence@-1", "value must be a finite number >= 0"),
        ("silence@soon", "expected a number"),
    ],
)
def test_a_fault_is_a_kind_and_a_time(
    value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["emulate", "--fault", value])
    assert exit_info.value.code == 2
    assert f"error: argument --fault: {message}" in capsys.readouterr().err


def test_every_driver_declares_the_faults_its_emulator_injects() -> None:
    from hardware.drivers import DRIVERS, load

    for spec in DRIVERS.values():
        module = importlib.import_module(spec.emulator.partition(":")[0])
        emulator = next(
            value
            for value in vars(module).values()
            if isinstance(value, type) and issubclass(value, Emulator) and value is not Emulator
        )
        assert emulator.fault_kinds() == spec.fault_kinds, spec.name
        assert callable(load(spec.emulator)) and callable(load(spec.plant))


def test_calibrate_through_the_dynamixel_plant_measures_offset_and_torque_scale(
    start_driver_emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emu = start_driver_emulator("dynamixel", start_angle_rad=math.pi)
    profile = tmp_path / "dxl.toml"
    argv = ["calibrate", "--device", emu.port, "--driver", "dynamixel", "--profile", str(profile)]
    extra = [
        "--duration-s",
        "0.3",
        "--step-duration-s",
        "1.2",
        "--gravity-torque-nm",
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


@pytest.mark.parametrize(
    "argv",
    [
        ["emulate", "--duration", "1"],
        ["emulate", "--start-angle", "0"],
        ["calibrate", "--device", "/dev/null", "--gravity-torque", "5"],
    ],
)
def test_an_option_is_named_in_full(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err
