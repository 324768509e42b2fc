"""The URLs the mock gives about itself: from ``--public-url``, else from how it was reached.

A client reaches the mock on some host and port (``localhost:8080``, a container's mapped port,
a proxy): every URL the mock reports about itself (Moodle's ``siteurl``, the Swagger UIs'
``servers``, the slash redirect) must work from that client, so it is built from the request's
``Host`` header, or from ``--public-url`` when one is given (a proxy that adds a path prefix can
only be described that way).

The Host header is the client's word, so it is used only where the answer goes back to the same
client and only when it is a well-formed ``host[:port]`` (else the socket's own address is used):
a header cannot smuggle a path, a user part or a line break into a URL. The slash redirect does not
use it at all: its ``Location`` is a path-absolute reference (RFC 9110 10.2.2), which the client
resolves against the URL it used, so no Host header can send it to another site (no open
redirect, nothing to poison in a cache).
"""

from __future__ import annotations

import functools
import re
import typing as t
from urllib.parse import quote, unquote_plus

from nexsis_openapi.redact import is_secret_name

__all__ = ["base_url", "redirect_location", "request_host"]

# A DNS name or IPv4 address, or a bracketed IPv6 address, then an optional port.
_HOST = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
                   r"[A-Za-z0-9])?)*\.?|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?")
# Characters a Location header may carry as they are; everything else is percent-encoded.
_PATH_SAFE = "/-._~!$&'()*+,;=:@"
_QUERY_SAFE = _PATH_SAFE + "?%[]"


@functools.lru_cache(maxsize=256)
def _well_formed_host(value: bytes) -> str | None:
    # A client sends the same Host on every request (bounded, so it stays small).
    host = value.decode("latin-1").strip()
    if _HOST.fullmatch(host) and (":" not in host.rpartition("]")[2]
                                  or int(host.rpartition(":")[2]) <= 65535):
        return host
    return None


def request_host(scope: t.Mapping[str, t.Any], header: bytes | None = None) -> str:
    """``host[:port]`` the client reached: its Host header when well-formed, else the socket's.

    ``header``: the (first) Host header's value when the caller has it at hand.
    """
    if header is None:
        header = next((value for name, value in scope.get("headers") or () if name == b"host"), None)
    if header is not None:
        host = _well_formed_host(header) if len(header) <= 256 else _well_formed_host.__wrapped__(header)
        if host is not None:
            return host
    server = scope.get("server") or ("127.0.0.1", 80)
    address = f"[{server[0]}]" if ":" in str(server[0]) else str(server[0])
    return address if server[1] in (None, 80) else f"{address}:{server[1]}"


def base_url(scope: t.Mapping[str, t.Any], public_url: str | None, host: bytes | None = None) -> str:
    """The site's root URL for this request, without a trailing slash (``host``: the Host header)."""
    if public_url:
        return public_url
    return f"{scope.get('scheme', 'http')}://{request_host(scope, host)}"


def _without_credentials(query: str) -> str:
    """The query without its token parameters (a header the mock sends never carries a token)."""
    kept = [pair for pair in query.split("&")
            if pair and not is_secret_name(unquote_plus(pair.partition("=")[0]).strip().lower())]
    return "&".join(kept)


def redirect_location(scope: t.Mapping[str, t.Any], path: str, public_url: str | None) -> str:
    """``Location`` of the slash redirect to ``path`` (decoded): path-absolute, or on ``--public-url``.

    The path is percent-encoded again (a decoded ``%0d%0a`` cannot become a header line break), and
    the query is kept but for ``token`` (sent again by the client, like its ``Authorization``).
    """
    location = (public_url or "") + quote(path, safe=_PATH_SAFE)
    query = _without_credentials(bytes(scope.get("query_string") or b"").decode("latin-1"))
    if query:
        location += "?" + quote(query, safe=_QUERY_SAFE)
    return location
