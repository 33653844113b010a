"""Every value-taking option of every command, given a wrong-typed or out-of-range value, is
refused with one error line and exit code 2 before any work starts: no traceback, no training,
no evaluation, no control loop, no emulator.

What one row asserts, whichever of the two error paths catches the value:

* exit code 2: argparse's ``SystemExit(2)`` (a ``type=`` check) or ``main``'s return value (a
  :class:`~ddpg_control.runtime.errors.DdpgControlError` raised by the command);
* no ``Traceback`` anywhere on stderr;
* the last stderr line is the error, ``ddpg-control COMMAND: error: argument --OPTION: ...``
  (argparse, after its usage lines) or ``error: ...`` (the command), and no other line says
  ``error:``;
* that line contains the row's expected text: the option's name, or the bad value where the
  message is about the value (a missing file, an unknown environment).

The table is checked against the parser itself, so a new option cannot go untested unnoticed:
each value-taking option of each command has rows here or an entry in ``NO_WRONG_VALUE``.
"""

from __future__ import annotations

import argparse
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from ddpg_control.cli.main import COMMANDS, build_parser, main

#: The ``tiny_policy`` fixture's file in each row's working directory, for rows whose option is
#: checked only once the policy is loaded.
TINY = "tiny.onnx"
#: A plain file and a folder in each row's working directory.
A_FILE = "a-file"
A_FOLDER = "a-folder"
SIM = ["run", "--sim", "--policy", TINY]
#: A device run that fails while its settings are resolved, before any port is opened.
DEVICE = ["run", "--device", "/dev/null", "--policy", TINY]
CAL = ["calibrate", "--device", "/dev/null"]

