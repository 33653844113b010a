"""``ddpg-control --help`` and every ``ddpg-control COMMAND --help`` work where torch, gymnasium
and pybullet cannot be imported: a fresh interpreter whose import system refuses them."""

from __future__ import annotations

import subprocess
import sys

from ddpg_control.cli.main import COMMANDS

BLOCKED = ("torch", "gymnasium", "pybullet")

SCRIPT = f"""
import contextlib, io, sys

class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {BLOCKED!r}:
            raise ImportError(f"{{name}} is blocked for this test")
        return None

sys.meta_path.insert(0, Refuse())
from ddpg_control.cli.main import COMMANDS, main

for argv in [["--help"]] + [[command, "--help"] for command in COMMANDS]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            main(argv)
        except SystemExit as exc:
            assert exc.code == 0, (argv, exc.code)
    assert out.getvalue().startswith("usage: ddpg-control"), (argv, out.getvalue()[:200])
    print("HELP OK", " ".join(argv))
"""


def test_every_help_works_without_torch_gymnasium_and_pybullet() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    shown = [line for line in done.stdout.splitlines() if line.startswith("HELP OK")]
    assert shown == ["HELP OK --help"] + [f"HELP OK {c} --help" for c in COMMANDS], done.stdout


def test_the_blocker_blocks() -> None:
    """The same blocker makes a module that needs gymnasium fail to import."""
    head = SCRIPT.split("from ddpg_control.cli.main")[0]
    done = subprocess.run(
        [sys.executable, "-c", head + "import ddpg_control.pipeline.envs\n"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "gymnasium is blocked for this test" in done.stderr
