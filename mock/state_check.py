"""``nexsis mock --state FILE --check``: verify a state file without changing it.

The file is copied with SQLite's online backup (a reader: a running mock is not disturbed, and
the copy holds what FILE and FILE-wal hold together), and the copy is opened as `nexsis mock`
opens a state file: the snapshot decoded and built, every operation since replayed. So `--check`
finds exactly what would stop a start, and a start never finds more.
"""

from __future__ import annotations

import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

from .domain import Service
from .store.persistence import EXIT_STATE_FILE, StateFileError, damaged, precheck, wal_missing

__all__ = ["check_state"]


def _verify(path: Path, fixtures: list[Path] | None, work: Path) -> str:
    if not precheck(path):
        raise StateFileError(f"{path}: no such file")
    missing = wal_missing(path)
    copy = work / "state.sqlite"
    try:
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            problems = [row[0] for row in source.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise StateFileError(f"{path}: the file is damaged ({problems[0]}); restore it from a backup")
            marker = source.execute("SELECT value FROM meta WHERE key='open'").fetchone()
            if marker and marker[0] == "1" and missing:
                raise StateFileError(missing)
            target = sqlite3.connect(copy)
            source.backup(target)
            target.execute("UPDATE meta SET value='0' WHERE key='open'")  # the copy is complete
            target.commit()
            target.close()
        finally:
            source.close()
    except sqlite3.DatabaseError as exc:
        raise damaged(path, exc) from None
    try:
        service = Service.create(fixtures=fixtures, state_file=copy)
    except StateFileError as exc:
        raise StateFileError(str(exc).replace(str(copy), str(path))) from None
    try:
        stats = service.stats()
    finally:
        service.close()
    return (f"{path}: ok: {stats['users']} users, {stats['courses']} courses, {stats['enrolments']} "
            f"enrolments, {stats['logs']} log entries")


def check_state(path: Path, fixtures: list[Path] | None) -> int:
    """One line on stdout and exit 0, or one line on stderr and `EXIT_STATE_FILE`."""
    work = Path(tempfile.mkdtemp(prefix="nexsis-mock-check-"))
    try:
        print(_verify(path, fixtures, work))
        return 0
    except StateFileError as exc:
        print(f"nexsis mock: {exc}", file=sys.stderr)
        return EXIT_STATE_FILE
    finally:
        shutil.rmtree(work, ignore_errors=True)