#: (argv, text the error line must contain). Each option gets a wrong-typed value and the
#: out-of-range values that apply to it.
ROWS: list[tuple[list[str], str]] = [
    # train
    (["train", "--env", "CartPole-v1"], "CartPole-v1"),
    (["train", "--env", "MountainCarContinuous-v0"], "MountainCarContinuous-v0"),
    (["train", "--env", "Nope-v9"], "Nope-v9"),
    (["train", "--env", ""], "env.id"),
    (["train", "--seed", "abc"], "--seed"),
    (["train", "--seed", "1.5"], "--seed"),
    (["train", "--seed", "-1"], "seed"),
    (["train", "--seed", str(2**64)], "seed"),
    (["train", "--total-steps", "many"], "--total-steps"),
    (["train", "--total-steps", "1e3"], "--total-steps"),
    (["train", "--total-steps", "0"], "--total-steps"),
    (["train", "--total-steps", "-5"], "--total-steps"),
    (["train", "--episode-s", "long"], "--episode-s"),
    (["train", "--episode-s", "0"], "--episode-s"),
    (["train", "--episode-s", "-10"], "--episode-s"),
    (["train", "--episode-s", "nan"], "--episode-s"),
    (["train", "--episode-s", "0.01"], "--episode-s"),
    (["sweep", "--episode-s", "0"], "--episode-s"),
    (["sweep", "--episode-s", "nan"], "--episode-s"),
    (["train", "--population", "many"], "--population"),
    (["train", "--population", "0"], "--population"),
    (["train", "--config", "missing.toml"], "missing.toml"),
    (["train", "--config", A_FOLDER], A_FOLDER),
    (["train", "--config", A_FILE], A_FILE),  # not TOML
    (["train", "--set", "tau"], "KEY=VALUE"),
    (["train", "--set", "nope=1"], "nope"),
    (["train", "--set", "seed=abc"], "seed"),
    (["train", "--set", "agent.tau=2.0"], "agent.tau"),
    (["train", "--preset", "heavy"], "--preset"),
    (["train", "--env", "PyBulletPendulum-v0", "--preset", "nope"], "nope"),
    (["train", "--name", ""], "--name"),
    (["train", "--name", "a/b"], "--name"),
    (["train", "--name", ".."], "--name"),
    (["train", "--runs-dir", A_FILE], A_FILE),
    (["train", "--resume", "nowhere"], "nowhere"),
    (["train", "--resume", A_FILE], A_FILE),  # not a checkpoint
    # eval
    (["eval", "--policy", "missing.pt"], "missing.pt"),
    (["eval", "--policy", "missing.onnx"], "missing.onnx"),
    (["eval", "--policy", A_FILE], A_FILE),  # not ONNX
    (["eval", "--episodes", "abc"], "--episodes"),
    (["eval", "--episodes", "0"], "--episodes"),
    (["eval", "--episodes", "-3"], "--episodes"),
    (["eval", "--seed", "abc"], "--seed"),
    (["eval", "--seed", "-1"], "--seed"),
    (["eval", "--policy", TINY, "--env", "Nope-v1"], "Nope-v1"),
    (["eval", "--policy", TINY, "--env", "CartPole-v1"], "CartPole-v1"),
    (["eval", "--policy", TINY, "--preset", "heavy"], "--preset"),
    (["eval", "--policy", TINY, "--env", "PyBulletPendulum-v0", "--preset", "nope"], "nope"),
    (["eval", "--record", "swing.mp4"], "--record"),
    (["eval", "--record", f"{A_FOLDER}.gif"], "--record"),
    (["eval", "--runs-dir", "nowhere"], "nowhere"),
    # export
    (["export", "--policy", "missing.pt"], "missing.pt"),
    (["export", "--policy", A_FILE], A_FILE),  # not a checkpoint
    (["export", "--output", A_FOLDER], "--output"),
    (["export", "--opset", "abc"], "--opset"),
    (["export", "--opset", "7"], "--opset"),
    (["export", "--opset", "99"], "--opset"),
    (["export", "--tolerance-nm", "abc"], "--tolerance-nm"),
    (["export", "--tolerance-nm", "0"], "--tolerance-nm"),
    (["export", "--tolerance-nm", "-0.00001"], "--tolerance-nm"),
    (["export", "--tolerance-nm", "nan"], "--tolerance-nm"),
    (["export", "--tolerance-nm", "0.01"], "--tolerance-nm"),
    (["export", "--runs-dir", "nowhere"], "nowhere"),
    # inspect
    (["inspect", "--policy", "missing.onnx"], "missing.onnx"),
    (["inspect", "--policy", A_FILE], A_FILE),  # not ONNX
    (["inspect", "--runs-dir", "nowhere"], "nowhere"),
    # run
    (["run", "--device", ""], "--device"),
    (["run", "--device", "socket://127.0.0.1:99999"], "--device"),
    (["run", "--device", "socket://127.0.0.1:0"], "--device"),
    (["run", "--device", "socket://127.0.0.1:abc"], "--device"),
    (["run", "--device", "rfc2217://127.0.0.1"], "--device"),
    (["run", "--sim", "--policy", "missing.onnx"], "missing.onnx"),
    (["run", "--sim", "--runs-dir", "nowhere"], "nowhere"),
    (["run", "--sim", "--duration-s", "abc"], "--duration-s"),
    (["run", "--sim", "--duration-s", "-1"], "--duration-s"),
    (["run", "--sim", "--duration-s", "nan"], "--duration-s"),
    (["run", "--sim", "--rate-hz", "abc"], "--rate-hz"),
    (["run", "--sim", "--rate-hz", "0"], "--rate-hz"),
    (["run", "--sim", "--rate-hz", "-50"], "--rate-hz"),
    (["run", "--sim", "--rate-hz", "inf"], "--rate-hz"),
    (["run", "--sim", "--rate-hz", "nan"], "--rate-hz"),
    (["run", "--sim", "--torque-limit-nm", "abc"], "--torque-limit-nm"),
    (["run", "--sim", "--torque-limit-nm", "0"], "--torque-limit-nm"),
    (["run", "--sim", "--torque-limit-nm", "-2"], "--torque-limit-nm"),
    (["run", "--sim", "--torque-limit-nm", "nan"], "--torque-limit-nm"),
    (["run", "--sim", "--slew-limit-nm-s", "abc"], "--slew-limit-nm-s"),
    (["run", "--sim", "--slew-limit-nm-s", "0"], "--slew-limit-nm-s"),
    (["run", "--sim", "--slew-limit-nm-s", "inf"], "--slew-limit-nm-s"),
    (["run", "--sim", "--max-velocity-rad-s", "abc"], "--max-velocity-rad-s"),
    (["run", "--sim", "--max-velocity-rad-s", "0"], "--max-velocity-rad-s"),
    (["run", "--sim", "--max-velocity-rad-s", "nan"], "--max-velocity-rad-s"),
    (["run", "--sim", "--start-angle-rad", "abc"], "--start-angle-rad"),
    (["run", "--sim", "--start-angle-rad", "nan"], "--start-angle-rad"),
    (["run", "--sim", "--start-angle-rad", "inf"], "--start-angle-rad"),
    (["run", "--sim", "--catch", "pid"], "--catch"),
    ([*SIM, "--catch", "lqr"], "--catch lqr needs the rig's mass"),  # it records no rig
    (["run", "--sim", "--policy", "classical", "--catch", "lqr"], "--catch"),
    (["run", "--sim", "--start-velocity-rad-s", "abc"], "--start-velocity-rad-s"),
    (["run", "--sim", "--start-velocity-rad-s", "nan"], "--start-velocity-rad-s"),
    ([*SIM, "--preset", "nope"], "nope"),
    (["run", "--sim", "--seed", "abc"], "--seed"),
    (["run", "--sim", "--seed", "-1"], "--seed"),
    (["run", "--sim", "--baud", "abc"], "--baud"),
    (["run", "--sim", "--baud", "9600.5"], "--baud"),
    (["run", "--sim", "--baud", "0"], "--baud"),
    (["run", "--sim", "--baud", "-9600"], "--baud"),
    (["run", "--sim", "--watchdog-ms", "abc"], "--watchdog-ms"),
    (["run", "--sim", "--watchdog-ms", "0"], "--watchdog-ms"),
    (["run", "--sim", "--watchdog-ms", "-100"], "--watchdog-ms"),
    (["run", "--sim", "--upright-offset-rad", "abc"], "--upright-offset-rad"),
    (["run", "--sim", "--upright-offset-rad", "nan"], "--upright-offset-rad"),
    (["run", "--sim", "--direction", "abc"], "--direction"),
    (["run", "--sim", "--direction", "0"], "--direction"),
    (["run", "--sim", "--direction", "2"], "--direction"),
    (["run", "--sim", "--torque-scale", "abc"], "--torque-scale"),
    (["run", "--sim", "--torque-scale", "0"], "--torque-scale"),
    (["run", "--sim", "--torque-scale", "-1"], "--torque-scale"),
    (["run", "--sim", "--torque-scale", "inf"], "--torque-scale"),
    (["run", "--sim", "--stuck-sensor-s", "abc"], "--stuck-sensor-s"),
    (["run", "--sim", "--stuck-sensor-s", "-0.5"], "--stuck-sensor-s"),
    (["run", "--sim", "--stuck-sensor-s", "nan"], "--stuck-sensor-s"),
    (["run", "--sim", "--driver", "nope"], "--driver"),
    (["run", "--sim", "--device-id", "abc"], "--device-id"),
    (["run", "--sim", "--device-id", "-1"], "--device-id"),
    (["run", "--sim", "--driver-option", "torque_constant"], "--driver-option"),
    (["run", "--sim", "--driver-option", "=1"], "--driver-option"),
    ([*DEVICE, "--driver-option", "nope=1"], "nope"),
    ([*DEVICE, "--profile", "missing.toml"], "missing.toml"),
    ([*DEVICE, "--profile", A_FILE], A_FILE),  # not TOML
    # plot
    (["plot", "missing.csv"], "missing.csv"),
    (["plot", A_FOLDER], A_FOLDER),
    (["plot", A_FILE], A_FILE),  # not a telemetry CSV
    (["plot", "--output", "plot.txt"], "--output"),
    (["plot", "--runs-dir", "nowhere"], "nowhere"),
    # emulate
    (["emulate", "--tcp", "abc"], "--tcp"),
    (["emulate", "--tcp", "-1"], "--tcp"),
    (["emulate", "--tcp", "65536"], "--tcp"),
    (["emulate", "--tcp", "99999"], "--tcp"),
    (["emulate", "--duration-s", "abc"], "--duration-s"),
    (["emulate", "--duration-s", "-1"], "--duration-s"),
    (["emulate", "--duration-s", "nan"], "--duration-s"),
    (["emulate", "--start-angle-rad", "abc"], "--start-angle-rad"),
    (["emulate", "--start-angle-rad", "nan"], "--start-angle-rad"),
    (["emulate", "--device-torque-limit-nm", "abc"], "--device-torque-limit-nm"),
    (["emulate", "--device-torque-limit-nm", "0"], "--device-torque-limit-nm"),
    (["emulate", "--device-torque-limit-nm", "-2"], "--device-torque-limit-nm"),
    (["emulate", "--device-torque-limit-nm", "inf"], "--device-torque-limit-nm"),
    (["emulate", "--seed", "abc"], "--seed"),
    (["emulate", "--seed", "-1"], "--seed"),
    (["emulate", "--protocol-version", "abc"], "--protocol-version"),
    (["emulate", "--protocol-version", "-1"], "--protocol-version"),
    (["emulate", "--protocol-version", "256"], "--protocol-version"),
    (["emulate", "--latency-ms", "abc"], "--latency-ms"),
    (["emulate", "--latency-ms", "-1"], "--latency-ms"),
    (["emulate", "--latency-ms", "nan"], "--latency-ms"),
    (["emulate", "--drop-rate", "abc"], "--drop-rate"),
    (["emulate", "--drop-rate", "-0.1"], "--drop-rate"),
    (["emulate", "--drop-rate", "1.5"], "--drop-rate"),
    (["emulate", "--drop-rate", "nan"], "--drop-rate"),
    (["emulate", "--corrupt-rate", "abc"], "--corrupt-rate"),
    (["emulate", "--corrupt-rate", "-1"], "--corrupt-rate"),
    (["emulate", "--corrupt-rate", "2"], "--corrupt-rate"),
    (["emulate", "--fault", "disconnect@abc"], "--fault"),
    (["emulate", "--fault", "disconnect@-1"], "--fault"),
    (["emulate", "--fault", "disconnect@inf"], "--fault"),
    (["emulate", "--fault", "stuck-sensor@nan"], "--fault"),
    (["emulate", "--fault", "@1"], "--fault"),
    (["emulate", "--driver", "nope"], "--driver"),
    (["emulate", "--device-id", "abc"], "--device-id"),
    (["emulate", "--device-id", "-1"], "--device-id"),
    (["emulate", "--device-id", "253"], "--device-id"),
    (["emulate", "--fault", "nope"], "--fault nope"),
    (["emulate", "--driver", "odrive", "--fault", "disconnect"], "--fault disconnect"),
    # calibrate
    (["calibrate", "--device", ""], "--device"),
    ([*CAL, "--duration-s", "abc"], "--duration-s"),
    ([*CAL, "--duration-s", "0"], "--duration-s"),
    ([*CAL, "--step-torque-nm", "abc"], "--step-torque-nm"),
    ([*CAL, "--step-torque-nm", "-0.3"], "--step-torque-nm"),
    ([*CAL, "--step-duration-s", "nan"], "--step-duration-s"),
    ([*CAL, "--step-duration-s", "0"], "--step-duration-s"),
    ([*CAL, "--gravity-torque-nm", "abc"], "--gravity-torque-nm"),
    ([*CAL, "--gravity-torque-nm", "-5"], "--gravity-torque-nm"),
    ([*CAL, "--device-torque-limit-nm", "abc"], "--device-torque-limit-nm"),
    ([*CAL, "--device-torque-limit-nm", "0"], "--device-torque-limit-nm"),
    ([*CAL, "--driver", "nope"], "--driver"),
    ([*CAL, "--profile", A_FILE], A_FILE),  # not TOML
    ([*CAL, "--device-id", "-1"], "--device-id"),
    ([*CAL, "--driver-option", "key"], "--driver-option"),
    ([*CAL, "--driver-option", "nope=1"], "nope"),
    ([*CAL, "--baud", "0"], "--baud"),
    ([*CAL, "--watchdog-ms", "abc"], "--watchdog-ms"),
    ([*CAL, "--upright-offset-rad", "nan"], "--upright-offset-rad"),
    ([*CAL, "--direction", "0"], "--direction"),
    ([*CAL, "--torque-scale", "0"], "--torque-scale"),
    ([*CAL, "--stuck-sensor-s", "-1"], "--stuck-sensor-s"),
    (["emulate", "--params", "missing.toml"], "missing.toml"),
    (["emulate", "--params", A_FILE], A_FILE),
    # --params (rig parameters) for the other commands that build the simulated pendulum
    ([*SIM, "--params", "missing.toml"], "missing.toml"),
    (["train", "--env", "PyBulletPendulum-v0", "--params", A_FILE], A_FILE),
    (["eval", "--policy", TINY, "--env", "PyBulletPendulum-v0", "--params", A_FOLDER], A_FOLDER),
    # excite
    (["excite", "--device", ""], "--device"),
    (["excite", "--device", "socket://127.0.0.1:0"], "--device"),
    (["excite", "--sim", "--signal", "square"], "--signal"),
    (["excite", "--sim", "--torque-nm", "abc"], "--torque-nm"),
    (["excite", "--sim", "--torque-nm", "0"], "--torque-nm"),
    (["excite", "--sim", "--torque-nm", "5"], "--torque-nm"),  # above the plant's 2 N*m
    (["excite", "--sim", "--envelope-rad", "abc"], "--envelope-rad"),
    (["excite", "--sim", "--envelope-rad", "-1"], "--envelope-rad"),
    (["excite", "--sim", "--envelope-rad", "3"], "envelope"),
    (["excite", "--sim", "--duration-s", "abc"], "--duration-s"),
    (["excite", "--sim", "--duration-s", "0"], "--duration-s"),
    (["excite", "--sim", "--duration-s", "nan"], "--duration-s"),
    (["excite", "--sim", "--rate-hz", "abc"], "--rate-hz"),
    (["excite", "--sim", "--rate-hz", "0"], "--rate-hz"),
    (["excite", "--sim", "--rate-hz", "4"], "quarter of the loop rate"),
    (["excite", "--sim", "--f-min-hz", "abc"], "--f-min-hz"),
    (["excite", "--sim", "--f-min-hz", "0"], "--f-min-hz"),
    (["excite", "--sim", "--f-min-hz", "5"], "f_min_hz < f_max_hz"),
    (["excite", "--sim", "--f-max-hz", "abc"], "--f-max-hz"),
    (["excite", "--sim", "--f-max-hz", "-1"], "--f-max-hz"),
    (["excite", "--sim", "--f-max-hz", "20"], "quarter of the loop rate"),
    (["excite", "--sim", "--torque-limit-nm", "abc"], "--torque-limit-nm"),
    (["excite", "--sim", "--torque-limit-nm", "0"], "--torque-limit-nm"),
    (["excite", "--sim", "--torque-limit-nm", "0.5"], "lower --torque-nm"),
    (["excite", "--sim", "--max-velocity-rad-s", "abc"], "--max-velocity-rad-s"),
    (["excite", "--sim", "--max-velocity-rad-s", "0"], "--max-velocity-rad-s"),
    (["excite", "--sim", "--preset", "nope"], "nope"),
    (["excite", "--sim", "--params", "missing.toml"], "missing.toml"),
    (["excite", "--sim", "--params", A_FILE], A_FILE),
    (["excite", "--sim", "--start-angle-rad", "nan"], "--start-angle-rad"),
    (["excite", "--sim", "--seed", "-1"], "--seed"),
    (["excite", "--virtual-time", "--device", "/dev/null"], "--virtual-time"),
    (["excite", "--device", "/dev/null", "--profile", "missing.toml"], "missing.toml"),
    (["excite", "--device", "/dev/null", "--profile", A_FILE], A_FILE),  # not TOML
    # identify
    (["identify", "missing.csv"], "missing.csv"),
    (["identify", A_FILE], A_FILE),
    (["identify", A_FILE, "--output", A_FOLDER], "--output"),
    (["identify", A_FILE, "--plot", A_FOLDER], "--plot"),
    (["identify", A_FILE, "--mass-kg", "abc"], "--mass-kg"),
    (["identify", A_FILE, "--mass-kg", "0"], "--mass-kg"),
    (["identify", A_FILE, "--rig-torque-scale", "-1"], "--rig-torque-scale"),
    (["identify", A_FILE, "--gravity-m-s2", "nan"], "--gravity-m-s2"),
    (["identify", A_FILE, "--method", "magic"], "--method"),
    (["identify", A_FILE, "--horizon", "0"], "--horizon"),
    (["identify", A_FILE, "--horizon", "1.5"], "--horizon"),
    (["identify", A_FILE, "--control-period-s", "0"], "--control-period-s"),
    (["identify", A_FILE, "--rig-torque-limit-nm", "-2"], "--rig-torque-limit-nm"),
    (["emulate", "--counts-per-rev", "abc"], "--counts-per-rev"),
    (["emulate", "--counts-per-rev", "0"], "--counts-per-rev"),
    (["emulate", "--counts-per-rev", "-4096"], "--counts-per-rev"),
    # score
    (["score", "--policy", "missing.onnx"], "missing.onnx"),
    (["score", "--policy", A_FILE], A_FILE),  # not ONNX
    (["score", "--runs-dir", "nowhere"], "nowhere"),
    (["score", "--policy", TINY, "--preset", "nope"], "nope"),
    (["score", "--policy", TINY, "--params", "missing.toml"], "missing.toml"),
    (["score", "--policy", TINY, "--params", A_FILE], A_FILE),
    (["score", "--policy", TINY, "--episodes", "abc"], "--episodes"),
    (["score", "--policy", TINY, "--episodes", "0"], "--episodes"),
    (["score", "--policy", TINY, "--axes", "nope"], "--axes"),
    (["score", "--policy", TINY, "--axes", ","], "--axes"),
    (["score", "--policy", TINY, "--seed", "abc"], "--seed"),
    (["score", "--policy", TINY, "--seed", "-1"], "--seed"),
    (["score", "--policy", TINY, "--duration-s", "abc"], "--duration-s"),
    (["score", "--policy", TINY, "--duration-s", "5"], "--duration-s"),
    (["score", "--policy", TINY, "--duration-s", "nan"], "--duration-s"),
    (["score", "--policy", TINY, "--jobs", "abc"], "--jobs"),
    (["score", "--policy", TINY, "--jobs", "0"], "--jobs"),
    (["score", "--policy", TINY, "--output", A_FILE], "--output"),
    (["score", "--policy", TINY, "--plot", "score.txt"], "--plot"),
    (["score", "--policy", TINY, "--address", "http://10.0.0.1:10001"], "--address"),
    (["score", "--policy", TINY, "--address", "10.0.0.1:99999"], "--address"),
    (["score", "--policy", TINY, "--jobs", "2", "--address", "auto"], "--jobs"),
    # sweep
    (["sweep", "--seeds", "abc"], "--seeds"),
    (["sweep", "--seeds", "3-1"], "--seeds"),
    (["sweep", "--seeds", "0,-1"], "--seeds"),
    (["sweep", "--set", "tau"], "--set"),
    (["sweep", "--set", "nope=1,2"], "nope"),
    (["sweep", "--set", "agent.tau=0.01,2.0"], "agent.tau"),
    (["sweep", "--set", "agent.tau=0.01,,0.02"], "empty"),
    (["sweep", "--set", "seed=1,2"], "--seeds"),
    (["sweep", "--config", "missing.toml"], "missing.toml"),
    (["sweep", "--config", A_FILE], A_FILE),
    (["sweep", "--env", ""], "env.id"),
    (["sweep", "--total-steps", "many"], "--total-steps"),
    (["sweep", "--total-steps", "0"], "--total-steps"),
    (["sweep", "--population", "0"], "--population"),
    (["sweep", "--preset", "realistic"], "--preset"),  # Pendulum-v1 has no presets
    (["sweep", "--env", "PyBulletPendulum-v0", "--preset", "nope"], "nope"),
    (["sweep", "--params", "missing.toml"], "missing.toml"),
    (["sweep", "--params", A_FILE], A_FILE),
    (["sweep", "--axes", "nope"], "--axes"),
    (["sweep", "--episodes", "0"], "--episodes"),
    (["sweep", "--duration-s", "5"], "--duration-s"),
    (["sweep", "--rank-by", "overall_score,,x"], "--rank-by"),
    (["sweep", "--rank-by", "speed"], "speed"),
    (["sweep", "--jobs", "0"], "--jobs"),
    (["sweep", "--address", "ray://"], "--address"),
    (["sweep", "--address", "10.0.0.1"], "--address"),
    (["sweep", "--name", "a/b"], "--name"),
    (["sweep", "--runs-dir", A_FILE], A_FILE),
    (["sweep", "--resume", "nowhere"], "nowhere"),
    (["sweep", "--resume", A_FOLDER], A_FOLDER),
]

