"""The request corpus of the mock's server layer: every NexSIS operation, auth variants, bad bodies,
bad types, unknown ids, other methods and paths (404/405), web-service calls in JSON and XML.

Shared by ``test_operation_router`` and ``test_golden`` (the recorded answers of the mock at
56890e8, before the one-pipeline rewrite of issue 9). The cases run in order: writes come after
the failing variants of the same call, deletes last, so every case sees a known state.
"""

from __future__ import annotations

import dataclasses
import socket
import typing as t
from urllib.parse import quote

import httpx
import orjson

from .conftest import NX, WS

#: Every service in this module runs on this clock, so timestamps written by the two apps agree.
NOW = 1767193200.0
NX_TOKEN = "nexsis-demo-api-key-0001"
WS_ADMIN = "ws-admin-token-0001"
WS_READER = "ws-readonly-token-0001"
JSON = {"content-type": "application/json"}
FORM = {"content-type": "application/x-www-form-urlencoded"}
#: Headers whose difference a client could notice (date and server are per-connection noise).
COMPARED_HEADERS = ("content-type", "content-length", "allow", "x-mock-detail", "www-authenticate",
                    "location", "cache-control")



@dataclasses.dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def describe(self) -> str:
        return f"{self.status} {self.headers} {self.body[:400]!r}"



@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    method: str
    url: str
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    body: bytes | None = None
    raw: bool = False  # sent byte for byte over a socket (paths httpx would normalise)


def _bearer(token: str = NX_TOKEN) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def _json(value: t.Any) -> bytes:
    return orjson.dumps(value)


#: One valid call of every NexSIS operation on the default site: (operationId, method, path, body).
NEXSIS_CALLS: list[tuple[str, str, str, t.Any]] = [
    # NexSIS names users and courses by idnumber: S1001 = user 10, C789 = course 2 (default.yaml)
    ("ping", "GET", "/ping", None),
    ("getCourse", "GET", "/course/C789", None),
    ("putCourse", "PUT", "/course/NEW-101", {"fullname": "New course", "shortname": "NEW-101",
                                            "categorypath": "/Technology/Programming"}),
    ("listCourseEnrolments", "GET", "/course/C789/enrol", None),
    ("getCategoryGrades", "GET", "/course/C789/categorygrade/6?userid[]=S1001&userid[]=S1002", None),
    ("overrideCategoryGrade", "PUT", "/course/C789/categorygrade/6/S1001/88.5?lock=1", None),
    ("getUser", "GET", "/user/S1001", None),
    ("putUser", "PUT", "/user/new.person", {"username": "new.person", "firstname": "New",
                                            "lastname": "Person", "email": "new.person@example.edu"}),
    ("listUserEnrolments", "GET", "/user/S1001/enrol?plugin=nexsis", None),
    ("enrolUser", "PUT", "/user/S1021/enrol/C789", {}),
    ("unenrolUser", "DELETE", "/user/S1012/enrol/C553", None),
    ("listCourseGroups", "GET", "/course/C789/group", None),
    ("getCourseGroup", "GET", "/course/C789/group/G1", None),
    ("putCourseGroup", "PUT", "/course/C789/group/G9", {"name": "Group 9", "description": "ninth"}),
    ("addGroupMember", "PUT", "/course/C789/group/G1/user/S1005", {}),
    ("removeGroupMember", "DELETE", "/course/C789/group/G1/user/S1001", None),
    ("getCourseCompletion", "GET", "/course/C789/user/S1001/completion", None),
    ("addCourseCompletion", "POST", "/course/C789/user/S1005/completion/1767193200", {}),
    ("getUserGrades", "GET", "/user/S1001/grade", None),
    ("getCourseGrades", "GET", "/course/C789/grade?pagesize=5&page=0", None),
    ("getMetalink", "GET", "/course/C554/metalink/C553", None),
    ("putMetalink", "PUT", "/course/C610/metalink/C620", {}),
    ("getProgramAllocation", "GET", "/program/P12/user/S1001", None),
    ("putProgramAllocation", "PUT", "/program/P12/user/S1021", {}),
    ("getCertificationAllocation", "GET", "/certification/C12/user/S1021", None),
    ("putCertificationAllocation", "PUT", "/certification/C12/user/S1022", {}),
    ("listJobAssignments", "GET", "/organisation/user/S1001/job", None),
    ("putJobAssignment", "PUT", "/organisation/user/S1003", {"departmentid": "D5", "positionid": "P3"}),
    ("listManagers", "GET", "/organisation/user/S1001/manager", None),
    ("putManager", "PUT", "/organisation/user/S1004/manager/M2002", {}),
    ("getLogs", "GET", "/logs?limit=5&offset=0", None),
    # deletes last, so the reads and writes above still find what they need
    ("deleteManager", "DELETE", "/organisation/user/S1001/manager/M2001", None),
    ("deleteJobAssignment", "DELETE", "/organisation/user/S1002/department/D6/position/P5", None),
    ("deleteCertificationAllocation", "DELETE", "/certification/C12/user/S1021", None),
    ("deleteProgramAllocation", "DELETE", "/program/P12/user/S1013", None),
    ("deleteMetalink", "DELETE", "/course/C554/metalink/C553", None),
    ("deleteCourseGroup", "DELETE", "/course/C789/group/G3", None),
    ("deleteUser", "DELETE", "/user/S1024", None),
    ("deleteCourse", "DELETE", "/course/C620", None),
]


