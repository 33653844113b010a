"""The executor seam: order kept, errors and dead workers recorded, the backend chosen from the
options and ``$RAY_ADDRESS``, Ray named without Ray installed."""

from __future__ import annotations

import os
import sys

import pytest

from ddpg_control.pipeline.executor import (
    RAY_ADDRESS_ENV,
    Failed,
    InProcess,
    LocalProcesses,
    batches,
    check_reachable,
    cluster_address,
    open_executor,
)
from ddpg_control.runtime.errors import ConfigError


def test_local_workers_keep_order_and_record_an_error_and_a_dead_worker() -> None:
    pool = LocalProcesses(2)
    try:
        assert list(pool.map(abs, range(-7, 0))) == [7, 6, 5, 4, 3, 2, 1]
        found = dict(pool.as_done(int, ["1", "x", "3"]))
        assert found[0] == 1 and found[2] == 3
        assert isinstance(found[1], Failed) and found[1].error.startswith("ValueError: ")
        assert "\n" not in found[1].error
        dead = dict(pool.as_done(os._exit, [3]))  # the worker process dies mid-task
        assert isinstance(dead[0], Failed) and "BrokenProcessPool" in dead[0].error
    finally:
        pool.stop()


def test_in_process_records_an_error_and_goes_on() -> None:
    assert list(InProcess().as_done(int, ["x", "2"]))[1] == (1, 2)
    assert isinstance(dict(InProcess().as_done(int, ["x"]))[0], Failed)


def test_batches_cover_every_item_in_order_a_few_per_cpu() -> None:
    items = list(range(103))
    chunks = batches(items, workers=2)
    assert [x for chunk in chunks for x in chunk] == items
    assert 4 <= len(chunks) <= 8 and all(len(c) > 1 for c in chunks)
    assert batches([1], workers=8) == [[1]] and batches([], workers=2) == []


def test_the_backend_comes_from_the_options_then_ray_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(RAY_ADDRESS_ENV, raising=False)
    assert cluster_address(None, None) is None
    assert cluster_address(None, "auto") == "auto"
    monkeypatch.setenv(RAY_ADDRESS_ENV, "10.0.0.5:6379")
    assert cluster_address(None, None) == "10.0.0.5:6379"
    assert cluster_address(3, None) is None  # asking for local workers wins
    with pytest.raises(ConfigError, match="--jobs"):
        cluster_address(2, "auto")


def test_naming_a_cluster_without_ray_installed_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(ConfigError, match=r"ddpg-control\[ray\]"), open_executor(1, "auto"):
        pass


def test_a_cluster_address_where_nothing_listens_is_refused_at_once() -> None:
    import socket

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        check_reachable(f"127.0.0.1:{port}")
        check_reachable(f"ray://127.0.0.1:{port}")
    with pytest.raises(ConfigError, match="no Ray cluster answers"):
        check_reachable(f"127.0.0.1:{port}")  # closed now
    check_reachable("auto")  # Ray's to resolve
