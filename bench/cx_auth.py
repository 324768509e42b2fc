"""Token checks for Connexion's example mock (`connexion run --mock=all`).

Connexion refuses every request of a secured operation when the spec names no
`x-bearerInfoFunc`/`x-apikeyInfoFunc`; its documented alternative is the BEARERINFO_FUNC and
APIKEYINFO_FUNC environment variables. These accept any token, the cheapest check there is, so
the reference point pays for a security handler call as our mock does, and nothing more.
"""

from typing import Any


def bearer_info(token: str, **_: Any) -> dict[str, str]:
    return {"sub": "bench"}


def apikey_info(token: str, **_: Any) -> dict[str, str]:
    return {"sub": "bench"}
