"""A damaged, empty or incomplete state file: one clear line, exit 4, the file left as it was (13 #6).

Each case starts the real command, `nexsis mock --state FILE`, in a subprocess (it must refuse
before it listens), then `nexsis mock --state FILE --check` on the same file; both must name the
problem in one line without a traceback, and the file's bytes must be unchanged afterwards.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from nexsis_mock.domain import Service
from nexsis_mock.store.persistence import EXIT_STATE_FILE
from tests.mock_server.conftest import free_port

NEXSIS = Path(sys.executable).with_name("nexsis")
KEY = "nexsis-demo-api-key-0001"


def mock(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(NEXSIS), "mock", *map(str, args)], capture_output=True, text=True, timeout=120)


def good_file(path: Path) -> Path:
    svc = Service.create(state_file=path)
    assert svc.call("nexsis", "putUser", {"userid": "KEEP1", "username": "keep.one"}, KEY).status == 200
    svc.close()
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sql(path: Path, statement: str) -> None:
    conn = sqlite3.connect(path)
    conn.execute(statement)
    conn.commit()
    conn.close()


def corrupt_pages(path: Path) -> None:
    data = bytearray(path.read_bytes())
    assert len(data) > 3 * 4096
    data[4096:len(data)] = b"\xa5" * (len(data) - 4096)
    path.write_bytes(bytes(data))


DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "corrupted pages": (corrupt_pages, "malformed"),
    "bad operation record": (lambda p: sql(p, "UPDATE ops SET payload = x'7b7b00ff'"), "operation record"),
    "operation record of the wrong shape": (
        lambda p: sql(p, "UPDATE ops SET payload = '{\"api\": 5}'"), "operation record"),
    "bad snapshot blob": (lambda p: sql(p, "UPDATE snapshot SET data = x'00010203'"), "snapshot of epoch 1"),
    "snapshot that is not a state": (
        lambda p: sql(p, "UPDATE snapshot SET data = zeroblob(0)"), "snapshot of epoch 1"),
    "epoch without its snapshot": (lambda p: sql(p, "DELETE FROM snapshot"), "epoch 1 has no snapshot"),
    "no epoch record": (lambda p: sql(p, "DELETE FROM meta WHERE key='epoch'"), "holds no state"),
    "not SQLite": (lambda p: p.write_text("users: []\n" * 500), "not a database"),
    "0 bytes": (lambda p: p.write_bytes(b""), "empty (0 bytes)"),
}


def assert_refused(result: subprocess.CompletedProcess[str], reason: str, path: Path) -> None:
    assert result.returncode == EXIT_STATE_FILE, (result.returncode, result.stdout, result.stderr)
    # (a library's DeprecationWarning at import may precede it on stderr: not the mock's output)
    lines = [line for line in result.stderr.splitlines() if line.startswith("nexsis mock")]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("nexsis mock: ") and str(path) in lines[0] and reason in lines[0], lines[0]


@pytest.mark.parametrize("case", list(DAMAGE))
def test_a_damaged_state_file_is_named_in_one_line_exit_4_and_left_as_is(tmp_path: Path, case: str) -> None:
    damage, reason = DAMAGE[case]
    path = good_file(tmp_path / "state.sqlite")
    damage(path)
    before = digest(path)
    assert_refused(mock("--state", path, "--port", free_port()), reason, path)
    assert_refused(mock("--state", path, "--check"), reason, path)
    assert digest(path) == before, "starting on a damaged file changed it"
    assert not (tmp_path / "state.sqlite-wal").exists() or case != "0 bytes"


def test_epoch_without_snapshot_keeps_its_operations(tmp_path: Path) -> None:
    """Before: the start began a new epoch from the fixtures and deleted every operation record."""
    path = good_file(tmp_path / "state.sqlite")
    sql(path, "DELETE FROM snapshot")
    assert mock("--state", path, "--port", free_port()).returncode == EXIT_STATE_FILE
    assert sqlite3.connect(path).execute("SELECT count(*) FROM ops").fetchone()[0] >= 1


def test_check_on_a_good_file_says_ok_and_changes_nothing(tmp_path: Path) -> None:
    path = good_file(tmp_path / "state.sqlite")
    before = digest(path)
    result = mock("--state", path, "--check")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{path}: ok: ") and "users" in result.stdout
    assert digest(path) == before


def test_check_needs_state_and_a_missing_file_is_not_created(tmp_path: Path) -> None:
    assert mock("--check").returncode == 2
    missing = tmp_path / "nope.sqlite"
    assert_refused(mock("--state", missing, "--check"), "no such file", missing)
    assert not missing.exists()


def test_a_file_copied_without_its_wal_is_refused_and_with_it_is_complete(tmp_path: Path) -> None:
    """FILE alone, copied while a mock has it open, lacks the writes still in FILE-wal."""
    live = tmp_path / "live" / "state.sqlite"
    live.parent.mkdir()
    svc = Service.create(state_file=live)  # open, as a running mock
    try:
        for n in range(3):
            assert svc.call("nexsis", "putUser", {"userid": f"W{n}", "username": f"w{n}"}, KEY).status == 200
        alone = tmp_path / "alone" / "state.sqlite"
        alone.parent.mkdir()
        shutil.copy(live, alone)
        both = tmp_path / "both" / "state.sqlite"
        both.parent.mkdir()
        shutil.copy(live, both)
        shutil.copy(live.with_name("state.sqlite-wal"), both.with_name("state.sqlite-wal"))
    finally:
        svc.close()
    before = digest(alone)
    assert_refused(mock("--state", alone, "--port", free_port()), "state.sqlite-wal is missing", alone)
    assert_refused(mock("--state", alone, "--check"), "state.sqlite-wal is missing", alone)
    assert digest(alone) == before
    assert mock("--state", both, "--check").returncode == 0
    again = Service.create(state_file=both)
    assert again.call("nexsis", "getUser", {"userid": "W2"}, KEY).status == 200
    again.close()


def test_a_cleanly_closed_file_starts_alone(tmp_path: Path) -> None:
    """The marker must not refuse a file whose mock closed it (its WAL is gone, its data all in FILE)."""
    path = good_file(tmp_path / "state.sqlite")
    assert not path.with_name("state.sqlite-wal").exists()
    svc = Service.create(state_file=path)
    assert svc.call("nexsis", "getUser", {"userid": "KEEP1"}, KEY).status == 200
    svc.close()


def test_a_process_that_ends_without_close_leaves_a_file_that_starts(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    code = (f"from nexsis_mock.domain import Service\n"
            f"s = Service.create(state_file={str(path)!r})\n"
            f"r = s.call('nexsis', 'putUser', {{'userid': 'X1', 'username': 'x1'}}, {KEY!r})\n"
            "assert r.status == 200\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    assert mock("--state", path, "--check").returncode == 0