#: The motor-driver options ``excite`` shares with ``run`` (add_device_arguments) get the same
#: bad values.
_DEVICE_OPTIONS = {
    "--baud",
    "--watchdog-ms",
    "--upright-offset-rad",
    "--direction",
    "--torque-scale",
    "--stuck-sensor-s",
    "--driver",
    "--device-id",
    "--driver-option",
}
ROWS += [
    (["excite", "--sim", *argv[2:]], expected)
    for argv, expected in list(ROWS)
    if argv[:2] == ["run", "--sim"] and len(argv) == 4 and argv[2] in _DEVICE_OPTIONS
]

ROWS += [
    ([command, "--sim", "--live", value], "--live")
    for command in ("run", "excite")
    for value in ("abc", "70000", ":8765", "host:port")
]

#: Value-taking options no row covers, and why no value of theirs is wrong before the work.
NO_WRONG_VALUE: dict[tuple[str, str], str] = {
    # Any path is accepted (a folder gets a file name inside it). The file is opened once the
    # plant is built, before the loop starts, which this table never reaches; an unwritable
    # path ends the run there with exit code 2 (test_run_cli.py checks it).
    ("run", "--output"): "opened after the plant is built; checked in test_run_cli.py",
    ("excite", "--output"): "any path, as for run: opened just before the plant is built",
    ("excite", "--runs-dir"): "where excite writes its telemetry: created when missing",
    # Any path, or none (beside the CSV); opened once the plant is built, like --output; an
    # unwritable one ends the run there with exit code 2 (test_live_view.py checks it).
    ("run", "--mcap"): "opened after the plant is built; checked in test_live_view.py",
    ("excite", "--mcap"): "as for run",
}

