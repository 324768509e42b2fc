"""What a report shows of an exchange: the request as sent and the answer, redacted, and a curl line.

The curl line is built from the request as sent (schemathesis' own curl re-serializes with its
default form encoder, which is not what went over the wire for a PHP bracket-notation body), and it
must run as pasted: the run's tokens become `"$NEXSIS_TOKEN"` / `"$MOODLE_WS_TOKEN"` (the variables
`nexsis check` reads them from), never a `[REDACTED]` placeholder, and any other value in a
token-bearing place (the wrong token of an auth probe) is quoted as a shell word of its own, so the
redaction pass every report gets cannot mask it (it only masks a value glued to `token=`/`Bearer `).
"""

from __future__ import annotations

import re
import shlex
from typing import Any

import requests

from nexsis_openapi import redact, redact_text

#: Where a token may sit in a request: query/form parameter, Bearer header (as nexsis_openapi.redact).
_TOKEN_PLACES = (
    re.compile(r"(?i)(?:^|[?&\s\"'])(?:ws)?token=(?P<val>[^&\s\"'#]+)"),
    re.compile(r"(?i)bearer\s+(?P<val>[^\s\"',]+)"),
)
_SKIPPED_HEADERS = ("content-length", "user-agent", "accept-encoding", "connection")


def request_of(req: Any, secrets: tuple[str, ...]) -> dict[str, Any]:
    """The request as it went out, redacted, for reports."""
    return {
        "method": str(req.method),
        "url": redact_text(str(req.url), secrets),
        "headers": redact(dict(req.headers), secrets),
        "body": redact_text(body_text(req)[:4000], secrets),
    }


def body_text(req: Any) -> str:
    body = getattr(req, "body", None) or b""
    return body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)


def exchange_of(response: Any, secrets: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    request = request_of(response.request, secrets)
    resp = {
        "status": response.status_code,
        "headers": redact(dict(response.headers), secrets),
        "body": redact_text((response.content or b"")[:4000].decode("utf-8", "replace"), secrets),
    }
    return request, resp


def connection_dropped(exc: requests.ConnectionError) -> bool:
    text = repr(exc)
    return "RemoteDisconnected" in text or "Connection aborted" in text or "ConnectionResetError" in text


def shell_word(text: str, variables: dict[str, str]) -> str:
    """`text` as one shell word; each known token value becomes `"$VARIABLE"`.

    `variables` maps a token value to the environment variable holding it. Other values in token
    places are split off into a word piece of their own (`'...?token='wrong-value`), which the shell
    joins back and the report's redaction leaves alone.
    """
    spans: list[tuple[int, int, str]] = []
    for value, name in sorted(variables.items(), key=lambda kv: -len(kv[0])):
        start = text.find(value)
        while start >= 0:
            if not any(s <= start < e for s, e, _ in spans):
                spans.append((start, start + len(value), f'"${name}"'))
            start = text.find(value, start + len(value))
    for pattern in _TOKEN_PLACES:
        for match in pattern.finditer(text):
            s, e = match.span("val")
            if not any(a < e and s < b for a, b, _ in spans):
                spans.append((s, e, _quote(match.group("val"))))
    out, pos = [], 0
    for s, e, piece in sorted(spans):
        if s > pos:
            out.append(_quote(text[pos:s]))
        out.append(piece)
        pos = e
    if pos < len(text) or not out:
        out.append(_quote(text[pos:]))
    return "".join(out)


def _quote(piece: str) -> str:
    """shlex quoting, or bash's `$'...'` when the piece holds bytes a plain quote cannot carry.

    Fuzzed bodies hold invalid UTF-8 (kept as surrogate escapes by `raw_text`) and control
    characters; `$'\\xff'` gives curl the very bytes that were sent. (A NUL byte cannot be part of
    any command-line argument; it is the one thing a pasted curl cannot send.)
    """
    if all(c.isprintable() or c in "\n\t" for c in piece):  # surrogates are not printable
        return shlex.quote(piece)
    out = []
    for c in piece:
        if "\udc80" <= c <= "\udcff":
            out.append(f"\\x{ord(c) - 0xDC00:02x}")
        elif c in "\\'":
            out.append("\\" + c)
        elif c.isprintable():
            out.append(c)
        else:
            out.append("".join(f"\\x{b:02x}" for b in c.encode("utf-8", "surrogatepass")))
    return "$'" + "".join(out) + "'"


def raw_text(req: Any) -> str:
    """The body as sent, bytes that are not UTF-8 kept as surrogate escapes (see `_quote`)."""
    body = getattr(req, "body", None) or b""
    return body.decode("utf-8", "surrogateescape") if isinstance(body, bytes) else str(body)


def reproduction(req: Any, tokens: dict[str, str]) -> str:
    """A curl command that sends `req` again as it went out; `tokens` maps env variable -> value."""
    variables = {value: name for name, value in tokens.items() if value}
    url = str(req.url).split("#")[0]
    parts = ["curl", "-sS", "-X", str(req.method), shell_word(url, variables)]
    for key, value in dict(req.headers).items():
        if key.lower() in _SKIPPED_HEADERS:
            continue
        parts += ["-H", shell_word(f"{key}: {value}", variables)]
    body = raw_text(req)
    if body:
        parts += ["--data-raw", shell_word(body, variables)]
    return " ".join(parts)


def curl_of(request: dict[str, Any]) -> str:
    """A curl line from an already redacted request (when the request as sent is gone)."""
    parts = ["curl", "-X", request["method"], shlex.quote(request["url"])]
    for key, value in request["headers"].items():
        if key.lower() in _SKIPPED_HEADERS:
            continue
        parts += ["-H", shlex.quote(f"{key}: {value}")]
    if request.get("body"):
        parts += ["--data-raw", shlex.quote(request["body"])]
    return " ".join(parts)
