"""Moodle's REST protocol on the wire: how server.php reads a call and how it writes an answer.

Reading follows webservice/rest/locallib.php: ``array_merge($_GET, $_POST)`` (top-level keys, the
POST value wins), ``moodlewsrestformat`` is ``json`` or ``xml`` (anything else means xml), and
``wstoken``/``wsfunction`` are taken out of the merged parameters. PHP fills ``$_POST`` only from
form bodies of POST requests, so a JSON body is not read at all.

Writing follows ``send_response``/``generate_error``: JSON is PHP's ``json_encode`` (``/`` escaped
as ``\\/``, non-ASCII as ``\\uXXXX``), XML is Moodle's RESPONSE/MULTIPLE/SINGLE/KEY/VALUE form or
the EXCEPTION element, and every answer is HTTP 200 with the headers a real site sends.
"""

from __future__ import annotations

import json
import re
import typing as t
from dataclasses import dataclass, field

import orjson

from nexsis_openapi import codec
from nexsis_openapi.moodle import (
    ACCESS_EXCEPTION,
    INVALID_PARAMETER,
    INVALID_RECORD,
    INVALID_TOKEN,
    REST_FORMATS,
    SETTINGS,
    WS_PATH,
    is_exception,
)

__all__ = [
    "ACCESS_EXCEPTION",
    "INVALID_PARAMETER",
    "INVALID_RECORD",
    "INVALID_TOKEN",
    "WS_PATH",
    "WSCall",
    "decode_call",
    "is_exception",
    "render",
]

#: Headers of every server.php answer (observed on the real site).
_COMMON_HEADERS = {
    "Cache-Control": "private, must-revalidate, pre-check=0, post-check=0, max-age=0",
    "Access-Control-Allow-Origin": "*",
}
JSON_HEADERS = {"Content-Type": "application/json", **_COMMON_HEADERS}
XML_HEADERS = {"Content-Type": "application/xml; charset=utf-8", **_COMMON_HEADERS}
_FORM = "application/x-www-form-urlencoded"
_SETTINGS = frozenset(SETTINGS)
_JSON_FORMAT = re.compile(rb"(?:^|&)moodlewsrestformat=json(?:&|$)")


@dataclass(slots=True)
class WSCall:
    """One server.php call after Moodle's merge of query and body."""

    params: dict[str, t.Any]
    function: str | None
    token: str | None
    format: str = "xml"
    settings: dict[str, t.Any] = field(default_factory=dict)

    @classmethod
    def from_parts(cls, query: dict[str, t.Any], body: dict[str, t.Any] | None) -> WSCall:
        """``body`` becomes the call's parameters (the codec's fresh dict: it is not copied)."""
        # array_merge($_GET, $_POST): the POST value wins
        merged = {**query, **(body or {})} if query else {} if body is None else body
        fmt = merged.pop("moodlewsrestformat", None)
        token = merged.pop("wstoken", None)
        function = merged.pop("wsfunction", None)
        # set_web_service_call_settings(): read with optional_param (never refused) and removed,
        # so they are no function parameters (an unknown moodlewssetting* still is one: refused).
        settings = {} if _SETTINGS.isdisjoint(merged) else {
            name: merged.pop(name) for name in SETTINGS if name in merged}
        return cls(merged, function if isinstance(function, str) else None,
                   token if isinstance(token, str) else None,
                   fmt if fmt in REST_FORMATS else "xml", settings)


def decode_call(query: dict[str, t.Any], raw: bytes, content_type: str, fmt: str) -> WSCall | tuple[str, str]:
    """The call from the decoded query and the raw body, or (format, reason) when the form is refused.

    PHP fills ``$_POST`` only from form bodies, so any other body is not read at all.
    """
    body: dict[str, t.Any] | None = None
    if raw and (content_type == _FORM or content_type.split(";")[0].strip().lower() == _FORM):
        try:
            body = codec.decode(raw)
        except codec.CodecError as exc:
            # PHP would still have parsed the leading fields, so honour a format found there.
            return ("json" if _JSON_FORMAT.search(raw) else fmt), f"form body: {exc}"
    return WSCall.from_parts(query, body)


def php_json(value: t.Any) -> bytes:
    """``json_encode`` with PHP's default flags: ``\\/`` and ``\\uXXXX`` escapes, no spaces."""
    try:
        raw = orjson.dumps(value)
        if raw.isascii():
            return raw.replace(b"/", b"\\/")
    except TypeError:  # an integer beyond 64 bits: the stdlib encodes it
        pass
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text.encode("ascii").replace(b"/", b"\\/")


#: Characters XML 1.0 cannot carry, not even as references (a real Moodle writes them raw, and
#: its answer is then not well-formed): the mock writes U+FFFD instead, so the answer parses.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _esc(value: t.Any) -> str:
    """htmlspecialchars(ENT_COMPAT): &, <, > and double quotes; single quotes stay."""
    text = (str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))
    return _NOT_XML.sub("\ufffd", text) if not text.isprintable() else text


def _php_str(value: t.Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _xmlize(value: t.Any, out: list[str]) -> None:
    # Moodle walks the return description; without it the value's own shape is the description.
    if isinstance(value, list):
        out.append("<MULTIPLE>\n")
        for item in value:
            _xmlize(item, out)
        out.append("</MULTIPLE>\n")
    elif isinstance(value, dict):
        out.append("<SINGLE>\n")
        for key, item in value.items():
            out.append(f'<KEY name="{_esc(key)}">')
            _xmlize(item, out)
            out.append("</KEY>\n")
        out.append("</SINGLE>\n")
    elif value is None:
        out.append('<VALUE null="null"/>\n')
    else:
        out.append(f"<VALUE>{_esc(_php_str(value))}</VALUE>\n")


def xml_body(value: t.Any) -> bytes:
    if is_exception(value):
        parts = ['<?xml version="1.0" encoding="UTF-8" ?>\n',
                 f'<EXCEPTION class="{value["exception"]}">\n',
                 f"<ERRORCODE>{_esc(value.get('errorcode') or '')}</ERRORCODE>\n",
                 f"<MESSAGE>{_esc(value['message'])}</MESSAGE>\n"]
        if value.get("debuginfo"):
            parts.append(f"<DEBUGINFO>{_esc(value['debuginfo'])}</DEBUGINFO>\n")
        parts.append("</EXCEPTION>\n")
        return "".join(parts).encode("utf-8")
    out = ['<?xml version="1.0" encoding="UTF-8" ?>\n', "<RESPONSE>\n"]
    if value is not None:  # a function without return description writes an empty RESPONSE
        _xmlize(value, out)
    out.append("</RESPONSE>\n")
    return "".join(out).encode("utf-8")


def render(value: t.Any, fmt: str) -> tuple[bytes, dict[str, str]]:
    """Body and headers of a server.php answer in the requested format (always HTTP 200)."""
    if fmt == "json":
        return php_json(value), JSON_HEADERS
    return xml_body(value), XML_HEADERS