def _nexsis_cases() -> list[Case]:
    cases: list[Case] = []
    for op_id, method, path, body in NEXSIS_CALLS:
        url = NX + path
        content = None if body is None else _json(body)
        headers = {} if body is None else dict(JSON)
        joiner = "&" if "?" in url else "?"
        # the failing credentials first: they must change nothing, so the valid call still works
        cases.append(Case(f"{op_id}-no-token", method, url, headers, content))
        cases.append(Case(f"{op_id}-wrong-token", method, url, {**headers, **_bearer("wrong")}, content))
        cases.append(Case(f"{op_id}-basic-auth", method, url,
                          {**headers, "authorization": "Basic dXNlcjpwYXNz"}, content))
        cases.append(Case(f"{op_id}-wrong-query-token", method, f"{url}{joiner}token=x", headers, content))
        cases.append(Case(f"{op_id}-query-token", method, f"{url}{joiner}token={NX_TOKEN}", headers, content))
        cases.append(Case(f"{op_id}-bearer", method, url, {**headers, **_bearer()}, content))
        if method == "GET":
            cases.append(Case(f"{op_id}-head", "HEAD", url, _bearer()))
        if body is not None:
            auth = {**_bearer(), **JSON}
            cases.append(Case(f"{op_id}-malformed-json", method, url, auth, b'{"name": '))
            cases.append(Case(f"{op_id}-json-array", method, url, auth, b"[1, 2]"))
            cases.append(Case(f"{op_id}-text-plain", method, url,
                              {**_bearer(), "content-type": "text/plain"}, b"hello"))
            cases.append(Case(f"{op_id}-json-wrong-charset", method, url,
                              {**_bearer(), "content-type": "application/json; charset=latin-1"}, content))
            cases.append(Case(f"{op_id}-form", method, url, {**_bearer(), **FORM},
                              "&".join(f"{k}={quote(str(v))}" for k, v in body.items()).encode()))
            wrong_types = {k: [1, {"x": None}] for k in body} or {"unknown": [True]}
            cases.append(Case(f"{op_id}-wrong-types", method, url, auth, _json(wrong_types)))
    return cases


