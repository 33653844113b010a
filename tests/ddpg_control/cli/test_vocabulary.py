"""One CLI vocabulary (docs/cli.md), checked on every command's parser.

:func:`violations` walks the parsers of :data:`ddpg_control.cli.main.COMMANDS` and returns every
(command, option, rule) that breaks a rule of docs/cli.md; the first test asserts there is none
beyond :data:`PENDING`. The toy parser below breaks every rule once, so each rule is seen to fail.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from ddpg_control.cli import arguments
from ddpg_control.cli.arguments import MEANINGS
from ddpg_control.cli.main import build_parser

Violation = tuple[str, str, str]

#: The unit suffixes of docs/cli.md.
UNIT_SUFFIXES = ("-s", "-ms", "-hz", "-rad", "-rad-s", "-nm", "-nm-s", "-kg", "-m-s2")
#: A word in an option's name that makes it a physical quantity, and the suffixes it may take.
PHYSICAL_WORDS: dict[str, tuple[str, ...]] = {
    "duration": ("-s", "-ms"),
    "seconds": ("-s",),
    "period": ("-s", "-ms"),
    "after": ("-s", "-ms"),
    "latency": ("-s", "-ms"),
    "watchdog": ("-s", "-ms"),
    "timeout": ("-s", "-ms"),
    "rate": ("-hz",),
    "frequency": ("-hz",),
    "angle": ("-rad",),
    "offset": ("-rad", "-nm"),
    "envelope": ("-rad",),
    "velocity": ("-rad-s",),
    "torque": ("-nm", "-nm-s"),
    "slew": ("-nm-s",),
    "mass": ("-kg",),
    "gravity": ("-m-s2", "-nm"),
}
#: Text in an option's help that names a unit: the option carries a physical quantity.
UNIT_WORDS = (" N*m", "N*m ", "rad/s", " Hz", " seconds", " kg", "m/s^2", ", s ", " s)")
#: Options whose names hold a physical word but whose values are dimensionless (shares, ratios).
DIMENSIONLESS = {"--drop-rate", "--corrupt-rate", "--torque-scale", "--rig-torque-scale"}
#: The ``type=`` functions that give a real number (a physical quantity unless dimensionless).
REAL_VALIDATORS = {"finite_float", "positive_float", "non_negative_float", "at_most", "at_least"}
#: The ``type=`` functions that give any number: one whose help names a unit is physical.
NUMBER_VALIDATORS = REAL_VALIDATORS | {
    "float",
    "int",
    "whole_number",
    "positive_int",
    "non_negative_int",
    "int_in_range",
}
#: Commands that show progress or a live status, so have ``--quiet``.
PROGRESS_COMMANDS = {"train", "score", "run", "excite"}
#: Commands that act with a policy, so name it with ``--policy``.
POLICY_COMMANDS = {"eval", "export", "inspect", "run", "score"}
#: Options that went, with what replaced them.
REMOVED = {
    "--no-progress": "--quiet",
    "--checkpoint": "--policy",
    "--telemetry": "--output",
    "--output-dir": "--output",
    "--signal-seed": "--seed",
    "--max-torque": "--torque-limit-nm, --device-torque-limit-nm or --rig-torque-limit-nm",
}


def command_parsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(commands.choices)


def long_name(action: argparse.Action) -> str:
    return max(action.option_strings, key=len) if action.option_strings else action.dest


def options(sub: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    """The command's options and positionals, without ``--help``."""
    return (a for a in sub._actions if not isinstance(a, argparse._HelpAction))


def takes_value(action: argparse.Action) -> bool:
    return action.nargs != 0


def _unit_rule(name: str, action: argparse.Action) -> bool:
    """True when ``name`` breaks the unit-suffix rule."""
    if name in DIMENSIONLESS or not takes_value(action) or not name.startswith("--"):
        return False
    words = name[2:].split("-")
    allowed = {s for word in words for s in PHYSICAL_WORDS.get(word, ())}
    if allowed:
        return not name.endswith(tuple(allowed))
    type_name = getattr(action.type, "__qualname__", "").split(".")[0]
    real = type_name in REAL_VALIDATORS or action.type is float
    says_unit = type_name in NUMBER_VALIDATORS and any(u in (action.help or "") for u in UNIT_WORDS)
    return (real or says_unit) and not name.endswith(UNIT_SUFFIXES)


def _validator_rule(action: argparse.Action) -> bool:
    """True when a value is parsed by something other than a shared validator of
    :mod:`ddpg_control.cli.arguments` (a plain string or path needs none)."""
    if not takes_value(action) or action.type in (None, str, Path):
        return False
    return getattr(action.type, "__module__", "") != arguments.__name__


