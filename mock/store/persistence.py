"""Durable, shared state: an SQLite operation log behind the in-memory state.

The in-memory `State` is a cache of (snapshot + operations). The database holds:

* `snapshot`: the full state (the fixture format, orjson + zlib) of the current *epoch*. A reset
  or an import starts a new epoch: new snapshot, empty operation log.
* `ops`: every acknowledged write since the snapshot, in commit order: the operation with its
  parameters and the clock value it ran with (replaying is deterministic: same order, same ids).

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
    """The state file cannot be used (not SQLite, locked for too long, unreadable)."""


def pack(data: Any) -> bytes:
    return zlib.compress(orjson.dumps(data), 1)


def unpack(blob: bytes) -> Any:
    return orjson.loads(zlib.decompress(blob))


class Journal:
    """One connection to the state file; not thread-safe (the Service serialises calls)."""

    def __init__(self, path: Path, *, busy_timeout_ms: int = 30000) -> None:
        self.path = Path(path)
        try:
            self.conn = sqlite3.connect(
                str(self.path), isolation_level=None, check_same_thread=False, timeout=busy_timeout_ms / 1000
            )
            self.conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            mode = self.conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StateFileError(f"{self.path}: cannot switch to WAL journal mode (got {mode})")
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise StateFileError(f"{self.path}: not a usable state file: {exc}") from None
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
        return int(row[0]) if row else 0

    def snapshot(self, epoch: int) -> Any:
        row = self.conn.execute("SELECT data FROM snapshot WHERE epoch=?", (epoch,)).fetchone()
        return None if row is None else unpack(row[0])

    def ops_after(self, seq: int) -> Iterator[tuple[int, Any]]:
        cursor = self.conn.execute(
            "SELECT seq, payload FROM ops WHERE seq>? AND epoch=? ORDER BY seq", (seq, self.epoch)
        )
        for row_seq, payload in cursor:
            yield row_seq, orjson.loads(payload)

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
        self.epoch = epoch
        self.last_seq = 0
        return epoch

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()