def _odd_nexsis_cases() -> list[Case]:
    auth = _bearer()
    out = [
        Case("unknown-user", "GET", NX + "/user/99999", auth),
        Case("unknown-course-idnumber", "GET", NX + "/course/NOPE", auth),
        Case("unknown-group", "GET", NX + "/course/C789/group/999", auth),
        Case("unknown-program", "PUT", NX + "/program/P999/user/S1001", {**auth, **JSON}, b"{}"),
        Case("user-space", "GET", NX + "/user/a%20b", auth),
        Case("user-slash-encoded", "GET", NX + "/user/a%2Fb", auth),
        Case("user-unicode", "GET", NX + "/user/" + quote("日本語"), auth),
        Case("user-dot-in-id", "GET", NX + "/user/ava.adams", auth),
        Case("user-long", "GET", NX + "/user/" + "x" * 3000, auth),
        Case("user-digits", "GET", NX + "/user/" + "9" * 40, auth),
        Case("user-control", "GET", NX + "/user/a%01b", auth),
        Case("user-nul", "GET", NX + "/user/a%00b", auth),
        Case("user-bad-utf8", "GET", NX + "/user/%C3%28", auth),
        Case("grade-not-number", "PUT", NX + "/course/C789/categorygrade/6/S1001/abc", auth),
        Case("grade-exponent", "PUT", NX + "/course/C789/categorygrade/6/S1001/1e3", auth),
        Case("completion-iso", "POST", NX + "/course/C789/user/S1006/completion/2026-01-01T10:00:00Z",
             {**auth, **JSON}, b"{}"),
        Case("completion-bad-time", "POST", NX + "/course/C789/user/S1006/completion/yesterday",
             {**auth, **JSON}, b"{}"),
        Case("pagesize-not-int", "GET", NX + "/course/C789/grade?pagesize=abc", auth),
        Case("limit-negative", "GET", NX + "/logs?limit=-5", auth),
        Case("logs-level-array", "GET", NX + "/logs?level[]=info&level[]=warning", auth),
        Case("unknown-query-param", "GET", NX + "/user/S1001?foo=bar", auth),
        Case("query-bad-brackets", "GET", NX + "/user/S1001?a[=1", auth),
        Case("token-twice", "GET", NX + f"/ping?token={NX_TOKEN}&token=wrong", {}),
        Case("bearer-and-wrong-query", "GET", NX + "/ping?token=wrong", auth),
        Case("bearer-lowercase", "GET", NX + "/ping", {"authorization": f"bearer {NX_TOKEN}"}),
        Case("put-job-missing-required", "PUT", NX + "/organisation/user/S1003", {**auth, **JSON},
             b'{"departmentid": "D5"}'),
        Case("put-job-no-body", "PUT", NX + "/organisation/user/S1003", auth),
        Case("put-user-empty-body", "PUT", NX + "/user/S1001", {**auth, **JSON}, b""),
        Case("put-user-form-brackets", "PUT", NX + "/user/S1001", {**auth, **FORM}, b"firstname[0]=x"),
        Case("put-user-json-unicode", "PUT", NX + "/user/S1001", {**auth, **JSON},
             _json({"firstname": "Zoë"})),
        Case("put-user-bad-json-utf8", "PUT", NX + "/user/S1001", {**auth, **JSON}, b'{"firstname": "\xff"}'),
        # methods and paths no operation serves: the router hands them to Connexion
        Case("ping-post-405", "POST", NX + "/ping", auth),
        Case("user-patch-405", "PATCH", NX + "/user/S1001", auth),
        Case("user-options", "OPTIONS", NX + "/user/S1001", auth),
        Case("logs-delete-405", "DELETE", NX + "/logs", auth),
        Case("course-post-405", "POST", NX + "/course/C789", {**auth, **JSON}, b"{}"),
        Case("trace-405", "TRACE", NX + "/ping", auth),
        Case("head-unknown", "HEAD", NX + "/nothing", auth),
        Case("head-user", "HEAD", NX + "/user/S1001", auth),
        Case("head-no-token", "HEAD", NX + "/ping", {}),
        Case("unknown-path", "GET", NX + "/nothing/here", auth),
        Case("extra-segment", "GET", NX + "/user/S1001/enrol/C789/more", auth),
        Case("trailing-slash", "GET", NX + "/ping/", auth),
        Case("trailing-slash-user", "GET", NX + "/user/S1001/", auth),
        Case("prefix-only", "GET", NX, auth),
        Case("prefix-slash", "GET", NX + "/", auth),
        Case("case-differs", "GET", NX + "/PING", auth),
    ]
    raw_auth = f"Authorization: Bearer {NX_TOKEN}\r\n"
    for name, target in [("raw-double-slash", NX + "//ping"), ("raw-dot-segment", NX + "/./ping"),
                         ("raw-dotdot", NX + "/user/../ping"), ("raw-user-dot", NX + "/user/."),
                         ("raw-percent-dot", NX + "/user/%2E%2E")]:
        out.append(Case(name, "GET", target, {"raw": raw_auth}, raw=True))
    return out


