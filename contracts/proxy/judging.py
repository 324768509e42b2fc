"""Judging off the forwarding process: a child process judges, records and reports every exchange.

The proxy's event loop only forwards; each exchange, once its answer went out, is queued (bounded),
pickled in batches and written to the child's stdin (length-prefixed frames). The child
(``python -m nexsis_contracts.proxy.judging``) runs the `Collector`: judging, the HAR, the live
violation lines (on the stdout both share), and the reports when its stdin ends. Its exit code is
the run's (0 clean, 1 violations).

Why a process: judging an exchange costs about as much CPU as forwarding it (schemathesis' checks,
the schemas walked) and makes most of the garbage, whose full collections stalled the event loop
tens of milliseconds; on the loop, both were paid by every request in flight. In a process of its
own it runs on another core, and a slow judge slows the clients down instead of growing memory:
the queue is bounded, the pipe's writes wait for the child (`drain`), and the proxy admits a new
request only while fewer than ``max_pending`` are in flight or waiting to be queued
(`forward.Proxy`). The child starts in its own session, so a Ctrl-C in the terminal reaches only
the proxy, which then hands over what is queued and waits for the reports.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import pickle
import signal
import struct
import sys
from pathlib import Path
from typing import BinaryIO

from nexsis_contracts.proxy.exchange import Exchange

FRAME = struct.Struct("!Q")
#: Exchanges per frame at most (one write and one wake-up of the child for many exchanges).
BATCH = 64
#: Exit code of `nexsis proxy` when exchanges could not all be judged (the child failed).
NOT_JUDGED = 3
#: The child's exit code for a setting it cannot use (`--record` not writable): the proxy's usage error.
USAGE = 2


class JudgingStopped(Exception):
    """The judging process could not start, or ended before the traffic did."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code  # the child's exit code


class JudgingProcess:
    """The parent's side: `start`, then `submit` each exchange, then `finish` for the exit code."""

    def __init__(
        self,
        upstream: str,
        *,
        record: Path | None = None,
        report_dir: Path | None = None,
        queue_size: int = 256,
    ) -> None:
        self.argv = [sys.executable, "-m", "nexsis_contracts.proxy.judging", "--upstream", upstream]
        if record is not None:
            self.argv += ["--record", str(record)]
        if report_dir is not None:
            self.argv += ["--report-dir", str(report_dir)]
        self.queue: asyncio.Queue[Exchange | None] = asyncio.Queue(queue_size)
        self.proc: asyncio.subprocess.Process | None = None
        self.lost = 0  # exchanges the child never got (it had ended)
        self._feeder: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the child and wait until it is ready to judge (specs loaded); JudgingStopped if not."""
        ready_read, ready_write = os.pipe()
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv,
                "--ready-fd",
                str(ready_write),
                stdin=asyncio.subprocess.PIPE,
                pass_fds=(ready_write,),
                start_new_session=True,
            )
        finally:
            os.close(ready_write)
        try:
            ready = await asyncio.get_running_loop().run_in_executor(None, os.read, ready_read, 16)
        finally:
            os.close(ready_read)
        if not ready:
            code = await self.proc.wait()
            raise JudgingStopped(f"the judging process could not start (exit code {code})", code)
        self._feeder = asyncio.get_running_loop().create_task(self._feed())

    async def submit(self, ex: Exchange) -> None:
        await self.queue.put(ex)

    async def finish(self) -> int:
        """Hand over what is queued, end the child's input, and return its exit code."""
        await self.queue.put(None)
        if self._feeder is not None:
            await self._feeder
        assert self.proc is not None and self.proc.stdin is not None
        try:
            self.proc.stdin.close()
            await self.proc.stdin.wait_closed()
        except (BrokenPipeError, ConnectionResetError):
            pass
        code = await self.proc.wait()
        if self.lost:
            raise JudgingStopped(
                f"the judging process ended (exit code {code}); {self.lost} exchanges were not judged", code
            )
        return code

    async def _feed(self) -> None:
        while True:
            batch: list[Exchange] = []
            item = await self.queue.get()
            while item is not None:
                batch.append(item)
                if len(batch) >= BATCH or self.queue.empty():
                    break
                item = self.queue.get_nowait()
            if batch:
                await self._send(batch)
            if item is None:
                return

    async def _send(self, batch: list[Exchange]) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        if self.lost or self.proc.returncode is not None:
            self.lost += len(batch)
            return
        try:
            payload = pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # never expected (bytes and strings only); the feeder must not die
            self.lost += len(batch)
            return
        try:
            self.proc.stdin.write(FRAME.pack(len(payload)))
            self.proc.stdin.write(payload)
            await self.proc.stdin.drain()  # waits while the child is behind: backpressure
        except (BrokenPipeError, ConnectionResetError):
            self.lost += len(batch)


# -- the child's side -------------------------------------------------------------------------------


def frames(stream: BinaryIO) -> list[Exchange] | None:
    """The next batch of exchanges from the stream, or None at its end."""
    head = stream.read(FRAME.size)
    if len(head) < FRAME.size:
        return None
    (size,) = FRAME.unpack(head)
    payload = stream.read(size)
    if len(payload) < size:
        return None  # the proxy was killed mid-write: what came whole is judged and reported
    batch: list[Exchange] = pickle.loads(payload)  # our own parent's frames, never the network's
    return batch


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the proxy decides when the traffic ends
    parser = argparse.ArgumentParser(prog="nexsis_contracts.proxy.judging")
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--record", type=Path)
    parser.add_argument("--report-dir", type=Path)
    parser.add_argument("--ready-fd", type=int)
    args = parser.parse_args(argv)

    from nexsis_contracts.proxy.collector import Collector
    from nexsis_contracts.proxy.har import HarWriter
    from nexsis_contracts.proxy.judge import Judge

    try:
        har = HarWriter(args.record, args.upstream) if args.record else None
    except OSError as exc:
        print(f"nexsis proxy: cannot write --record {args.record}: {exc.strerror}", file=sys.stderr)
        return USAGE
    collector = Collector(Judge(args.upstream), har)
    # Both specs and schemathesis, loaded for good, out of the reach of full collections.
    gc.collect()
    gc.freeze()
    if args.ready_fd is not None:
        os.write(args.ready_fd, b"ready\n")
        os.close(args.ready_fd)
    stream = sys.stdin.buffer
    try:
        while (batch := frames(stream)) is not None:
            for ex in batch:
                collector.handle(ex)
    finally:
        collector.close()
    if args.report_dir:
        for path in collector.write_reports(args.report_dir, args.upstream):
            collector.line(f"report: {path}")
    if har is not None:
        collector.line(f"recorded {har.count} exchanges to {args.record}")
    collector.line(f"nexsis proxy: {collector.summary()}")
    return 1 if collector.violations else 0


if __name__ == "__main__":
    sys.exit(main())
