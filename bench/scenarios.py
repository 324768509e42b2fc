"""The load profiles: what a client test suite asks a mock, request by request.

Each scenario turns a `Site` (the ids and tokens of the data the server holds) into the request
list a load generator cycles through. Writes either toggle an existing record between two states
(steady-state PUT) or create a record with a unique "@SEQ@" name (creates), so no request fails
because a previous one succeeded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import orjson

from bench.loadgen import Capture, Req
from nexsis_openapi import NEXSIS_BASE_PATH
from nexsis_openapi.moodle import WS_PATH

NEXSIS = NEXSIS_BASE_PATH
WS = WS_PATH
FORM = "application/x-www-form-urlencoded"
USER_PREFIX = "benchu"
GROUP_PREFIX = "bench-g"


@dataclass(frozen=True)
class Site:
    """Ids and tokens of one data set, as the scenarios need them."""

    nexsis_token: str
    ws_token: str
    user_ids: tuple[str, ...]      # existing NexSIS user ids (idnumbers)
    course_id: str                 # NexSIS course id with `course_enrolments` enrolments
    course_enrolments: int
    other_course_id: str           # a NexSIS course for plain reads
    program_id: int                # WS program id with allocations
    group_course_id: int           # WS (numeric) course id to create groups in
    group_course_ref: str          # the same course's NexSIS id, to list those groups


@dataclass(frozen=True)
class Profile:
    requests: list[Req]
    captures: list[Capture]


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    apis: tuple[str, ...]
    kind: str                       # "read", "write" or "mixed"
    target_ratio: float | None      # fraction of the Starlette ceiling the issue asks for
    build: Callable[[Site], Profile]


def _bearer(site: Site) -> dict[str, str]:
    return {"Authorization": f"Bearer {site.nexsis_token}", "Accept": "application/json"}


def _get(site: Site, path: str) -> Req:
    return Req("GET", NEXSIS + path, _bearer(site))


def _user_doc(userid: str, variant: int) -> dict[str, str]:
    return {"username": f"{userid.lower()}", "firstname": f"Bench{variant}", "lastname": "Runner",
            "email": f"{userid.lower()}.{variant}@bench.example.edu"}


def _put_user_json(site: Site, userid: str, variant: int) -> Req:
    return Req("PUT", f"{NEXSIS}/user/{userid}", {**_bearer(site), "Content-Type": "application/json"},
               orjson.dumps(_user_doc(userid, variant)).decode())


def _put_user_form(site: Site, userid: str, variant: int) -> Req:
    return Req("PUT", f"{NEXSIS}/user/{userid}", {**_bearer(site), "Content-Type": FORM},
               urlencode(_user_doc(userid, variant)))


def _ws(site: Site, function: str, params: list[tuple[str, str]]) -> Req:
    body = urlencode([("wstoken", site.ws_token), ("wsfunction", function),
                      ("moodlewsrestformat", "json"), *params])
    return Req("POST", WS, {"Content-Type": FORM, "Accept": "application/json"}, body)


def _get_allocations(site: Site) -> Req:
    return _ws(site, "tool_muprog_get_program_allocations", [("programid", str(site.program_id))])


def _create_group(site: Site) -> Req:
    # urlencode would escape the @SEQ@ marker, so the dynamic part is appended verbatim.
    req = _ws(site, "core_group_create_groups", [("groups[0][courseid]", str(site.group_course_id)),
                                                  ("groups[0][description]", "created by bench")])
    return Req(req.method, req.path, req.headers,
               f"{req.body}&{urlencode({'groups[0][name]': GROUP_PREFIX})}@SEQ@")


def _new_user_json(site: Site) -> Req:
    doc = {"username": f"{USER_PREFIX}@SEQ@", "firstname": "Soak", "lastname": "Writer",
           "email": f"{USER_PREFIX}@SEQ@@bench.example.edu"}
    return Req("PUT", f"{NEXSIS}/user/{USER_PREFIX}@SEQ@",
               {**_bearer(site), "Content-Type": "application/json"}, orjson.dumps(doc).decode())


def _mixed(site: Site) -> Profile:
    """80/20 reads/writes across both APIs, ten requests per cycle."""
    users = site.user_ids
    reads = [
        _get(site, f"/user/{users[0]}"),
        _get(site, f"/user/{users[1 % len(users)]}"),
        _get(site, f"/user/{users[2 % len(users)]}"),
        _get(site, "/ping"),
        _get(site, f"/user/{users[0]}/enrol"),
        _get(site, f"/course/{site.other_course_id}"),
        _get_allocations(site),
        _get(site, f"/course/{site.other_course_id}/enrol"),
    ]
    writes = [_new_user_json(site), _create_group(site)]
    cycle = [*reads[:4], writes[0], *reads[4:], writes[1]]
    return Profile(cycle, [Capture("userid", USER_PREFIX), Capture("name", GROUP_PREFIX)])


SCENARIOS: list[Scenario] = [
    Scenario("ping", "GET /ping", ("nexsis",), "read", None,
             lambda s: Profile([_get(s, "/ping")], [])),
    Scenario("get_user", "GET /user/{id}", ("nexsis",), "read", 0.60,
             lambda s: Profile([_get(s, f"/user/{s.user_ids[0]}")], [])),
    Scenario("put_user_json", "PUT /user/{id} (JSON)", ("nexsis",), "write", 0.45,
             lambda s: Profile([_put_user_json(s, s.user_ids[0], v) for v in (1, 2)], [])),
    Scenario("put_user_form", "PUT /user/{id} (form)", ("nexsis",), "write", 0.45,
             lambda s: Profile([_put_user_form(s, s.user_ids[0], v) for v in (1, 2)], [])),
    Scenario("course_enrol", "GET /course/{id}/enrol (large course)", ("nexsis",), "read", None,
             lambda s: Profile([_get(s, f"/course/{s.course_id}/enrol")], [])),
    Scenario("ws_get_allocations", "tool_muprog_get_program_allocations", ("moodle-ws",), "read", 0.45,
             lambda s: Profile([_get_allocations(s)], [])),
    Scenario("ws_create_groups", "core_group_create_groups", ("moodle-ws",), "write", 0.45,
             lambda s: Profile([_create_group(s)], [Capture("name", GROUP_PREFIX)])),
    Scenario("mixed", "mixed 80/20 read/write, both APIs", ("nexsis", "moodle-ws"), "mixed", None, _mixed),
]
BY_KEY = {s.key: s for s in SCENARIOS}