#: Where real work starts (training, evaluating, a plant, the loop): reaching one of these means
#: a bad value got through.
WORK = [
    "ddpg_control.learning.trainer.train",
    "ddpg_control.learning.evaluation.evaluate",
    "sim.plant.SimPlant.__init__",
    "hardware.link.DevicePlant.open",
    "hardware.drivers.load",
    "ddpg_control.cli.sweep.train_export_score",
    "ddpg_control.runtime.control_loop.run_loop",
]


def command_parsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(commands.choices)


def option_name(action: argparse.Action) -> str:
    """An option's long name (``--output`` for ``-o/--output``), a positional's ``dest``."""
    return max(action.option_strings, key=len) if action.option_strings else action.dest


def value_options(parser: argparse.ArgumentParser) -> set[tuple[str, str]]:
    """(command, name) of every option and positional argument that takes a value."""
    return {
        (command, option_name(action))
        for command, sub in command_parsers(parser).items()
        for action in sub._actions
        if action.nargs != 0  # not a flag or --help
    }


def row_option(parser: argparse.ArgumentParser, argv: list[str]) -> tuple[str, str]:
    """The (command, name) a row tests: the bad value comes last, after its option, or alone
    as the command's positional argument."""
    if len(argv) > 2 and argv[-2].startswith("-"):
        return argv[0], argv[-2]
    sub = command_parsers(parser)[argv[0]]
    (positional,) = (a for a in sub._actions if not a.option_strings)
    return argv[0], positional.dest


