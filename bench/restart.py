"""Restart time of a persistent mock after many writes: `python -m bench.restart --writes 1000000`.

Builds a state file by `Service.call` (NexSIS `putUser` on a rotating set of 5,000 users, so the
site stays the default one plus those users), then times `Service.create(state_file=...)`: what
`nexsis mock --state FILE` spends before it listens. With compaction (store/persistence.py) the
restart reads one snapshot and at most `COMPACT_AFTER` records, whatever the number of writes;
`--no-compaction` shows the old behaviour (every record replayed) for comparison.

The file is built with `synchronous=OFF` (no fsync per write: a million fsyncs would take an hour
and measure the disk, not the restart); the restart itself is unaffected by how it was written.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from nexsis_mock.domain import Service
from nexsis_mock.store import persistence

KEY = "nexsis-demo-api-key-0001"


def build(path: Path, writes: int) -> float:
    svc = Service.create(state_file=path)
    start = time.perf_counter()
    for n in range(writes):
        user = n % 5000
        result = svc.call("nexsis", "putUser",
                          {"userid": f"B{user}", "username": f"b{user}", "firstname": f"F{n}"}, KEY)
        assert result.status == 200, result.body
    elapsed = time.perf_counter() - start
    svc.close()
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=100_000)
    parser.add_argument("--no-compaction", action="store_true")
    args = parser.parse_args(argv)
    persistence.SYNCHRONOUS = "OFF"
    if args.no_compaction:
        persistence.COMPACT_AFTER = 10**12
    with tempfile.TemporaryDirectory(prefix="nexsis-bench-restart-") as tmp:
        path = Path(tmp) / "state.sqlite"
        took = build(path, args.writes)
        size = path.stat().st_size
        start = time.perf_counter()
        svc = Service.create(state_file=path)
        restart = time.perf_counter() - start
        journal = svc._journal
        assert journal is not None
        tail = journal.last_seq - journal.snapshot_seq()
        svc.close()
    mode = "off" if args.no_compaction else f"after {persistence.COMPACT_AFTER:,} records"
    print(f"writes {args.writes:,} (built in {took:.0f} s, {args.writes / took:,.0f}/s); compaction {mode}; "
          f"file {size / 2**20:.1f} MiB; records replayed at restart {tail:,}; restart {restart:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
