"""The state file's operation log is compacted (snapshot + tail): bounded by writes and by reads (12, 13 #7).

`COMPACT_AFTER` is lowered so that a few hundred calls cross it several times; the benchmark
(`python -m bench.restart`, docs/benchmarks.md) measures a restart after a million writes.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
import pytest

from nexsis_mock.domain import Service
from nexsis_mock.store import persistence

KEY = "nexsis-demo-api-key-0001"


@pytest.fixture(autouse=True)
def small_compaction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(persistence, "COMPACT_AFTER", 40)


def records(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM ops").fetchone()[0])
    finally:
        conn.close()


def put(svc: Service, n: int) -> None:
    assert svc.call("nexsis", "putUser", {"userid": f"K{n}", "username": f"k{n}"}, KEY).status == 200


def test_writes_leave_at_most_compact_after_records_and_a_restart_has_them_all(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    svc = Service.create(state_file=path)
    for n in range(300):
        put(svc, n)
        assert records(path) <= 40
    expected = orjson.dumps(svc.export_state(), option=orjson.OPT_SORT_KEYS)
    svc.close()
    again = Service.create(state_file=path)
    assert orjson.dumps(again.export_state(), option=orjson.OPT_SORT_KEYS) == expected
    assert again.call("nexsis", "getUser", {"userid": "K0"}, KEY).status == 200
    again.close()


def test_reads_do_not_grow_the_operation_log(tmp_path: Path) -> None:
    """Before: every read's NexSIS log entry became an operation record, kept forever."""
    path = tmp_path / "state.sqlite"
    svc = Service.create(state_file=path)
    for _ in range(2000):
        assert svc.call("nexsis", "getUser", {"userid": "S1001"}, KEY).status == 200
        svc._flush_logs(force=True)
    assert records(path) <= 40
    logs = svc.call("nexsis", "getLogs", {"limit": 5}, KEY).body
    assert len(logs) == 5  # the entries are kept, in the snapshot
    svc.close()


def test_another_process_catches_up_across_a_compaction(tmp_path: Path) -> None:
    """A worker whose next records were compacted away reloads from the new snapshot instead."""
    path = tmp_path / "state.sqlite"
    a = Service.create(state_file=path)
    b = Service.create(state_file=path)
    assert b.call("nexsis", "getUser", {"userid": "S1001"}, KEY).status == 200
    for n in range(120):
        put(a, n)
    assert b.call("nexsis", "getUser", {"userid": "K119"}, KEY).status == 200
    assert b.call("nexsis", "getUser", {"userid": "K3"}, KEY).status == 200
    put(b, 500)
    assert a.call("nexsis", "getUser", {"userid": "K500"}, KEY).status == 200
    a.close()
    b.close()
