"""The ``nexsis`` command: a thin dispatcher over subcommands that packages plug in.

Subcommands come from the ``nexsis.commands`` entry-point group so that this package, the contract,
never imports the mock or the suite: each registers itself (``register(subparsers)``).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, entry_points, version

ENTRY_POINT_GROUP = "nexsis.commands"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nexsis",
        description="Contract tests and a stateful mock for the NexSIS API and Moodle web services.",
    )
    with contextlib.suppress(PackageNotFoundError):  # running from a tree that is not installed
        parser.add_argument("--version", action="version", version=version("nexsis-contracts"))
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            ep.load()(subparsers)
        except Exception as exc:  # one broken plugin must not take the other commands down
            print(f"nexsis: subcommand {ep.name!r} unavailable: {type(exc).__name__}: {exc}", file=sys.stderr)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a subcommand; exit 2 on usage errors, as argparse and the suite's exit codes agree."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
