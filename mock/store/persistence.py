"""Durable, shared state: an SQLite operation log behind the in-memory state.

The in-memory `State` is a cache of (snapshot + operations). The database holds:

* `snapshot`: the full state (the fixture format, orjson + zlib) of the current *epoch*. A reset
  or an import starts a new epoch: new snapshot, empty operation log.
* `ops`: every acknowledged write since the snapshot, in commit order: the operation with its
  parameters and the clock value it ran with (replaying is deterministic: same order, same ids).
  The log is compacted: once `compact_after` records follow the snapshot, the write that reaches
  that count also rewrites the epoch's snapshot from memory and deletes the records it covers
  (`meta.snapshot_seq` says up to which record the snapshot goes). A start therefore reads one
  snapshot and at most `compact_after` records, however many writes the file has seen, and the
  file stays bounded (records of reads' NexSIS log entries included).

A write takes SQLite's write lock (`BEGIN IMMEDIATE`), catches up on operations other workers
committed, applies its own operation in memory, appends it and commits; the caller gets its answer
only after the commit, so an acknowledged write is durable. Reads catch up first, but only when
`PRAGMA data_version` says another connection committed, which costs a few microseconds.

Journal mode WAL with `synchronous=FULL`: each commit fsyncs the WAL, so an acknowledged write
survives a power cut as well as a killed process (NORMAL would survive only the latter). The cost
is one fsync per write, acceptable for a mock; reads never fsync.
"""

from __future__ import annotations

