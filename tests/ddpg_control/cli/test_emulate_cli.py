"""``ddpg-control emulate`` in-process: the TCP port it is given."""

from __future__ import annotations

import signal
import socket
from collections.abc import Callable, Iterator

import pytest

from ddpg_control.cli.main import main

CliError = Callable[[list[str]], str]


@pytest.fixture(autouse=True)
def _restore_signal_handlers() -> Iterator[None]:
    """emulate stops on SIGINT/SIGTERM by installing its own handlers; put pytest's back."""
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    yield
    for signum, handler in handlers.items():
        signal.signal(signum, handler)


def test_a_port_in_use_is_one_error_line(cli_error: CliError) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        message = cli_error(["emulate", "--tcp", str(port)])
    assert f"cannot listen on 127.0.0.1:{port}" in message and "--tcp 0" in message


def test_tcp_0_listens_on_any_free_port(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["emulate", "--tcp", "0", "--duration-s", "0.1"]) == 0
    url = capsys.readouterr().out.splitlines()[0]
    assert url.startswith("socket://127.0.0.1:") and int(url.rsplit(":", 1)[1]) > 0
