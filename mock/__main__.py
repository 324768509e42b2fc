"""``python -m nexsis_mock``: the same as ``nexsis mock``, for environments without the script."""

from __future__ import annotations

import argparse
import sys

from .cli import register


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nexsis_mock")
    sub = parser.add_subparsers(dest="command")
    register(sub)
    args = parser.parse_args(["mock", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
