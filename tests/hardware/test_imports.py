"""The robot path never imports torch: hardware/ and the emulate command stay torch-free."""

from __future__ import annotations

import subprocess
import sys


def test_hardware_and_emulate_do_not_import_torch() -> None:
    code = (
        "import sys\n"
        "import hardware.client, hardware.device, hardware.emulator, hardware.options\n"
        "import hardware.calibrate, ddpg_control.cli.emulate\n"
        "assert 'sim' not in sys.modules, 'the codec and client must not import sim'\n"
        "from ddpg_control.cli.main import build_parser\n"
        "build_parser()\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
