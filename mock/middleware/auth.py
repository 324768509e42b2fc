"""Authentication, once per request, by the endpoint's security alternatives.

NexSIS takes ``Authorization: Bearer <key>`` or the ``token`` query parameter (either satisfies,
``openapi/nexsis.yaml``); the first alternative that finds a credential decides, as Connexion's
security did, and its messages are kept (tests/data/golden pins them): no credential at all is
"No authorization token provided", a wrong bearer "Provided token is not valid", a wrong query
key "Provided apikey is not valid" (when several are wrong, the last one's). A web-service call
has one credential, ``wstoken`` (query or body, merged as Moodle merges them), checked by the
domain (``dispatch.ws_token_problem``), which answers Moodle's ``invalidtoken`` with the same words.
"""

from __future__ import annotations

import functools
import typing as t
from urllib.parse import parse_qsl

from nexsis_openapi import codec

from ..endpoints import Endpoint

__all__ = ["Unauthorized", "nexsis_credential"]

Check = t.Callable[[str | None], bool]


class Unauthorized(Exception):
    """401: no credential, or a wrong one (``message`` says which)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


Heads = t.Mapping[bytes, bytes]


def _header(heads: Heads, name: bytes) -> str | None:
    value = heads.get(name)
    return None if value is None else value.decode("latin-1")


@functools.lru_cache(maxsize=1024)
def _query_value(raw: bytes, name: str) -> str | None:
    # A client sends the same credential call after call; bounded, so it stays small.
    value = None
    for key, item in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        if key == name:
            value = item
    return value


def _query(scope: t.Mapping[str, t.Any], name: str) -> str | None:
    raw = scope.get("query_string", b"")
    if not raw:
        return None
    return _query_value(raw, name) if len(raw) <= 256 else _query_value.__wrapped__(raw, name)


def nexsis_credential(scope: t.Mapping[str, t.Any], heads: Heads, endpoint: Endpoint, check: Check
                      ) -> str | None:
    """The token that authenticated the request; raises ``Unauthorized`` when none does.

    ``heads`` maps each header name of the request to its first value.
    """
    errors: list[str] = []
    for alternative in endpoint.security:
        if alternative[0] == "bearer":
            authorization = _header(heads, b"authorization")
            if not authorization:
                continue
            try:
                scheme, token = authorization.split(maxsplit=1)
            except ValueError:
                errors.append("Invalid authorization header")
                continue
            if scheme.lower() != "bearer":
                continue
            if check(token):
                return token.strip() or _handler_token(scope, heads)
            errors.append("Provided token is not valid")
        else:
            where, name = alternative
            value = _query(scope, name) if where == "query" else _header(heads, name.lower().encode())
            if value is None:
                continue
            if check(value):
                return _handler_token(scope, heads)
            errors.append("Provided apikey is not valid")
    if not endpoint.security:
        return _handler_token(scope, heads)
    raise Unauthorized(errors[-1] if errors else "No authorization token provided")


def _handler_token(scope: t.Mapping[str, t.Any], heads: Heads) -> str | None:
    """The token the domain sees (it checks it again, as its own seam): bearer first, then query."""
    authorization = _header(heads, b"authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    raw = scope.get("query_string", b"")
    if b"token=" in raw:
        value = codec.decode(raw).get("token")
        return value if isinstance(value, str) else None
    return None