#: Grade path values that Connexion's float convertor regex matches but float() refuses: the router
#: once raised there outside its error handling (a different 500 from the reference's).
FLOAT_REFUSED = [
    Case("grade-plus-sign", "PUT", NX + "/course/C789/categorygrade/6/S1001/+", _bearer()),
    Case("grade-empty", "PUT", NX + "/course/C789/categorygrade/6/S1001/", _bearer()),
    Case("grade-empty-get", "GET", NX + "/course/C789/categorygrade/6/S1001/", _bearer()),
]


def _ws(name: str, body: bytes, headers: dict[str, str] | None = None) -> Case:
    return Case(name, "POST", WS, FORM if headers is None else headers, body)


def _ws_cases() -> list[Case]:
    raw = [
        ("site-info", "core_webservice_get_site_info", ""),
        ("get-programs", "tool_muprog_get_programs", "fieldvalues[0][field]=id&fieldvalues[0][value]=1"),
        ("get-allocations", "tool_muprog_get_program_allocations", "programid=1&userids[0]=10"),
        ("get-cohorts", "tool_muprog_source_cohort_get_cohorts", "programid=1"),
        ("allocate", "tool_muprog_source_manual_allocate_users", "programid=1&userids[0]=31&userids[1]=32"),
        ("update-allocation", "tool_muprog_update_program_allocation",
         "programid=1&userid=32&allocationdates[timedue]=1830000000"),
        ("archive", "tool_muprog_archive_program_allocation", "programid=1&userid=31"),
        ("archive-second", "tool_muprog_archive_program_allocation", "programid=1&userid=32"),
        ("restore", "tool_muprog_restore_program_allocation", "programid=1&userid=32"),
        ("add-cohort", "tool_muprog_source_cohort_add_cohort", "programid=1&cohortid=3"),
        ("delete-cohort", "tool_muprog_source_cohort_delete_cohort", "programid=1&cohortid=3"),
        ("delete-allocations", "tool_muprog_delete_program_allocations", "programid=1&userids[0]=31"),
        ("create-groups", "core_group_create_groups",
         "groups[0][courseid]=2&groups[0][name]=WS%20group&groups[0][description]=made%20by%20WS"
         "&groups[0][visibility]=0"),
        ("add-members", "core_group_add_group_members", "members[0][groupid]=1&members[0][userid]=14"),
        ("delete-members", "core_group_delete_group_members", "members[0][groupid]=1&members[0][userid]=11"),
        ("delete-groups", "core_group_delete_groups", "groupids[0]=4"),
    ]
    cases: list[Case] = []
    for name, function, params in raw:
        tail = f"&{params}" if params else ""
        head = f"wsfunction={function}"
        cases += [
            _ws(f"ws-{name}-no-token", f"{head}&moodlewsrestformat=json{tail}".encode()),
            _ws(f"ws-{name}-wrong-token", f"wstoken=nope&{head}&moodlewsrestformat=json{tail}".encode()),
            _ws(f"ws-{name}-reader", f"wstoken={WS_READER}&{head}&moodlewsrestformat=json{tail}".encode()),
            _ws(f"ws-{name}-unknown-param",
                f"wstoken={WS_ADMIN}&{head}&moodlewsrestformat=json{tail}&bogus=1".encode()),
            _ws(f"ws-{name}-xml", f"wstoken={WS_ADMIN}&{head}{tail}".encode()),
            _ws(f"ws-{name}-json", f"wstoken={WS_ADMIN}&{head}&moodlewsrestformat=json{tail}".encode()),
            Case(f"ws-{name}-get", "GET", f"{WS}?wstoken={WS_ADMIN}&{head}&moodlewsrestformat=json{tail}"),
            Case(f"ws-{name}-get-xml", "GET", f"{WS}?wstoken={WS_ADMIN}&{head}{tail}"),
            Case(f"ws-{name}-token-in-query", "POST", f"{WS}?wstoken={WS_ADMIN}", FORM,
                 f"{head}&moodlewsrestformat=json{tail}".encode()),
        ]
    admin = f"wstoken={WS_ADMIN}&moodlewsrestformat=json"
    cases += [
        _ws("ws-bad-int", f"{admin}&wsfunction=tool_muprog_get_program_allocations&programid=abc".encode()),
        _ws("ws-bad-int-xml", f"wstoken={WS_ADMIN}&wsfunction=tool_muprog_get_program_allocations"
                              f"&programid=1.5".encode()),
        _ws("ws-missing-param", f"{admin}&wsfunction=tool_muprog_get_program_allocations".encode()),
        _ws("ws-missing-nested", f"{admin}&wsfunction=core_group_add_group_members"
                                 f"&members[0][groupid]=1".encode()),
        _ws("ws-scalar-for-list", f"{admin}&wsfunction=core_group_delete_groups&groupids=5".encode()),
        _ws("ws-list-for-scalar", f"{admin}&wsfunction=tool_muprog_source_cohort_get_cohorts"
                                  f"&programid[0]=1".encode()),
        _ws("ws-unknown-function", f"{admin}&wsfunction=core_nothing_here".encode()),
        _ws("ws-real-function-outside-service", f"{admin}&wsfunction=core_user_get_users".encode()),
        _ws("ws-empty-function", f"{admin}&wsfunction=".encode()),
        _ws("ws-no-function", admin.encode()),
        _ws("ws-format-yaml", f"wstoken={WS_ADMIN}&wsfunction=core_webservice_get_site_info"
                              "&moodlewsrestformat=yaml".encode()),
        _ws("ws-bad-encoding", f"{admin}&wsfunction=core_webservice_get_site_info&x=%ZZ".encode()),
        _ws("ws-json-content-type", f"{admin}&wsfunction=core_webservice_get_site_info".encode(), JSON),
        Case("ws-put", "PUT", WS, FORM, f"{admin}&wsfunction=core_webservice_get_site_info".encode()),
        Case("ws-head", "HEAD", f"{WS}?{admin}&wsfunction=core_webservice_get_site_info"),
        Case("ws-get-no-query", "GET", WS),
        Case("ws-site-info-bearer-only", "POST", WS, {**FORM, **_bearer(WS_ADMIN)},
             b"wsfunction=core_webservice_get_site_info&moodlewsrestformat=json"),
        Case("ws-query-and-body-token", "POST", f"{WS}?wstoken=nope", FORM,
             f"{admin}&wsfunction=core_webservice_get_site_info".encode()),
        Case("ws-fragment-path", "POST", WS + "%23core_webservice_get_site_info", FORM,
             f"{admin}&wsfunction=core_webservice_get_site_info".encode()),
        Case("ws-trailing-slash", "POST", WS + "/", FORM,
             f"{admin}&wsfunction=core_webservice_get_site_info".encode()),
    ]
    return cases


