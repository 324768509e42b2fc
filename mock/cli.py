"""``nexsis mock``: serve both APIs, the admin API and Swagger UI on a local port.

The tokens the mock accepts are printed at start: they are test tokens of a local mock, and a
developer needs them to call it. Tokens sent by clients are never logged (uvicorn's access log,
which would show query strings, is off; the journal redacts them).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = ["public_url", "register", "run"]


def public_url(text: str) -> str:
    """``--public-url``: an absolute http(s) URL without query or fragment, kept without a trailing slash.

    Checked here so that a typo is a usage error at start, not wrong links or refused admin calls
    later (the admin API's Origin check and the self-reported URLs compare against it).
    """
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an absolute http(s) URL without query or fragment (e.g. http://mock.local:8080)")
    try:
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: the port is not a number from 0 to 65535") from None
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds from 0 (excluded) to 3600")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "mock", help="run the stateful mock of the NexSIS API and the Moodle web services",
        description="Serve /enrol/nexsis/api/index.php/..., /webservice/rest/server.php, the admin "
                    "API under /__admin and Swagger UI, validating every request against the specs.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    parser.add_argument("--fixtures", type=Path, nargs="+", action="extend", metavar="FILE",
                        help="fixture files to load instead of the default fixtures")
    parser.add_argument("--state", type=Path, metavar="FILE",
                        help="persist the state in FILE (survives restarts; shared by workers)")
    parser.add_argument("--check", action="store_true",
                        help="with --state: verify the state file (integrity, snapshot, every operation "
                             "replayed on a copy), print one line, exit 0, or 4 when it is unusable")
    parser.add_argument("--workers", type=int, default=1,
                        help="worker processes sharing the state file (default 1)")
    parser.add_argument("--max-body", type=int, default=None, metavar="BYTES",
                        help="largest request body accepted (default 1 MiB)")
    parser.add_argument("--journal-size", type=int, default=None, metavar="N",
                        help="requests kept in the journal per worker (default 1000; 0 disables it)")
    parser.add_argument("--admin-token", default=None,
                        help="require 'Authorization: Bearer TOKEN' on the admin API")
    parser.add_argument("--admin-max-body", type=int, default=None, metavar="BYTES",
                        help="largest admin request body, e.g. a PUT /__admin/state document "
                             "(default 256 MiB)")
    parser.add_argument("--public-url", type=public_url, default=None, metavar="URL",
                        help="the URL clients reach the mock on when it is not http://HOST:PORT "
                             "(behind a proxy or a container port mapping), e.g. https://mock.example:8443")
    parser.add_argument("--header-timeout", type=_seconds, default=None, metavar="SECONDS",
                        help="close a connection whose request head (request line and headers) is not "
                             "complete after SECONDS (default 10): a stalled client cannot hold it")
    parser.add_argument("--log-level", default="warning",
                        choices=["critical", "error", "warning", "info", "debug"])
    parser.set_defaults(func=run)


def _banner(base: str, tokens: dict, args: argparse.Namespace, state: Path | None) -> str:
    lines = [
        f"nexsis mock listening on {base}" + (f" (public URL {args.public_url})" if args.public_url else ""),
        f"  NexSIS API      {base}/enrol/nexsis/api/index.php   (Swagger UI: /enrol/nexsis/api/index.php/ui)",
        f"  Moodle WS       {base}/webservice/rest/server.php  (Swagger UI: /ui)",
        f"  admin API       {base}/__admin                      (Swagger UI: /__admin/ui)",
        f"  workers         {args.workers}" + (f", state file {state}" if state else ", in-memory state"),
        "  tokens (test tokens of this local mock):",
    ]
    lines += ["    " + line for line in json.dumps(tokens, indent=2).splitlines()]
    return "\n".join(lines)


def token_problem(tokens: dict[str, Any]) -> tuple[bool, str] | None:
    """(refuse?, message) when the site's tokens cannot authenticate calls to an API.

    No token at all: every call to both APIs would be refused (401 / invalidtoken), a mock that can
    only say no, so `nexsis mock` refuses to start (exit 2). One API without tokens: a warning.
    """
    nexsis, ws = bool(tokens.get("nexsis")), bool(tokens.get("moodle-ws"))
    if not nexsis and not ws:
        return True, ("the fixtures (or the state file) define no token: every NexSIS and web-service "
                      "call would be refused; add a 'tokens' section (see mock/fixtures/default.yaml)")
    if not nexsis:
        return False, "warning: no NexSIS API key in the site: every NexSIS call will be refused (401)"
    if not ws:
        return False, "warning: no web-service token in the site: every web-service call will be refused"
    return None


def run(args: argparse.Namespace) -> int:
    from .store.persistence import EXIT_STATE_FILE, StateFileError

    if args.workers < 1:
        print("nexsis mock: --workers must be at least 1", file=sys.stderr)
        return 2
    if args.check:
        if args.state is None:
            print("nexsis mock: --check needs --state FILE", file=sys.stderr)
            return 2
        from .state_check import check_state

        return check_state(args.state, args.fixtures)
    state: Path | None = args.state
    temporary: Path | None = None
    if args.workers > 1 and state is None:
        # Workers are processes: without a shared state file each would have its own state. The
        # file is SQLite (named so) in a directory of its own, removed when the mock stops.
        temporary = Path(tempfile.mkdtemp(prefix="nexsis-mock-"))
        state = temporary / "state.sqlite"
    try:
        return _serve(args, state)
    except StateFileError as exc:
        print(f"nexsis mock: {exc}", file=sys.stderr)
        return EXIT_STATE_FILE
    finally:
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)


def _serve(args: argparse.Namespace, state: Path | None) -> int:
    import uvicorn

    from .app import ENV_PREFIX, create_app
    from .domain import Service
    from .fixtures import FixtureError
    from .serving import uvicorn_options

    try:
        service = Service.create(fixtures=args.fixtures, state_file=state)
    except (FixtureError, OSError) as exc:
        # A user's fixture mistake is a usage error with a file/path/reason message, not a crash.
        print(f"nexsis mock: {exc}", file=sys.stderr)
        return 2
    problem = token_problem(service.tokens())
    if problem is not None:
        refuse, message = problem
        print(f"nexsis mock: {message}", file=sys.stderr)
        if refuse:
            service.close()
            return 2
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(_banner(f"http://{host}:{args.port}", service.tokens(), args, state), flush=True)

    options: dict = {}
    if args.max_body is not None:
        options["max_body"] = args.max_body
    if args.journal_size is not None:
        options["journal_size"] = args.journal_size
    if args.admin_max_body is not None:
        options["admin_max_body"] = args.admin_max_body
    # No proxy-headers middleware: the mock reads neither the client's address nor the scheme, so
    # rewriting them from X-Forwarded-* on every request would be work for nothing.
    # Request heads bounded in time and size (serving.py); the protocol is named by import string and
    # the timeout set in the environment, so --workers processes get both.
    common = {"host": args.host, "port": args.port, "log_level": args.log_level, "access_log": False,
              "proxy_headers": False, **uvicorn_options(args.header_timeout)}
    if args.workers == 1:
        app = create_app(service, state_file=state, admin_token=args.admin_token,
                         public_url=args.public_url, **options)
        uvicorn.run(app, **common)
        return 0
    env = {ENV_PREFIX + "STATE": str(state)}
    if args.fixtures:
        env[ENV_PREFIX + "FIXTURES"] = os.pathsep.join(str(p) for p in args.fixtures)
    if args.admin_token:
        env[ENV_PREFIX + "ADMIN_TOKEN"] = args.admin_token
    if args.public_url:
        env[ENV_PREFIX + "PUBLIC_URL"] = args.public_url
    for key, name in (("max_body", "MAX_BODY"), ("journal_size", "JOURNAL_SIZE"),
                      ("admin_max_body", "ADMIN_MAX_BODY")):
        if key in options:
            env[ENV_PREFIX + name] = str(options[key])
    os.environ.update(env)
    uvicorn.run("nexsis_mock.app:factory", factory=True, workers=args.workers, **common)
    return 0
