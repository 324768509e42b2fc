"""The suite's own calls: a NexSIS request by path, a web-service function by name, through the run's
guarded session with the run's tokens.

The fixture graph, the write-effect rules, the filter reads, the scenarios and the cleanup all send
such calls; only what they do with the answer differs (notes, `None` on a refusal, judging). How a
call goes on the wire is said once, here: NexSIS path segments after the first percent-quoted, the
token as `Authorization: Bearer`; a WS call as a POST form to `server.php` (`wsfunction`, JSON format,
PHP bracket notation by the codec) with `wstoken` in the query. Generated cases and the documented
variants of a request (`acceptance`) are built elsewhere: they choose their own wire form.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

from nexsis_contracts.run_context import RunContext
from nexsis_openapi import codec
from nexsis_openapi.moodle import WS_PATH

FORM = "application/x-www-form-urlencoded"


def nexsis_url(run: RunContext, path: str) -> str:
    """The URL of a NexSIS path (`/course/C1/group/G 1`): segments after the first are quoted."""
    base = run.settings.target("nexsis") + run.catalog.prefixes.get("nexsis", "")
    return base + "/".join(quote(p, safe="") if i else p for i, p in enumerate(path.split("/")))


def nexsis(
    run: RunContext, method: str, path: str, json: Any = None, params: dict[str, Any] | None = None
) -> requests.Response:
    """One NexSIS request (`json`: the body; `params`: the query)."""
    return run.session.request(
        method, nexsis_url(run, path), params=params, json=json, **run.auth_kwargs("nexsis")
    )


def ws_post(run: RunContext, form: dict[str, Any]) -> requests.Response:
    """One web-service call of a complete form (it names `wsfunction` and the format itself)."""
    return run.session.post(
        run.settings.target("moodle-ws") + WS_PATH,
        params=run.auth_kwargs("moodle-ws")["params"],
        data=codec.encode(form).encode(),
        headers={"Content-Type": FORM},
    )


def ws(run: RunContext, function: str, **params: Any) -> requests.Response:
    """One web-service function with its parameters, answered as JSON."""
    return ws_post(run, {"wsfunction": function, "moodlewsrestformat": "json", **params})