CORPUS: list[Case] = [*_nexsis_cases(), *_odd_nexsis_cases(), *FLOAT_REFUSED, *_ws_cases()]


def raw_exchange(port: int, case: Case) -> tuple[int, list[tuple[str, str]], bytes]:
    """A raw case sent as its bytes stand (no client normalises its URL): the status, the header
    lines as (lowercased name, value) in the order sent, and the body up to the closed connection."""
    head = f"{case.method} {case.url} HTTP/1.1\r\nHost: 127.0.0.1\r\n{case.headers.get('raw', '')}" \
           "Connection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head.encode("latin-1"))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head_bytes, _, body = data.partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip().lower(), value.strip()))
    return int(lines[0].split(" ")[1]), headers, body


def _raw_send(port: int, case: Case) -> Answer:
    status, lines, body = raw_exchange(port, case)
    return Answer(status, {name: value for name, value in lines if name in COMPARED_HEADERS}, body)


def _send(client: httpx.Client, port: int, case: Case) -> Answer:
    if case.raw:
        answer = _raw_send(port, case)
    else:
        response = client.request(case.method, case.url, headers=case.headers, content=case.body)
        headers = {k: response.headers[k] for k in COMPARED_HEADERS if k in response.headers}
        answer = Answer(response.status_code, headers, response.content)
    if "location" in answer.headers:  # a redirect names its own server; the ports differ
        answer.headers["location"] = answer.headers["location"].removeprefix(f"http://127.0.0.1:{port}")
    return answer



