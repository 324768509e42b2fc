"""`nexsis check`: run the conformance suite against a Moodle site.

Exit codes: 0 conformant; 1 contract violations found (or records left behind by cleanup, or with
--require-success an operation that never answered with success); 2 usage or configuration error;
3 target unreachable or token refused outright; 4 the --time-budget ran out before the run finished
(and what ran found no violation).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from nexsis_contracts import EXIT_CONFORMANT, EXIT_INCOMPLETE, EXIT_UNREACHABLE, EXIT_USAGE, EXIT_VIOLATIONS

EPILOG = """\
exit codes:
  0  conformant
  1  contract violations found (or created records could not be removed, or with
     --require-success: an operation never answered with success, so its success schema is unverified)
  2  usage or configuration error
  3  target unreachable, or the token was refused outright
  4  --time-budget ran out before every operation was tested; no violation in what ran
     (violations still exit 1; cleanup runs either way and the report says the run was cut short)
  130 interrupted (Ctrl-C); cleanup done

tokens: --nexsis-token/NEXSIS_TOKEN, --ws-token/MOODLE_WS_TOKEN, --ws-nocap-token/MOODLE_WS_NOCAP_TOKEN
modes:  read-only (reads only), safe (default off loopback: writes only to records this run creates
        and to sandbox ids in --config), full (anything; refused off loopback without --force)
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base-url", help="Moodle site root (wwwroot), e.g. https://staging.example.edu")
    parser.add_argument("--config", type=Path, help="contracts.yaml: targets, sandbox ids, limits")
    parser.add_argument("--nexsis-token", help="NexSIS API token (default: $NEXSIS_TOKEN)")
    parser.add_argument("--ws-token", help="Moodle web-service token (default: $MOODLE_WS_TOKEN)")
    parser.add_argument(
        "--ws-nocap-token",
        help="WS token of a user without the capabilities "
        "(default: $MOODLE_WS_NOCAP_TOKEN); enables the capability check",
    )
    parser.add_argument("--only", action="append", choices=["nexsis", "moodle-ws"], help="test only this API")
    parser.add_argument(
        "--operation",
        "-o",
        action="append",
        dest="operations",
        metavar="PATTERN",
        help="operationId, tag or wsfunction (glob, comma-separated; repeatable)",
    )
    parser.add_argument("--max-examples", type=int, help="generated cases per operation and mode (default 8)")
    parser.add_argument("--seed", type=int, help="seed for reproducible generation (printed in the report)")
    parser.add_argument("--workers", type=int, help="operations tested in parallel (default 1)")
    parser.add_argument("--rate-limit", help="max request rate: N, N/s, N/m, N/h")
    parser.add_argument(
        "--time-budget", help="stop testing after this long (s, or N[smh]); cleanup still runs"
    )
    parser.add_argument("--report-dir", type=Path, help="write junit.xml, report.md and report.html here")
    parser.add_argument("--mode", choices=["read-only", "safe", "full"])
    parser.add_argument("--force", action="store_true", help="allow --mode full on a non-loopback target")
    parser.add_argument("--dry-run", action="store_true", help="list the requests it would send; send none")
    parser.add_argument("--no-stateful", action="store_true", help="skip the stateful scenarios")
    parser.add_argument(
        "--require-success",
        action="store_true",
        help="fail (exit 1) when an operation never answered with success (its success schema unverified)",
    )


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check",
        help="run the conformance suite against a Moodle site",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    parser.set_defaults(func=main)


def settings_from_args(args: argparse.Namespace) -> Any:
    from nexsis_contracts.config import build_settings

    return build_settings(
        base_url=args.base_url,
        config_path=args.config,
        nexsis_token=args.nexsis_token,
        ws_token=args.ws_token,
        ws_nocap_token=args.ws_nocap_token,
        only=args.only,
        operations=args.operations,
        max_examples=args.max_examples,
        seed=args.seed,
        workers=args.workers,
        rate_limit=args.rate_limit,
        time_budget=args.time_budget,
        report_dir=args.report_dir,
        mode=args.mode,
        force=args.force,
        dry_run=args.dry_run,
        stateful=not args.no_stateful,
        require_success=args.require_success,
    )