@pytest.fixture
def workdir(tmp_path: Path, tiny_policy: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty working directory (no runs) holding the files the rows name; every place real
    work starts raises instead, and the signal handlers a command may install are put back."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / TINY).write_bytes(tiny_policy.read_bytes())
    (tmp_path / A_FILE).write_text("neither TOML, nor a checkpoint, nor ONNX, nor CSV\n")
    (tmp_path / A_FOLDER).mkdir()
    (tmp_path / f"{A_FOLDER}.gif").mkdir()

    def reached(*args: object, **kwargs: object) -> None:
        raise AssertionError("the command started its work: the bad value was not refused")

    for target in WORK:
        monkeypatch.setattr(target, reached)
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    yield tmp_path
    for signum, handler in handlers.items():
        signal.signal(signum, handler)


def exit_code_and_stderr(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse
        code = exc.code if isinstance(exc.code, int) else 1
    return code, capsys.readouterr().err


@pytest.mark.parametrize(("argv", "expected"), ROWS, ids=[" ".join(argv) for argv, _ in ROWS])
def test_bad_value_is_one_error_line_and_exit_code_2(
    argv: list[str], expected: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = exit_code_and_stderr(argv, capsys)
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines, "no error message"
    last = lines[-1]
    assert last.startswith(("error: ", f"ddpg-control {argv[0]}: error: ")), err
    assert not any("error:" in line for line in lines[:-1]), err
    assert expected in last, err
    assert not (workdir / "runs").exists()


def test_every_value_taking_option_has_rows_or_a_reason() -> None:
    parser = build_parser()
    options = value_options(parser)
    covered = {row_option(parser, argv) for argv, _ in ROWS}
    assert covered <= options, f"rows for options the parser does not have: {covered - options}"
    assert set(NO_WRONG_VALUE) <= options, set(NO_WRONG_VALUE) - options
    missing = options - covered - set(NO_WRONG_VALUE)
    assert not missing, f"options with no bad-value rows: {sorted(missing)}"


def test_the_top_level_parser_takes_no_values() -> None:
    parser = build_parser()
    takes_value = [a for a in parser._actions if a.nargs not in (0, argparse.PARSER)]
    assert not takes_value


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = exit_code_and_stderr([], capsys)
    assert code == 2
    assert err.strip().splitlines()[-1].startswith("ddpg-control: error: ")
    assert "COMMAND" in err and "Traceback" not in err


@pytest.mark.parametrize("command", COMMANDS)
def test_help_of_every_command(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: ddpg-control {command}")


@pytest.mark.parametrize(
    "argv",
    [
        ["emulate", "--tcp", "0"],
        ["emulate", "--tcp", "65535"],
        ["emulate", "--protocol-version", "2"],
        ["emulate", "--drop-rate", "1", "--corrupt-rate", "0", "--latency-ms", "0"],
        [
            "emulate",
            "--start-angle-rad",
            "-3.5",
            "--fault",
            "disconnect@0",
            "--fault",
            "stuck-sensor@0.5",
        ],
        ["run", "--device", "/dev/ttyUSB0", "--baud", "115_200", "--watchdog-ms", "1"],
        ["run", "--device", "socket://127.0.0.1:65535", "--direction", "-1"],
        ["run", "--device", "socket://localhost:5000?logging=debug", "--torque-scale", "0.5"],
        ["run", "--sim", "--stuck-sensor-s", "0", "--upright-offset-rad", "-0.1", "--seed", "0"],
        ["run", "--sim", "--start-angle-rad", "0", "--start-velocity-rad-s", "-2"],
        ["run", "--sim", "--duration-s", "0", "--policy", "classical", "-o", "new/t.csv"],
        ["export", "--opset", "13", "--tolerance-nm", "1e-3", "--output", "new/policy.onnx"],
        ["export", "--opset", "21", "--tolerance-nm", "1e-12", "-o", "p.onnx"],
        ["score", "--policy", "classical", "--policy", "a.onnx", "--duration-s", "5.01"],
        ["eval", "--seed", "0", "--record", "new/swing.GIF"],
        ["train", "--seed", str(2**64 - 1), "--total-steps", "1_000", "--name", "my-run.2"],
        ["plot", "-o", "plot.pdf"],
        ["plot", "-o", "no-suffix"],
    ],
    ids=" ".join,
)
def test_valid_edge_values_still_parse(argv: list[str]) -> None:
    build_parser().parse_args(argv)