def _method_cases() -> list[Case]:
    """Every method a NexSIS path does not have (405 with Allow), and 404s for every method."""
    from nexsis_openapi import load_spec

    cases: list[Case] = []
    auth = _bearer()
    for template, item in load_spec("nexsis")["paths"].items():
        path = NX + template.replace("{grade}", "1.5").replace("{timecompleted}", "1767193200")
        for name in ("courseid", "userid", "groupid", "catid", "parentid", "childid", "programid",
                     "certificationid", "departmentid", "positionid", "managerid"):
            path = path.replace("{" + name + "}", "ZZ-none")
        for method in ("GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"):
            if method.lower() in item:
                continue
            cases.append(Case(f"405-{method}-{template}", method, path, auth))
        cases.append(Case(f"405-no-token-{template}", "PATCH", path, {}))
    for method in ("GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"):
        cases.append(Case(f"404-{method}", method, NX + "/nothing/here", auth))
        cases.append(Case(f"404-{method}-no-token", method, NX + "/nothing/here", {}))
    return cases


def _extra_ws_cases() -> list[Case]:
    admin = f"wstoken={WS_ADMIN}"
    site = "wsfunction=core_webservice_get_site_info"
    cases = [
        # unknown and missing functions, in both formats and both methods
        _ws("ws-unknown-function-xml", f"{admin}&wsfunction=core_nothing_here".encode()),
        _ws("ws-unknown-function-no-token", b"wsfunction=core_nothing_here&moodlewsrestformat=json"),
        _ws("ws-unknown-function-wrong-token-xml", b"wstoken=nope&wsfunction=core_nothing_here"),
        Case("ws-unknown-function-get", "GET", f"{WS}?{admin}&wsfunction=core_nothing_here"
                                               "&moodlewsrestformat=json"),
        _ws("ws-outside-service-xml", f"{admin}&wsfunction=core_user_get_users".encode()),
        _ws("ws-outside-service-reader", f"wstoken={WS_READER}&wsfunction=core_user_get_users"
                                         "&moodlewsrestformat=json".encode()),
        _ws("ws-no-function-xml", admin.encode()),
        Case("ws-empty-function-get", "GET", f"{WS}?{admin}&wsfunction=&moodlewsrestformat=json"),
        _ws("ws-function-array", f"{admin}&wsfunction[0]=x&moodlewsrestformat=json".encode()),
        _ws("ws-token-array", f"wstoken[0]={WS_ADMIN}&{site}&moodlewsrestformat=json".encode()),
        # tokens and formats
        _ws("ws-invalid-token-xml", f"wstoken=nope&{site}".encode()),
        _ws("ws-no-token-xml", site.encode()),
        _ws("ws-format-xml-explicit", f"{admin}&{site}&moodlewsrestformat=xml".encode()),
        Case("ws-format-in-query-only", "POST", f"{WS}?moodlewsrestformat=json", FORM,
             f"{admin}&{site}".encode()),
        Case("ws-body-overrides-query-format", "POST", f"{WS}?moodlewsrestformat=json", FORM,
             f"{admin}&{site}&moodlewsrestformat=xml".encode()),
        Case("ws-json-body-query-call", "POST", f"{WS}?{admin}&{site}&moodlewsrestformat=json", JSON,
             b'{"wsfunction": "core_webservice_get_site_info"}'),
        Case("ws-json-body-only", "POST", WS, JSON,
             b'{"wstoken": "ws-admin-token-0001", "wsfunction": "core_webservice_get_site_info"}'),
        # Moodle's settings parameters (tests/data/moodle-ws-facts.md "Settings parameters")
        _ws("ws-setting-filter", f"{admin}&{site}&moodlewsrestformat=json&moodlewssettingfilter=1".encode()),
        _ws("ws-setting-fileurl",
            f"{admin}&{site}&moodlewsrestformat=json&moodlewssettingfileurl=1".encode()),
        _ws("ws-setting-lang", f"{admin}&{site}&moodlewsrestformat=json&moodlewssettinglang=en".encode()),
        _ws("ws-setting-raw", f"{admin}&{site}&moodlewsrestformat=json&moodlewssettingraw=0".encode()),
        _ws("ws-setting-all-xml", f"{admin}&{site}&moodlewssettingfilter=1&moodlewssettingfileurl=0"
                                  "&moodlewssettinglang=en&moodlewssettingraw=1".encode()),
        Case("ws-setting-in-query", "POST", f"{WS}?moodlewssettingfilter=1&moodlewssettinglang=en", FORM,
             f"{admin}&{site}&moodlewsrestformat=json".encode()),
        Case("ws-setting-get", "GET", f"{WS}?{admin}&{site}&moodlewsrestformat=json&moodlewssettingraw=1"),
        _ws("ws-setting-with-params", f"{admin}&wsfunction=tool_muprog_get_program_allocations"
                                      "&moodlewsrestformat=json&programid=1&moodlewssettingfilter=1".encode()),
        _ws("ws-setting-unknown", f"{admin}&{site}&moodlewsrestformat=json&moodlewssettingfoo=1".encode()),
        _ws("ws-setting-lang-plain", f"{admin}&{site}&moodlewsrestformat=json&lang=en".encode()),
        # methods, paths and limits
        Case("ws-delete", "DELETE", f"{WS}?{admin}&{site}&moodlewsrestformat=json"),
        Case("ws-patch", "PATCH", WS, FORM, f"{admin}&{site}".encode()),
        Case("ws-options", "OPTIONS", f"{WS}?{admin}&{site}"),
        Case("ws-other-script", "POST", "/webservice/rest/other.php", FORM, f"{admin}&{site}".encode()),
        Case("ws-rest-dir", "GET", "/webservice/rest/"),
        Case("ws-query-bad-encoding", "GET", f"{WS}?{admin}&{site}&x=%ZZ&moodlewsrestformat=json"),
        Case("ws-query-bad-utf8", "GET", f"{WS}?{admin}&{site}&x=%C3%28&moodlewsrestformat=json"),
        _ws("ws-body-bad-utf8", f"{admin}&{site}&moodlewsrestformat=json&x=%C3%28".encode()),
        _ws("ws-too-deep", f"{admin}&{site}&moodlewsrestformat=json&a{'[a]' * 70}=1".encode()),
        _ws("ws-too-many-vars", (f"{admin}&{site}&moodlewsrestformat=json&"
                                 + "&".join(f"v{i}=1" for i in range(1001))).encode()),
        _ws("ws-huge-index", f"{admin}&wsfunction=core_group_delete_groups&moodlewsrestformat=json"
                             "&groupids[999999999]=77".encode()),
        _ws("ws-bool-true-text", f"{admin}&wsfunction=tool_muprog_get_programs&moodlewsrestformat=json"
                                 "&fieldvalues[0][field]=archived&fieldvalues[0][value]=true".encode()),
    ]
    return cases


