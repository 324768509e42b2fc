"""Input limits checked before a request is decoded: size, encoding, and a bounded body reader.

Each limit is a documented refusal (mock/README.md), raised as ``LimitExceeded`` and answered by
the error mapping as a NexSIS JSON error or a Moodle envelope; none changes state.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from starlette.types import Receive, Scope

__all__ = ["DEFAULT_MAX_BODY", "BodyTooLarge", "LimitExceeded", "check_encoding",
           "declared_length", "parse_length", "read_body"]

#: Default request body limit (1 MiB): far above any real NexSIS or WS call.
DEFAULT_MAX_BODY = 1024 * 1024


class LimitExceeded(Exception):
    """A request the mock refuses before parsing it; ``status`` is the NexSIS answer."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BodyTooLarge(LimitExceeded):
    status = 413
    code = "payload_too_large"
    prefix = b""  # (read_body) the body's first bytes read, for the journal
    size = 0


def _utf8(raw: bytes, what: str) -> None:
    if b"%" in raw or not raw.isascii():
        try:
            unquote_to_bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise LimitExceeded(f"the {what} is not valid UTF-8 after percent-decoding") from None


def check_encoding(scope: Scope) -> None:
    """Refuse paths and query strings whose percent-decoded bytes are not UTF-8.

    uvicorn decodes the path with ``errors="replace"``, so without this check an invalid byte
    would silently become U+FFFD and reach the domain as a different identifier.
    """
    raw_path = scope.get("raw_path")
    if raw_path and (b"%" in raw_path or not raw_path.isascii()):  # else nothing to check
        _utf8(raw_path.split(b"?", 1)[0], "path")
    query = scope.get("query_string")
    if query:
        _utf8(query.replace(b"+", b" "), "query string")


def declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return parse_length(value)
    return None


def parse_length(value: bytes | None) -> int | None:
    """A (first) ``Content-Length`` header's value as a number; None without one."""
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise LimitExceeded("the Content-Length header is not a number") from None


def _too_large(limit: int) -> BodyTooLarge:
    return BodyTooLarge(f"the request body exceeds the mock's limit of {limit} bytes")


async def read_body(receive: Receive, limit: int, keep: int = 0) -> bytes:
    """The whole body, refusing more than ``limit`` bytes without reading the rest.

    The refusal carries what a journal keeps of it: the first ``keep`` bytes read before the
    limit was passed (``BodyTooLarge.prefix``) and the bytes counted (``.size``).
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            exc = _too_large(limit)
            exc.prefix, exc.size = b"".join(chunks)[:keep], size
            raise exc
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)
