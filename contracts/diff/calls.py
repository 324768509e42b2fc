"""A call as `nexsis diff` compares it: which operation, in which step, and what came back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Call:
    operation: str  # operationId / wsfunction, or "METHOD /path" for a request of neither spec
    step: str  # what the scenario was doing: "anchor", "read back", "repeat", "missing record"...
    method: str
    url: str  # redacted
    request_body: str  # redacted
    status: int | None  # None: no answer
    content_type: str
    body: str  # redacted
    api: str = ""
    request_headers: dict[str, Any] = field(default_factory=dict)

    @property
    def media_type(self) -> str:
        return self.content_type.split(";")[0].strip().lower()

    def request(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "url": self.url,
            "headers": self.request_headers,
            "body": self.request_body,
        }

    def response(self) -> dict[str, Any]:
        return {"status": self.status, "headers": {"content-type": self.content_type}, "body": self.body}


def of_exchange(ex: Any, step: str) -> Call:
    """A call from the suite's recorder (`transport.Exchange`, already redacted)."""
    headers = {k.lower(): v for k, v in (ex.response_headers or {}).items()}
    operation = ex.operation or f"{ex.method} {ex.url.split('?')[0]}"
    return Call(
        operation=operation,
        step=step,
        method=ex.method,
        url=ex.url,
        request_body=ex.request_body,
        status=ex.status,
        content_type=headers.get("content-type", ""),
        body=ex.response_body,
        api=ex.api or "",
        request_headers=ex.request_headers,
    )