def _extra_nexsis_cases() -> list[Case]:
    auth = _bearer()
    return [
        Case("nx-outside-prefix", "GET", "/enrol/nexsis/api/index.phpX/ping", auth),
        Case("nx-root", "GET", "/", {}),
        Case("nx-favicon", "GET", "/favicon.ico", {}),
        Case("nx-json-too-deep", "PUT", NX + "/user/S1001", {**auth, **JSON}, b"[" * 2000),
        Case("nx-json-huge-int", "PUT", NX + "/user/S1001", {**auth, **JSON},
             b'{"firstname": 123456789012345678901234567890}'),
        Case("nx-token-in-body", "PUT", NX + "/user/S1001", {**JSON},
             b'{"token": "nexsis-demo-api-key-0001", "firstname": "X"}'),
        Case("nx-form-too-many-vars", "PUT", NX + "/user/S1001", {**auth, **FORM},
             "&".join(f"v{i}=1" for i in range(1001)).encode()),
        Case("nx-form-bad-utf8", "PUT", NX + "/user/S1001", {**auth, **FORM}, b"firstname=%C3%28"),
        Case("nx-query-bad-utf8", "GET", NX + "/user/S1001?x=%C3%28", auth),
        Case("nx-content-length-nan", "PUT", NX + "/user/S1001",
             {"raw": f"Authorization: Bearer {NX_TOKEN}\r\nContent-Length: abc\r\n"}, raw=True),
        Case("nx-limit-huge", "GET", NX + "/logs?limit=99999999999999999999999", auth),
        Case("nx-head-logs", "HEAD", NX + "/logs?limit=1", auth),
        Case("nx-get-user-after", "GET", NX + "/user/S1001", auth),
        Case("nx-logs-after", "GET", NX + "/logs?limit=50", auth),
    ]


#: The golden corpus (test_golden): the router corpus plus the cases it lacked.
GOLDEN_CORPUS: list[Case] = [*CORPUS, *_method_cases(), *_extra_ws_cases(), *_extra_nexsis_cases()]
assert len({c.name for c in GOLDEN_CORPUS}) == len(GOLDEN_CORPUS), "case names must be unique"
