"""HAR 1.2 written as the traffic goes: one entry per exchange, appended, never held in memory.

The file is valid JSON only once closed (the closing brackets are written by `close`, which the
proxy calls on every way out); each entry is flushed when written, so a crash loses at most the
closing brackets. Tokens are masked in URLs, headers, query strings and bodies (`nexsis_openapi.redact`,
with the token values the traffic carried), so a recording can be shared and replayed with other
credentials (`nexsis diff --reference FILE.har`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from nexsis_contracts.proxy.exchange import Exchange
from nexsis_openapi import redact, redact_text
from nexsis_openapi.redact import MASK, SECRET_NAMES

CREATOR = {"name": "nexsis proxy", "version": "1"}


def _masked(name: str, value: str, secrets: tuple[str, ...]) -> str:
    """A secret-named value masked whole, except an authorization scheme (kept, for replay)."""
    if name.lower() not in SECRET_NAMES or not value:
        return redact_text(value, secrets)
    scheme, _, credentials = value.partition(" ")
    if name.lower() in ("authorization", "proxy-authorization") and credentials and scheme.isalpha():
        return f"{scheme} {MASK}"
    return MASK


def _pairs(items: list[tuple[str, str]], secrets: tuple[str, ...]) -> list[dict[str, str]]:
    return [{"name": k, "value": _masked(k, v, secrets)} for k, v in items]


def _text(body: bytes) -> str:
    return body.decode("utf-8", "replace")


def entry(ex: Exchange, secrets: tuple[str, ...]) -> dict[str, Any]:
    """The exchange as a HAR 1.2 ``entry``; a body kept only in part carries a ``comment``."""
    query = parse_qsl(urlsplit(ex.url).query, keep_blank_values=True)
    started = dt.datetime.fromtimestamp(ex.started, dt.UTC).isoformat().replace("+00:00", "Z")
    millis = round(ex.elapsed * 1000, 3)
    request: dict[str, Any] = {
        "method": ex.method,
        "url": redact_text(ex.url, secrets),
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": _pairs(ex.request_headers, secrets),
        "queryString": _pairs(query, secrets),
        "headersSize": -1,
        "bodySize": ex.request_size,
    }
    if ex.request_size:
        request["postData"] = {
            "mimeType": ex.header("content-type"),
            "text": redact_text(_text(ex.request_body), secrets),
        }
        if not ex.request_complete:
            request["postData"]["comment"] = f"first {len(ex.request_body)} of {ex.request_size} bytes"
    content: dict[str, Any] = {
        "size": ex.response_size,
        "mimeType": ex.header("content-type", True),
        "text": redact_text(_text(ex.response_body), secrets),
    }
    if not ex.response_complete:
        content["comment"] = f"first {len(ex.response_body)} of {ex.response_size} bytes"
    out: dict[str, Any] = {
        "startedDateTime": started,
        "time": millis,
        "request": request,
        "response": {
            "status": ex.status or 0,
            "statusText": "",
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": _pairs(ex.response_headers, secrets),
            "content": content,
            "redirectURL": ex.header("location", True),
            "headersSize": -1,
            "bodySize": ex.response_size,
        },
        "cache": {},
        "timings": {"send": 0, "wait": millis, "receive": 0},
    }
    if ex.error:
        out["comment"] = redact_text(ex.error, secrets)
    return out


class HarWriter:
    """Streams entries into `path`; `close` finishes the document (idempotent)."""

    def __init__(self, path: Path, upstream: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: IO[bytes] | None = path.open("wb")
        # `_nexsisUpstream` (a HAR custom field): the site root, so a replay knows each request's path.
        self._fh.write(
            b'{"log":{"version":"1.2","creator":'
            + orjson.dumps(CREATOR)
            + b',"_nexsisUpstream":'
            + orjson.dumps(redact_text(upstream))
            + b',"entries":[\n'
        )
        self._first = True
        self.count = 0

    def write(self, ex: Exchange, secrets: tuple[str, ...]) -> None:
        if self._fh is None:
            return
        data = orjson.dumps(redact(entry(ex, secrets), secrets))
        self._fh.write(data if self._first else b",\n" + data)
        self._fh.flush()
        self._first = False
        self.count += 1

    def close(self) -> None:
        if self._fh is not None:
            self._fh.write(b"\n]}}\n")
            self._fh.close()
            self._fh = None


@dataclass
class Recorded:
    """A recorded request, ready to send again, and the answer it had."""

    method: str
    target: str  # path and query relative to the site root
    headers: list[tuple[str, str]]
    body: bytes
    status: int
    content_type: str
    response_body: bytes
    started: float = 0.0  # epoch seconds
    elapsed: float = 0.0


def _refused_for_token(entry: dict[str, Any]) -> bool:
    """Whether the recorded answer refused the request's credentials (then a replay keeps them invalid)."""
    response = entry["response"]
    if response["status"] == 401:
        return True
    text = response.get("content", {}).get("text") or ""
    return '"errorcode":"invalidtoken"' in text.replace(" ", "")


def recording_root(path: Path) -> str:
    """The site root the recording's requests went to (``_nexsisUpstream``), or "" if unknown."""
    return str(orjson.loads(path.read_bytes())["log"].get("_nexsisUpstream") or "").rstrip("/")


def read_recording(path: Path, tokens: dict[str, str]) -> list[Recorded]:
    """The requests of a HAR written by `nexsis proxy`, with masked tokens put back from `tokens`.

    ``tokens`` maps ``nexsis`` and ``moodle-ws`` to the credentials of the replay's target. A request
    whose recorded answer refused its token is replayed with the mask itself (a token no site knows),
    so a refusal stays a refusal.
    """
    document = orjson.loads(path.read_bytes())
    log = document["log"]
    root = str(log.get("_nexsisUpstream") or "").rstrip("/")
    out = []
    for entry in log["entries"]:
        request = entry["request"]
        url = request["url"]
        target = url[len(root) :] if root and url.startswith(root) else "/" + url.split("/", 3)[-1]
        headers = [
            (h["name"], h["value"])
            for h in request["headers"]
            if h["name"].lower() not in ("host", "content-length")
        ]
        body = (request.get("postData") or {}).get("text", "")
        if not _refused_for_token(entry):
            nexsis, ws = tokens.get("nexsis", ""), tokens.get("moodle-ws", "")
            headers = [
                (k, v.replace(MASK, nexsis) if k.lower() == "authorization" else v) for k, v in headers
            ]
            target = target.replace(f"wstoken={MASK}", f"wstoken={ws}").replace(
                f"token={MASK}", f"token={nexsis}"
            )
            body = body.replace(f"wstoken={MASK}", f"wstoken={ws}")
        content = entry["response"].get("content") or {}
        out.append(
            Recorded(
                request["method"],
                target,
                headers,
                body.encode(),
                entry["response"]["status"],
                content.get("mimeType", ""),
                (content.get("text") or "").encode(),
            )
        )
    return out
