"""One exchange as the proxy saw it on the wire: what judging, reports, the HAR and replay share."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from nexsis_openapi import redact, redact_text

_BEARER = re.compile(r"(?i)^bearer\s+(\S+)")
_TOKEN_PARAM = re.compile(r"(?i)(?:^|[?&])(?:ws)?token=([^&#\s]+)")


@dataclass
class Exchange:
    """Request and answer with their bodies as far as they were kept (``*_complete`` says whether whole)."""

    method: str
    url: str  # the upstream URL the request went to
    target: str  # path and query relative to the site root, as the client sent them
    request_headers: list[tuple[str, str]]
    request_body: bytes
    status: int | None = None  # None: no answer from upstream (error says why)
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: bytes = b""
    started: float = 0.0  # wall-clock time.time() of arrival
    elapsed: float = 0.0  # seconds until the answer was complete
    request_complete: bool = True
    response_complete: bool = True
    error: str | None = None  # "timeout" / "upstream error: ..." when the proxy answered itself
    request_size: int = 0
    response_size: int = 0

    def header(self, name: str, response: bool = False) -> str:
        name = name.lower()
        for key, value in self.response_headers if response else self.request_headers:
            if key.lower() == name:
                return value
        return ""

    def tokens(self) -> set[str]:
        """Token values this request carried (Bearer, ``token``, ``wstoken`` in query or form body)."""
        out = set()
        match = _BEARER.match(self.header("authorization"))
        if match:
            out.add(match.group(1))
        text = self.url.partition("?")[2] + "&" + self.request_body[:65536].decode("latin-1")
        out.update(_TOKEN_PARAM.findall(text))
        return {t for t in out if len(t) >= 4}

    def redacted_request(self, secrets: tuple[str, ...]) -> dict[str, Any]:
        """The request for a report: URL, headers and body with every token masked."""
        return {
            "method": self.method,
            "url": redact_text(self.url, secrets),
            "headers": redact(dict(self.request_headers), secrets),
            "body": redact_text(self.request_body[:4000].decode("utf-8", "replace"), secrets),
        }

    def redacted_response(self, secrets: tuple[str, ...]) -> dict[str, Any]:
        return {
            "status": self.status,
            "headers": redact(dict(self.response_headers), secrets),
            "body": redact_text(self.response_body[:4000].decode("utf-8", "replace"), secrets),
        }
