"""A clean client run over both APIs against the mock's default fixture: what an integration sends.

Only valid requests with the right tokens (and two expected refusals: an unknown user, a bad
token), so a conformant server draws no violation from them.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.proxy.conftest import NEXSIS_TOKEN, WS_TOKEN

API = "/enrol/nexsis/api/index.php"
WS = "/webservice/rest/server.php"
BEARER = {"Authorization": f"Bearer {NEXSIS_TOKEN}"}


def ws(function: str, **params: str) -> dict[str, Any]:
    body = {"wstoken": WS_TOKEN, "wsfunction": function, "moodlewsrestformat": "json", **params}
    return {"method": "POST", "url": WS, "data": body}


STEPS: list[dict[str, Any]] = [
    {"method": "GET", "url": f"{API}/ping", "headers": BEARER},
    {"method": "GET", "url": f"{API}/ping", "params": {"token": NEXSIS_TOKEN}},
    {"method": "GET", "url": f"{API}/user/S1001", "headers": BEARER},
    {
        "method": "PUT",
        "url": f"{API}/user/PX-1",
        "headers": BEARER,
        "json": {
            "username": "pxuser1",
            "firstname": "Px",
            "lastname": "User",
            "email": "px1@example.invalid",
        },
    },
    {"method": "GET", "url": f"{API}/user/PX-1", "headers": BEARER},
    {"method": "GET", "url": f"{API}/user/NO-SUCH-USER", "headers": BEARER},
    {"method": "GET", "url": f"{API}/course/C789", "headers": BEARER},
    {"method": "GET", "url": f"{API}/course/C789/enrol", "headers": BEARER},
    {"method": "GET", "url": f"{API}/user/S1001/enrol", "headers": BEARER},
    {
        "method": "PUT",
        "url": f"{API}/course/C789/group/PXG1",
        "headers": BEARER,
        "json": {"name": "PX group"},
    },
    {"method": "GET", "url": f"{API}/course/C789/group", "headers": BEARER},
    {"method": "DELETE", "url": f"{API}/user/PX-1", "headers": BEARER},
    ws("core_webservice_get_site_info"),
    ws("tool_muprog_get_programs", **{"fieldvalues[0][field]": "id", "fieldvalues[0][value]": "1"}),
    ws("tool_muprog_get_program_allocations", programid="1"),
    ws(
        "core_group_create_groups",
        **{
            "groups[0][courseid]": "2",
            "groups[0][name]": "PX proxy group",
            "groups[0][description]": "made through the proxy",
        },
    ),
    ws("core_group_create_groups", **{"groups[0][courseid]": "2"}),  # invalidparameter
    {
        "method": "POST",
        "url": WS,
        "data": {
            "wstoken": "not-a-token",
            "wsfunction": "core_webservice_get_site_info",
            "moodlewsrestformat": "json",
        },
    },
]


def run(base_url: str) -> list[tuple[int, str, bytes]]:
    """Send every step; (status, content type, body) of each answer."""
    out = []
    with httpx.Client(base_url=base_url, timeout=30, trust_env=False) as client:
        for step in STEPS:
            response = client.request(**step)
            out.append((response.status_code, response.headers.get("content-type", ""), response.content))
    return out