def _interactive() -> bool:
    return sys.stdout.isatty() and os.environ.get("CI", "").lower() not in ("1", "true", "yes")


class Display:
    """rich progress on a terminal; plain, redacted lines otherwise (CI logs)."""

    def __init__(self, total: int, secrets: tuple[str, ...]) -> None:
        from nexsis_openapi import redact_text

        self.redact = lambda s: redact_text(s, secrets)
        self.rich = _interactive()
        self.done = 0
        self.total = total
        if self.rich:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(
                TextColumn("[bold]nexsis check"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.description}"),
            )
            self.task = self.progress.add_task("", total=total)
            self.progress.start()

    def __call__(self, message: str, result: Any) -> None:
        message = self.redact(message)
        if result is not None:
            self.done += 1
        if self.rich:
            self.progress.update(self.task, completed=self.done, description=message)
        elif result is not None:
            print(
                f"[{self.done}/{self.total}] {result.api} {result.name}: {result.verdict} "
                f"({result.cases} cases, {len(result.failures)} failures)",
                flush=True,
            )

    def stop(self) -> None:
        if self.rich:
            self.progress.stop()


def exit_code(result: Any, settings: Any) -> int:
    """The exit code of the run's verdict (`RunResult.verdict`: violations > records left behind >
    cut by the time budget > --require-success unmet > conformant)."""
    # The verdict reads --require-success from the run's settings summary (runner.Run writes it).
    del settings
    return {"incomplete": EXIT_INCOMPLETE, "conformant": EXIT_CONFORMANT}.get(result.verdict, EXIT_VIOLATIONS)


def main(args: argparse.Namespace) -> int:

    from nexsis_contracts.config import ConfigError

    try:
        settings = settings_from_args(args)
    except ConfigError as exc:
        print(f"nexsis check: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return execute(settings)


def execute(settings: Any) -> int:
    from nexsis_contracts.catalog import Catalog
    from nexsis_contracts.config import ConfigError
    from nexsis_contracts.preflight import Unreachable
    from nexsis_contracts.runner import Run
    from nexsis_openapi import redact_text

    secrets = settings.secrets
    total = sum(1 for o in Catalog(settings.specs).operations if o.matches(settings.operations))
    display = Display(total, secrets) if not settings.dry_run else None
    run = Run(settings, progress=display)
    print(
        redact_text(
            f"nexsis check: {settings.base_url} mode={settings.mode} seed={settings.seed} "
            f"prefix={settings.id_prefix}",
            secrets,
        ),
        flush=True,
    )
    code = EXIT_CONFORMANT
    try:
        result = run.execute()
    except ConfigError as exc:
        print(f"nexsis check: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Unreachable as exc:
        if display:
            display.stop()
        print(redact_text(f"nexsis check: {exc}", secrets), file=sys.stderr)
        result = run.result
        result.unreachable = str(exc)
        code = EXIT_UNREACHABLE
    finally:
        if display:
            display.stop()
    if settings.dry_run:
        for line in result.planned:
            print(line)
        print(f"nexsis check: dry run, {len(result.planned)} requests planned, none sent")
    elif code != EXIT_UNREACHABLE:
        from nexsis_contracts.reporting.terminal import failure_lines, summary_table, verdict_line

        summary_table(result, _interactive())
        for line in failure_lines(result):
            print(line, flush=True)
        print(verdict_line(result), flush=True)
        code = exit_code(result, settings)
        if code == EXIT_INCOMPLETE:
            print("nexsis check: time budget exhausted before the run finished (exit 4)", file=sys.stderr)
        elif code == EXIT_VIOLATIONS and not (result.failed or result.cleanup_failed):
            print(
                "nexsis check: --require-success: no success answer for "
                + ", ".join(r.name for r in result.without_success),
                file=sys.stderr,
            )
    if result.cleanup_failed:
        print("nexsis check: could not remove: " + "; ".join(result.cleanup_failed), file=sys.stderr)
    if settings.report_dir:
        from nexsis_contracts.reporting import write_reports

        for path in write_reports(result, settings.report_dir, secrets):
            print(f"nexsis check: wrote {path}")
    if result.interrupted:
        print("nexsis check: interrupted; cleanup done", file=sys.stderr)
        return 130
    return code
