"""The commands the documentation shows exist and run as written.

Every ``ddpg-control ...`` line in a fenced ``bash`` block of the README and of ``docs/*.md`` is
parsed by the real argument parser (a renamed or removed option fails here, cheaply, without
running anything). The README's and the tutorial's commands are also run, in order, in a
scratch folder, shortened where they would take long (fewer training steps, shorter runs,
fewer episodes: options appended after the documented ones, so the documented ones are still
parsed and used). Commands that need a real device (``/dev/ttyUSB0``) or a display (``--gui``,
``--render``) are only parsed; ``emulate`` is started in the background and its port takes the
place of the example port (``/dev/pts/3``) in the commands after it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ddpg_control.cli.main import build_parser, main
from tests.hardware.cli_runs import CLI, EmulatorProcess

ROOT = Path(__file__).resolve().parents[1]
PAGES = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
RUN_PAGES = (ROOT / "README.md", ROOT / "docs" / "tutorial.md")

#: Appended to a documented command of this name before it is run, to keep the run short.
SHORTER: dict[str, tuple[str, ...]] = {
    "train": ("--total-steps", "200", "--quiet"),
    "eval": ("--episodes", "2"),
    "run": ("--duration-s", "2", "--quiet"),
    "score": ("--quick", "--axes", "mass", "--episodes", "1", "--duration-s", "6", "--jobs", "1"),
    "calibrate": ("--duration-s", "0.5", "--step-duration-s", "1"),
}
EXAMPLE_PORT = re.compile(r"^/dev/pts/\d+$")
NEEDS_HARDWARE = re.compile(r"^/dev/tty")
NEEDS_DISPLAY = ("--gui", "--render")


@dataclass(frozen=True)
class Command:
    page: Path
    line: int
    argv: tuple[str, ...]  # after "ddpg-control"

    def __str__(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}: ddpg-control {shlex.join(self.argv)}"


def documented_commands(page: Path) -> list[Command]:
    """The ``ddpg-control`` lines of the page's ``bash`` blocks, comments removed."""
    commands: list[Command] = []
    fence: str | None = None  # the language of the open block, None outside blocks
    pending, start = "", 0  # a command continued on the next line with a backslash
    for number, line in enumerate(page.read_text().splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("```"):
            fence = stripped[3:].strip() if fence is None else None
            continue
        if fence not in ("bash", "sh", "shell") or not (
            pending or stripped.startswith("ddpg-control ")
        ):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        words = shlex.split(pending + stripped, comments=True)
        pending = ""
        while words:  # a line may chain commands: a && b; c
            cut = next((i for i, w in enumerate(words) if w in ("&&", "||", ";", "|")), len(words))
            if words[0] == "ddpg-control":
                commands.append(Command(page, start, tuple(words[1:cut])))
            words = words[cut + 1 :]
    return commands


ALL_COMMANDS = [command for page in PAGES for command in documented_commands(page)]


def test_the_readme_is_short_and_opens_with_make_demo_and_make_test() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 200
    opening = lines.index("```bash")
    assert lines[opening + 1].startswith("make demo") and lines[opening + 2].startswith("make test")
    assert opening + 1 < 25


def test_the_pages_that_are_run_show_commands() -> None:
    for page in RUN_PAGES:
        names = {command.argv[0] for command in documented_commands(page)}
        assert {"train", "export", "run", "emulate"} <= names, page


@pytest.fixture(scope="module")
def parser() -> argparse.ArgumentParser:
    return build_parser()


@pytest.mark.parametrize("command", ALL_COMMANDS, ids=str)
def test_every_documented_command_parses(
    command: Command,
    parser: argparse.ArgumentParser,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            parser.parse_args(command.argv)
        except SystemExit as exc:
            assert exc.code == 0, f"{command}\n{err.getvalue()}"


def _runnable(argv: list[str]) -> bool:
    return not any(NEEDS_HARDWARE.match(word) or word in NEEDS_DISPLAY for word in argv)


@pytest.fixture
def emulators() -> Iterator[list[EmulatorProcess]]:
    started: list[EmulatorProcess] = []
    yield started
    for emulator in started:
        emulator.finish()


@pytest.mark.parametrize("page", RUN_PAGES, ids=lambda page: page.name)
def test_the_readme_and_the_tutorial_run_as_written(
    page: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    emulators: list[EmulatorProcess],
) -> None:
    monkeypatch.chdir(tmp_path)
    port: str | None = None
    calibrated: set[str] = set()
    ran: list[list[str]] = []
    for command in documented_commands(page):
        argv = list(command.argv)
        if not _runnable(argv) or argv in ran:  # a command shown twice runs once
            continue
        ran.append(list(argv))
        name = argv[0]
        if name == "emulate":
            if emulators:
                emulators[-1].finish()
            emulators.append(EmulatorProcess([*CLI, *argv, "--duration-s", "120"]))
            port = emulators[-1].port
            continue
        if any(EXAMPLE_PORT.match(word) for word in argv):
            assert port is not None, f"{command}: no emulate before it"
            argv = [port if EXAMPLE_PORT.match(word) else word for word in argv]
        if "--help" not in argv:
            argv += SHORTER.get(name, ())
            if name == "run" and "--sim" in argv:
                argv.append("--virtual-time")
        try:
            code = main(argv)
        except SystemExit as exc:  # --help
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        assert code == 0, f"{command}\nran: {shlex.join(argv)}\n{out}\n{err}"
        if name == "calibrate":
            calibrated.add(argv[argv.index("--device") + 1])
        if name == "run" and "--device" in argv and port in calibrated:
            assert "device profile: " in err and "none saved" not in err, err
    assert len(ran) >= 4, f"{page.name}: only {ran} ran"


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    headings, fence = [], False
    for line in page.read_text().splitlines():
        if line.strip().startswith("```"):
            fence = not fence
        elif not fence and line.startswith("#"):
            headings.append(_anchor(line.lstrip("#")))
    return set(headings)


LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_link_between_the_pages_leads_somewhere(page: Path) -> None:
    broken = []
    for target in LINK.findall(page.read_text()):
        if re.match(r"^[a-z]+:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists() or (
            anchor and linked.suffix == ".md" and anchor not in _anchors(linked)
        ):
            broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)}: {broken}"


def _documented_run_directory() -> set[str]:
    """The files the run-directory block of docs/training.md names (``runs/<name>/`` ...)."""
    text = (ROOT / "docs" / "training.md").read_text()
    block = text[text.index("runs/<name>/\n") :].split("```")[0].splitlines()[1:]
    return {line.split()[0].rstrip("/") for line in block if line.strip()}


@pytest.mark.parametrize("population", ["1", "2"])
def test_the_run_directory_table_names_what_train_writes(
    population: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["train", "--runs-dir", str(tmp_path), "--name", "r", "--population", population]
    assert main([*argv, *SHORTER["train"]]) == 0
    run = tmp_path / "r"
    written = {p.relative_to(run).as_posix() for p in run.iterdir() if p.name != "checkpoints"}
    written |= {p.relative_to(run).as_posix() for p in (run / "checkpoints").iterdir()}
    assert written == _documented_run_directory()