def violations(parser: argparse.ArgumentParser) -> set[Violation]:
    found: set[Violation] = set()
    helps: dict[str, dict[str, str]] = defaultdict(dict)
    for command, sub in command_parsers(parser).items():
        if sub.allow_abbrev:
            found.add((command, "", "no abbreviations"))
        names = set()
        for action in options(sub):
            name = long_name(action)
            names.add(name)
            helps[name][command] = action.help or ""
            if name in REMOVED:
                found.add((command, name, "removed name"))
            if _unit_rule(name, action):
                found.add((command, name, "unit suffix"))
            if _validator_rule(action):
                found.add((command, name, "shared validator"))
            if name in MEANINGS and not (action.help or "").startswith(MEANINGS[name]):
                found.add((command, name, "one meaning"))
            if name == "--preset" and action.default is not None:
                found.add((command, name, "preset default None"))
            if name == "--output" and action.option_strings != ["-o", "--output"]:
                found.add((command, name, "-o/--output"))
            if "-o" in action.option_strings and name != "--output":
                found.add((command, name, "-o/--output"))
            if not action.option_strings and name in ("policy", "policies", "checkpoint"):
                found.add((command, name, "--policy"))
            if name.endswith("-seed") and name != "--seed":
                found.add((command, name, "one seed"))
        if command in PROGRESS_COMMANDS and "--quiet" not in names:
            found.add((command, "--quiet", "--quiet"))
        if command in POLICY_COMMANDS and "--policy" not in names:
            found.add((command, "--policy", "--policy"))
    for name, by_command in helps.items():
        if name in MEANINGS or len(set(by_command.values())) < 2:
            continue
        texts = list(by_command.values())
        usual = max(texts, key=texts.count)  # a tie flags every command
        tie = texts.count(usual) == 1
        found |= {
            (c, name, "one meaning") for c, text in by_command.items() if tie or text != usual
        }
    return found


def test_every_command_speaks_the_vocabulary() -> None:
    found = violations(build_parser())
    assert not found, sorted(found)


def _toy_parser() -> argparse.ArgumentParser:
    """Two commands that break every rule once."""
    parser = argparse.ArgumentParser(prog="toy")
    subparsers = parser.add_subparsers()
    run = subparsers.add_parser("run", allow_abbrev=False)
    run.add_argument("--duration", type=arguments.positive_float)  # unit suffix
    run.add_argument("--gain", type=float, help="in N*m")  # validator, unit (help)
    run.add_argument("--stiffness", type=arguments.finite_float)  # unit (type)
    run.add_argument("--no-progress", action="store_true")  # removed, no --quiet
    run.add_argument("--preset", default="default")  # preset default
    run.add_argument("--output", type=Path)  # no -o
    run.add_argument("policy", nargs="?")  # positional policy
    run.add_argument("--signal-seed", type=arguments.non_negative_int)  # one seed
    run.add_argument("--seed", type=arguments.non_negative_int, help="noise")  # one meaning
    run.add_argument("--gui", action="store_true", help="a window")
    score = subparsers.add_parser("score")
    score.add_argument("--gui", action="store_true", help="another window")  # one meaning
    return parser


def test_each_rule_can_fail() -> None:
    found = violations(_toy_parser())
    assert found >= {
        ("run", "--duration", "unit suffix"),
        ("run", "--gain", "shared validator"),
        ("run", "--gain", "unit suffix"),
        ("run", "--stiffness", "unit suffix"),
        ("run", "--no-progress", "removed name"),
        ("run", "--quiet", "--quiet"),
        ("run", "--policy", "--policy"),
        ("run", "--preset", "preset default None"),
        ("run", "--output", "-o/--output"),
        ("run", "policy", "--policy"),
        ("run", "--signal-seed", "one seed"),
        ("run", "--seed", "one meaning"),
        ("run", "--gui", "one meaning"),
        ("score", "--gui", "one meaning"),
        ("score", "--quiet", "--quiet"),
        ("score", "--policy", "--policy"),
        ("score", "", "no abbreviations"),
    }, sorted(found)
    assert ("run", "", "no abbreviations") not in found


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--sim", "--duration", "1"],
        ["run", "--sim", "--rate", "50"],
        ["excite", "--sim", "--torque", "1"],
        ["score", "--output-dir", "out"],
        ["export", "--tolerance", "1e-4"],
    ],
    ids=" ".join,
)
def test_a_removed_name_is_not_taken_as_an_abbreviation(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(argv)
    assert exc.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["train"],
        ["export", "--onnx"],
        ["run", "--sim"],
        ["run", "--device", "/dev/ttyUSB0"],
    ],
    ids=" ".join,
)
def test_the_commands_of_the_card_parse_verbatim(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert args.command == argv[0]