import contextlib
import sqlite3
import weakref
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS snapshot (epoch INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS ops (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, epoch INTEGER NOT NULL, payload BLOB NOT NULL
);
"""


class StateFileError(RuntimeError):
    """The state file cannot be used (not SQLite, damaged, incomplete, locked for too long).

    Its message is one line naming the file and what is wrong; `nexsis mock` prints it and exits
    with `EXIT_STATE_FILE`. Nothing in the file is changed when this is raised at start.
    """


#: Operation records after which the snapshot is rewritten (see the module docstring).
COMPACT_AFTER = 10_000
#: SQLite's `synchronous` for state files: FULL (an fsync per commit); the restart benchmark
#: lowers it to build a file of a million writes quickly, nothing else may.
SYNCHRONOUS = "FULL"

#: Exit code of `nexsis mock` (and `--check`) when the state file is unusable (mock/README.md).
EXIT_STATE_FILE = 4

_OP_KEYS = {"api": str, "op": str, "params": dict, "now": int}


def _wal(path: Path) -> Path:
    return path.with_name(path.name + "-wal")


def precheck(path: Path) -> bool:
    """Refuse, before SQLite touches it, a file that cannot be a state file; True if it exists.

    An existing 0-byte file with no WAL beside it holds no state: starting from the fixtures would
    hide that a copy or a disk went wrong, so it is refused (delete it to start afresh).
    """
    if not path.exists():
        return False
    if path.is_dir():
        raise StateFileError(f"{path}: is a directory, not a state file")
    wal = _wal(path)
    if path.stat().st_size == 0 and not (wal.exists() and wal.stat().st_size > 0):
        raise StateFileError(f"{path}: the file is empty (0 bytes), not a state file; restore it from a "
                             "backup, or delete it to start from the fixtures")
    return True


def wal_missing(path: Path) -> str:
    """The error for a FILE whose FILE-wal is absent ('' when it is there)."""
    wal = _wal(path)
    if wal.exists() and wal.stat().st_size > 0:
        return ""
    return (f"{path}: a mock had it open and {wal.name} is missing (its newest writes are there): "
            f"copy {wal.name} with it, or back up with sqlite3 .backup or GET /__admin/state")


def _close_connection(conn: sqlite3.Connection, marked: list[bool]) -> None:
    """Close the connection; if this mock marked the file open, mark it closed first.

    SQLite checkpoints the WAL into the file when its last connection closes. A start that was
    refused never marked the file, so it closes without writing a byte.
    """
    with contextlib.suppress(sqlite3.Error):
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if marked[0]:
            conn.execute("UPDATE meta SET value='0' WHERE key='open'")
    with contextlib.suppress(sqlite3.Error):
        conn.close()


def pack(data: Any) -> bytes:
    return zlib.compress(orjson.dumps(data), 1)


def unpack(blob: bytes) -> Any:
    return orjson.loads(zlib.decompress(blob))


class Journal:
    """One connection to the state file; not thread-safe (the Service serialises calls)."""

    def __init__(self, path: Path, *, busy_timeout_ms: int = 30000, compact_after: int | None = None) -> None:
        self.path = Path(path)
        self.compact_after = compact_after or COMPACT_AFTER
        self.existed = precheck(self.path)
        wal = _wal(self.path)
        wal_present = wal.exists() and wal.stat().st_size > 0
        try:
            self.conn = sqlite3.connect(
                str(self.path), isolation_level=None, check_same_thread=False, timeout=busy_timeout_ms / 1000
            )
            self.conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            mode = self.conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StateFileError(f"{self.path}: cannot switch to WAL journal mode (got {mode})")
            self.conn.execute(f"PRAGMA synchronous={SYNCHRONOUS}")
            self.conn.executescript(_SCHEMA)
            # 'open' is '1' in the main file while a mock has it open (set and checkpointed at start,
            # '0' again on close): then the newest writes may be in FILE-wal only, and a FILE
            # without its FILE-wal (copied alone) would look like an older or empty site.
            marker = self.conn.execute("SELECT value FROM meta WHERE key='open'").fetchone()
        except sqlite3.DatabaseError as exc:
            with contextlib.suppress(Exception):
                self.conn.close()
            raise StateFileError(f"{self.path}: not a usable state file: {exc}") from None
        if marker and marker[0] == "1" and not wal_present:
            self.conn.close()
            raise StateFileError(wal_missing(self.path))
        # closed (and marked closed) however the process ends, so a clean exit never looks like a copy
        self._marked = [False]
        self._finalize = weakref.finalize(self, _close_connection, self.conn, self._marked)
        self.epoch = 0
        self.last_seq = 0
        self.data_version = -1

    # ------------------------------------------------------------------ transactions
    def begin(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def changed(self) -> bool:
        """True when another connection committed since the last look (cheap)."""
        version = self.conn.execute("PRAGMA data_version").fetchone()[0]
        if version != self.data_version:
            self.data_version = version
            return True
        return False

    # ------------------------------------------------------------------ reading
    def current_epoch(self) -> int:
        row = self.conn.execute("SELECT value FROM meta WHERE key='epoch'").fetchone()
        try:
            return int(row[0]) if row else 0
        except ValueError:
            raise StateFileError(f"{self.path}: the epoch record is damaged ({str(row[0])[:40]!r})") from None

    def start(self) -> Any:
        """Inside `begin`: the current epoch's snapshot, or None for a new file (start from the fixtures).

        Never starts a damaged or incomplete file from the fixtures (that would drop its data on
        the next write): an existing file without an epoch, or an epoch without its snapshot, is a
        `StateFileError`.
        """
        epoch = self.current_epoch()
        if epoch == 0:
            if self.existed:
                raise StateFileError(
                    f"{self.path}: holds no state (no epoch record): not a state file of this mock, or "
                    "copied without its -wal file; restore it from a backup, or delete it to start afresh")
            return None
        snapshot = self.snapshot(epoch)
        if snapshot is None:
            raise StateFileError(f"{self.path}: epoch {epoch} has no snapshot (damaged or edited file); "
                                 "restore it from a backup")
        self.epoch = epoch
        self.last_seq = self.snapshot_seq()
        return snapshot

    def snapshot_seq(self) -> int:
        """The last operation record the current snapshot includes (0: none)."""
        row = self.conn.execute("SELECT value FROM meta WHERE key='snapshot_seq'").fetchone()
        try:
            return int(row[0]) if row else 0
        except ValueError:
            raise StateFileError(f"{self.path}: the snapshot_seq record is damaged") from None

    def needs_reload(self) -> bool:
        """True when memory cannot catch up by replaying: a new epoch, or a compaction deleted
        records this process has not replayed yet."""
        return self.current_epoch() != self.epoch or self.snapshot_seq() > self.last_seq

    def compact_due(self) -> bool:
        return self.last_seq - self.snapshot_seq() >= self.compact_after

    def compact(self, data: Any) -> None:
        """Inside `begin`, memory at `last_seq`: the snapshot becomes `data`, the records it covers go."""
        self.conn.execute("UPDATE snapshot SET data=? WHERE epoch=?", (pack(data), self.epoch))
        self.conn.execute("DELETE FROM ops WHERE epoch=? AND seq<=?", (self.epoch, self.last_seq))
        self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('snapshot_seq', ?)",
                          (str(self.last_seq),))

    def mark_open(self) -> None:
        """Inside `begin`, at start: see 'open' in `__init__` (checkpointed after the commit)."""
        self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('open', '1')")
        self._marked[0] = True

    def checkpoint(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def snapshot(self, epoch: int) -> Any:
        row = self.conn.execute("SELECT data FROM snapshot WHERE epoch=?", (epoch,)).fetchone()
        if row is None:
            return None
        try:
            data = unpack(row[0])
        except (zlib.error, orjson.JSONDecodeError, TypeError) as exc:
            raise StateFileError(f"{self.path}: the snapshot of epoch {epoch} is damaged ({exc})") from None
        if not isinstance(data, dict):
            raise StateFileError(f"{self.path}: the snapshot of epoch {epoch} is damaged (not a document)")
        return data

    def ops_after(self, seq: int) -> Iterator[tuple[int, Any]]:
        cursor = self.conn.execute(
            "SELECT seq, payload FROM ops WHERE seq>? AND epoch=? ORDER BY seq", (seq, self.epoch)
        )
        for row_seq, payload in cursor:
            yield row_seq, self._op(row_seq, payload)

    def _op(self, seq: int, payload: Any) -> dict[str, Any]:
        """One operation record, checked: a damaged one is named instead of failing somewhere in a replay."""
        try:
            op = orjson.loads(payload)
        except (orjson.JSONDecodeError, TypeError) as exc:
            raise StateFileError(f"{self.path}: operation record {seq} is damaged ({exc})") from None
        ok = isinstance(op, dict) and isinstance(op.get("logs", []), list)
        if ok and "api" in op:
            ok = all(isinstance(op.get(k), t) for k, t in _OP_KEYS.items()) and isinstance(
                op.get("token"), str | None)
        if not ok:
            raise StateFileError(f"{self.path}: operation record {seq} is damaged (not an operation)")
        return op

    # ------------------------------------------------------------------ writing (inside begin/commit)
    def append(self, payload: Any) -> int:
        cursor = self.conn.execute(
            "INSERT INTO ops (epoch, payload) VALUES (?, ?)", (self.epoch, orjson.dumps(payload, default=str))
        )
        self.last_seq = int(cursor.lastrowid or 0)
        return self.last_seq

    def new_epoch(self, data: Any) -> int:
        epoch = self.current_epoch() + 1
        self.conn.execute("DELETE FROM ops")
        self.conn.execute("DELETE FROM snapshot")
        self.conn.execute("INSERT INTO snapshot (epoch, data) VALUES (?, ?)", (epoch, pack(data)))
        self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('epoch', ?)", (str(epoch),))
        row = self.conn.execute("SELECT seq FROM sqlite_sequence WHERE name='ops'").fetchone()
        # record numbers go on across epochs (AUTOINCREMENT): the new snapshot covers all so far
        self.last_seq = int(row[0]) if row else 0
        self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('snapshot_seq', ?)",
                          (str(self.last_seq),))
        self.epoch = epoch
        return epoch

    def close(self) -> None:
        self._finalize()


def load_snapshot(journal: Journal, snapshot: dict[str, Any]) -> Any:
    """The snapshot as a State; a snapshot that is not a valid state document is a damaged file."""
    from nexsis_mock import fixtures  # the fixtures package imports the store: no cycle at import time

    try:
        return fixtures.from_dict(snapshot, "state file")
    except fixtures.FixtureError as exc:
        raise StateFileError(f"{journal.path}: the snapshot of epoch {journal.epoch} is not a valid state "
                             f"({str(exc)[:200]})") from None


def damaged(path: Path, exc: BaseException) -> BaseException:
    """What starting on a state file raised, as the one-line error `nexsis mock` reports.

    A corrupted page surfaces as sqlite3.DatabaseError, a replay that cannot run as a Python
    error; both become a `StateFileError` naming the file. Anything else (KeyboardInterrupt) stays.
    """
    if isinstance(exc, StateFileError) or not isinstance(exc, Exception):
        return exc
    if isinstance(exc, sqlite3.DatabaseError):
        return StateFileError(f"{path}: the file is damaged ({exc}); restore it from a backup")
    return StateFileError(f"{path}: the file cannot be replayed ({type(exc).__name__}: {str(exc)[:200]}); "
                          "restore it from a backup")

