"""Answers on the wire: NexSIS JSON, Moodle's JSON or XML, written as two ASGI messages.

A ``Result`` (``nexsis_mock.domain``) becomes bytes here and nowhere else. NexSIS bodies are
orjson; web-service bodies are PHP's ``json_encode`` or Moodle's XML, rendered directly from the
result in the format the call asked for. A memoised listing (a list with a ``source``, see
``nexsis_mock.store.state.MemoRows``) is encoded once while it stays valid.
"""

from __future__ import annotations

import json
import typing as t

import orjson
from starlette.types import Send

from .moodle import JSON_HEADERS, XML_HEADERS, php_json, xml_body

__all__ = ["NEXSIS_JSON", "dumps", "encode", "head", "respond", "ws_answer"]

NEXSIS_JSON = "application/json; charset=utf-8"


def dumps(value: t.Any) -> bytes:
    """orjson, falling back to the stdlib for what orjson refuses (integers beyond 64 bits)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return json.dumps(value, separators=(",", ":"), default=str).encode("utf-8")


#: Header dicts that are module constants (Moodle's answer headers), encoded once: by identity.
_ENCODED: dict[int, tuple[t.Mapping[str, str], tuple[tuple[bytes, bytes], ...], frozenset[bytes]]] = {}


def _encoded(headers: t.Mapping[str, str]) -> tuple[tuple[tuple[bytes, bytes], ...], t.Collection[bytes]]:
    """The headers as (name, value) bytes, lower-case names, and the set of those names."""
    hit = _ENCODED.get(id(headers))
    if hit is not None and hit[0] is headers:
        return hit[1], hit[2]
    raw = tuple((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items())
    names = frozenset(k for k, _ in raw)
    if headers is JSON_HEADERS or headers is XML_HEADERS:  # immutable by convention, never edited
        _ENCODED[id(headers)] = (headers, raw, names)
    return raw, names


_MEDIA_TYPES = {NEXSIS_JSON: NEXSIS_JSON.encode("latin-1")}


async def respond(send: Send, status: int, body: bytes, headers: t.Mapping[str, str] | None,
                  media_type: str | None = None) -> None:
    """The two ASGI messages ``starlette.responses.Response`` would send, without the object.

    Same headers in the same order: the given ones, then Content-Length (not for 1xx, 204, 304)
    and Content-Type (``media_type``) unless given (``head``).
    """
    raw = head(status, body, headers, media_type)
    answer = getattr(send, "answer", None)  # the journal's recorder takes the answer whole
    if answer is not None:
        await answer(status, raw, body)
        return
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def head(status: int, body: bytes, headers: t.Mapping[str, str] | None,
         media_type: str | None = None) -> list[tuple[bytes, bytes]]:
    """The answer's header list as ``respond`` sends it."""
    names: t.Collection[bytes]
    if headers:
        encoded, names = _encoded(headers)
        raw = list(encoded)
    else:
        raw, names = [], ()
    if b"content-length" not in names and not (status < 200 or status in (204, 304)):
        raw.append((b"content-length", str(len(body)).encode("latin-1")))
    if media_type is not None and b"content-type" not in names:
        raw.append((b"content-type", _MEDIA_TYPES.get(media_type) or media_type.encode("latin-1")))
    return raw


#: Encoded memoised listings: (id of the memo's list, encoder) -> (that list, bytes). The list is
#: kept referenced, so its id cannot be reused while the entry lives.
_LISTINGS: dict[tuple[int, t.Any], tuple[list, bytes]] = {}
_MAX_LISTINGS = 16


def encode(body: t.Any, encoder: t.Callable[[t.Any], bytes]) -> bytes:
    """``encoder(body)``, reused for a memoised listing while it is valid."""
    source = getattr(body, "source", None) if isinstance(body, list) else None
    if source is None:
        return encoder(body)
    key = (id(source), encoder)
    hit = _LISTINGS.get(key)
    if hit is not None and hit[0] is source:
        return hit[1]
    content = encoder(body)
    if len(_LISTINGS) >= _MAX_LISTINGS:
        _LISTINGS.clear()
    _LISTINGS[key] = (source, content)
    return content


def ws_answer(value: t.Any, fmt: str) -> tuple[bytes, t.Mapping[str, str]]:
    """Body and headers of a server.php answer in the call's format (always HTTP 200)."""
    if fmt == "json":
        return encode(value, php_json), JSON_HEADERS
    return encode(value, xml_body), XML_HEADERS
