"""`nexsis diff --reference A --candidate B`: does B behave like A, call by call?

A and B are site roots (wwwroot); A may also be a HAR file recorded by `nexsis proxy`, whose
requests are then replayed against B. Tokens: ``NEXSIS_TOKEN``, ``MOODLE_WS_TOKEN`` and
``MOODLE_WS_NOCAP_TOKEN`` for both sides, overridden per side by ``REFERENCE_<NAME>`` /
``CANDIDATE_<NAME>`` (e.g. ``CANDIDATE_NEXSIS_TOKEN``).

Two real deployments (staging and the mock, two tenants) never share tokens or record ids, so each
side may have its own contracts.yaml (``--reference-config`` / ``--candidate-config``, else
``--config``): its sandbox names that site's records. The n-th id of a sandbox kind on one side
stands for the n-th id of the same kind on the other, and the comparison starts from those pairs;
a replayed HAR's requests name the candidate's sandbox records instead of the recorded site's.

Exit codes: 0 every call identical, 1 differences, 2 usage or configuration error, 3 a deployment
unreachable or refusing its token.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path
from typing import Any

EPILOG = "Exit codes: 0 all calls identical, 1 differences, 2 usage or configuration error, 3 unreachable."
TOKEN_NAMES = ("NEXSIS_TOKEN", "MOODLE_WS_TOKEN", "MOODLE_WS_NOCAP_TOKEN")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "diff",
        help="compare two deployments (or a recorded HAR and a deployment) call by call",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--reference", required=True, help="site root, or a HAR file from nexsis proxy")
    parser.add_argument("--candidate", required=True, help="site root to compare with the reference")
    parser.add_argument(
        "--config", type=Path, help="contracts.yaml: sandbox ids, operations (as nexsis check)"
    )
    parser.add_argument(
        "--reference-config", type=Path, help="contracts.yaml of the reference only (default --config)"
    )
    parser.add_argument(
        "--candidate-config", type=Path, help="contracts.yaml of the candidate only (default --config)"
    )
    parser.add_argument("--report-dir", type=Path, help="write junit.xml, report.md/.html/.json here")
    parser.add_argument(
        "--seed", type=int, help="seed of the scenario (the ids it creates, the texts it sends)"
    )
    parser.add_argument(
        "--mode",
        choices=["read-only", "safe"],
        default="safe",
        help="what the scenario may write (default safe: only what it creates, sandbox ids)",
    )
    parser.set_defaults(func=main)


def side_environ(side: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in TOKEN_NAMES:
        value = os.environ.get(f"{side.upper()}_{name}")
        if value:
            env[name] = value
    return env


def same_calls(reference: Any, candidate: Any) -> None:
    """Both sides must be sent the same calls, or every call one side lacks would read as a difference.

    Two per-side configs that select other operations or APIs are a usage error; a no-capability
    token given for one side only drops those probes on both (said on stderr).
    """
    from nexsis_contracts.config import ConfigError

    for what in ("specs", "operations", "mode"):
        a, b = getattr(reference, what), getattr(candidate, what)
        if a != b:
            shown = [list(v) if isinstance(v, tuple) else v for v in (a, b)]
            raise ConfigError(
                f"the reference and the candidate configs select other {what} ({shown[0]} vs {shown[1]}): "
                "both sides must be sent the same calls"
            )
    key = "moodle-ws-nocap"
    if bool(reference.tokens.get(key)) != bool(candidate.tokens.get(key)):
        side = "candidate" if reference.tokens.get(key) else "reference"
        print(
            f"nexsis diff: no MOODLE_WS_NOCAP_TOKEN for the {side}: the no-capability probes are left out",
            file=sys.stderr,
        )
        reference.tokens[key] = candidate.tokens[key] = None


def main(args: argparse.Namespace) -> int:
    from nexsis_contracts.config import ConfigError, build_settings, read_sandbox
    from nexsis_contracts.diff import report
    from nexsis_contracts.preflight import Unreachable

    seed = args.seed if args.seed is not None else secrets.randbelow(2**24)
    har = Path(args.reference) if not args.reference.startswith(("http://", "https://")) else None
    try:
        if har is not None and not har.is_file():
            raise ConfigError(f"--reference {args.reference!r}: neither an http(s) URL nor a HAR file")
        candidate = build_settings(
            base_url=args.candidate,
            config_path=args.candidate_config or args.config,
            mode=args.mode,
            seed=seed,
            environ=side_environ("candidate"),
        )
        reference = None
        reference_sandbox: dict[str, Any] = {}
        if har is not None and (args.reference_config or args.config):
            reference_sandbox = read_sandbox(args.reference_config or args.config)
        if har is None:
            reference = build_settings(
                base_url=args.reference,
                config_path=args.reference_config or args.config,
                mode=args.mode,
                seed=seed,
                environ=side_environ("reference"),
            )
            same_calls(reference, candidate)
    except ConfigError as exc:
        hint = ""
        if "missing token" in str(exc):
            hint = (
                "\nnexsis diff reads NEXSIS_TOKEN / MOODLE_WS_TOKEN / MOODLE_WS_NOCAP_TOKEN for both sides, "
                "or REFERENCE_<NAME> / CANDIDATE_<NAME> per side"
            )
        print(f"nexsis diff: {exc}{hint}", file=sys.stderr)
        return 2
    run_id = f"{seed:06X}"[-6:]
    candidate.run_id = run_id
    try:
        if har is not None:
            from nexsis_contracts.diff.replay import replay

            ref_side, cand_side, pairs = replay(har, candidate, reference_sandbox)
        else:
            from nexsis_contracts.diff.compare import compare_sides
            from nexsis_contracts.diff.scenario import Scenario

            assert reference is not None
            reference.run_id = run_id
            ref_side = Scenario(reference, seed).execute("reference")
            cand_side = Scenario(candidate, seed).execute("candidate")
            pairs = compare_sides(ref_side, cand_side)
    except Unreachable as exc:
        print(f"nexsis diff: {exc}", file=sys.stderr)
        return 3
    except (OSError, ValueError, KeyError) as exc:
        if har is None:
            raise
        print(
            f"nexsis diff: --reference {har}: not a HAR recording ({type(exc).__name__}: {exc})",
            file=sys.stderr,
        )
        return 2
    secrets_ = tuple({t for s in (reference, candidate) if s for t in s.secrets})
    for line in report.lines(pairs, secrets_):
        print(line)
    for operation, needs in sorted({**ref_side.not_exercised, **cand_side.not_exercised}.items()):
        print(f"not exercised: {operation} (needs {needs})")
    if args.report_dir:
        for path in report.write(pairs, ref_side, cand_side, args.report_dir, secrets_, seed):
            print(f"report: {path}")
    identical = sum(1 for p in pairs if not p.differences)
    print(f"{identical}/{len(pairs)} calls identical (seed {seed})")
    return 0 if identical == len(pairs) else 1
