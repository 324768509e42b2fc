"""Before the first generated case: is the target there, is it what --base-url claims, are tokens taken?

A run against the wrong URL must not end as a page of "violations" (every answer a 404, or a login
page): that is exit 3 with a hint saying what was asked and what to fix, never exit 1. Only answers
that show the API is not there count (404, or an HTML page where JSON was due); any other answer is
left to the checks, so a real site with a bug still fails for the right reason.
"""

from __future__ import annotations

import requests

from nexsis_contracts.run_context import RunContext
from nexsis_openapi.moodle import INVALID_TOKEN, WS_PATH

HINT = (
    "hint: --base-url is the Moodle site root (wwwroot, e.g. https://moodle.example.edu or "
    "https://example.edu/moodle), without /enrol/nexsis/... or /webservice/...; "
    "targets: in contracts.yaml sets one per API, --only tests one API alone"
)


class Unreachable(Exception):
    """The target does not answer, is not the API --base-url names, or refuses the tokens (exit 3)."""


def _html(resp: requests.Response) -> bool:
    return "html" in resp.headers.get("content-type", "").lower()


def _not_there(api: str, what: str, url: str, resp: requests.Response) -> None:
    if resp.status_code == 404 or (resp.status_code < 400 and _html(resp)):
        kind = "a 404" if resp.status_code == 404 else f"an HTML page (HTTP {resp.status_code})"
        raise Unreachable(f"{api}: {what} {url} answered {kind}: no {api} API at this URL\n{HINT}")


def preflight(run: RunContext) -> None:
    """One authenticated read per API; raises Unreachable (exit 3) with what was asked and a hint."""
    for api in run.settings.specs:
        base = run.settings.target(api)
        try:
            if api == "nexsis":
                url = base + run.catalog.prefixes["nexsis"] + "/ping"
                resp = run.session.get(url, **run.auth_kwargs(api))
                if resp.status_code in (401, 403):
                    raise Unreachable(f"NexSIS refused the token (HTTP {resp.status_code} from /ping)")
                _not_there("nexsis", "GET", url, resp)
            else:
                url = base + WS_PATH
                resp = run.session.post(
                    url,
                    params=run.auth_kwargs(api)["params"],
                    data={"wsfunction": "core_webservice_get_site_info", "moodlewsrestformat": "json"},
                )
                _not_there("moodle-ws", "POST", url, resp)
                try:
                    body = resp.json()
                except ValueError:
                    body = None
                if resp.status_code == 200 and body is None:
                    raise Unreachable(
                        f"moodle-ws: POST {url} answered HTTP 200 without JSON "
                        f"({resp.headers.get('content-type') or 'no content type'}): not a Moodle "
                        f"web service\n{HINT}"
                    )
                if isinstance(body, dict) and body.get("errorcode") == INVALID_TOKEN["errorcode"]:
                    raise Unreachable("Moodle refused the web-service token (invalidtoken)")
        except requests.RequestException as exc:
            raise Unreachable(f"{api}: {base} is unreachable: {type(exc).__name__}") from None
