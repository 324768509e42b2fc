"""A deliberately small, deliberately breakable server for testing the suite (NOT the mock).

With no faults it answers a subset of both specs conformantly (the tests select that subset with
--operation). Each fault breaks the contract in one distinct way, so a test can switch it on and
assert that `nexsis check` exits 1 and names the rule that caught it. Every request is journaled so
tests can check what the suite sent (safe mode, cleanup).
"""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any

import jsonschema
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from nexsis_openapi import codec, load_spec
from tests.faulty_server import faults_accept as accept
from tests.faulty_server import faults_effects as effects
from tests.faulty_server import faults_enrolments as enrolments
from tests.faulty_server import faults_groups as groups
from tests.faulty_server import faults_org as org
from tests.faulty_server import faults_programs as programs
from tests.faulty_server import faults_rules as rules
from tests.faulty_server import links, request_log

NEXSIS_TOKEN = "faulty-nexsis-token-4d2c"
WS_TOKEN = "faulty-ws-token-91ab"
WS_NOCAP_TOKEN = "faulty-ws-nocap-token-5e5e"

FAULTS = {
    "missing_field",  # getUser omits the documented `email`
    "wrong_type",  # getUser answers `firstname` as a number
    "nonascii_500",  # putUser crashes (HTTP 500) on non-ASCII input
    "auth_ignored",  # NexSIS answers without checking the token
    "put_not_persisted",  # putUser answers the new values but does not store them
    "ws_error_500",  # Moodle errors sent with HTTP 500
    "ws_no_errorcode",  # Moodle errors without `errorcode`
    "duplicate_allocation",  # allocating an allocated user allocates again
    "ws_capability_ignored",  # the no-capability token may write
    *accept.FAULTS_ACCEPT,  # classes 1 and 5 (faults_accept.py)
    *effects.FAULTS_EFFECTS,  # classes 2, 3, 4 and 6 (faults_effects.py)
    *enrolments.FAULTS_ENROLMENTS,  # enrolment writes read back (faults_enrolments.py)
    *groups.FAULTS_GROUPS,  # NexSIS course groups read back (faults_groups.py)
    *org.FAULTS_ORG,  # metalinks and managers read back (faults_org.py)
    *programs.FAULTS_PROGRAMS,  # NexSIS program allocations seen by the web services (faults_programs.py)
    *rules.FAULTS_RULES,  # reads of the other filter and cross-API rules (faults_rules.py)
}
PREFIX = "/enrol/nexsis/api/index.php"
_SEGMENT = "[^/]+"


class State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.faults: set[str] = set()
        self.journal: list[dict[str, Any]] = []
        self.users: dict[str, dict[str, Any]] = {
            "SEED-U1": {
                "userid": "SEED-U1",
                "username": "seed1",
                "firstname": "Seed",
                "lastname": "One",
                "email": "seed1@example.invalid",
            }
        }
        self.courses: dict[str, dict[str, Any]] = {
            "SEED-C1": {
                "courseid": "SEED-C1",
                "fullname": "Seed course",
                "shortname": "SEED",
                "startdate": 0,
                "categorypath": "/Seed",
            }
        }
        self.allocations: list[dict[str, Any]] = [self._alloc(1, 1, 4, when=1700000000)]
        self.groups: dict[int, dict[str, Any]] = {}
        self.next_id = 100
        # links.py: internal ids of NexSIS records, enrolments (user, course) -> time, completions
        self.internal: dict[tuple[str, str], int] = {}
        self.enrolments: dict[tuple[str, str], int] = {}
        self.completions: dict[tuple[str, str], dict[str, Any]] = {}
        # request_log.py: the entries of answered NexSIS requests, newest first
        self.request_log: list[dict[str, Any]] = []
        self.log_next = 2200

    def new_group(self, g: dict[str, Any]) -> dict[str, Any]:
        """Create the group `core_group_create_groups` asks for (`g`, one item), with Moodle's
        defaults, and return its record: the one place a group is made, faulty or not."""
        self.next_id += 1
        group = {
            "id": self.next_id,
            "courseid": g["courseid"],
            "name": g["name"],
            "description": g.get("description", ""),
            "descriptionformat": g.get("descriptionformat", 1),
            "enrolmentkey": g.get("enrolmentkey", ""),
            "idnumber": g.get("idnumber", ""),
            "visibility": g.get("visibility", 0),
            "participation": bool(g.get("participation", True)),
        }
        self.groups[self.next_id] = group
        return group

    @staticmethod
    def _alloc(aid: int, program: int, user: int, when: int | None = None) -> dict[str, Any]:
        """An allocation row; a new one is made now (Moodle stamps the time of the allocation)."""
        when = int(time.time()) if when is None else when
        return {
            "id": aid,
            "programid": program,
            "userid": user,
            "sourceid": 1,
            "sourcetype": "manual",
            "archived": False,
            "timeallocated": when,
            "timestart": when,
            "timedue": None,
            "timeend": None,
            "timecompleted": None,
            "timecreated": when,
            "deletepossible": True,
            "archivepossible": True,
            "restorepossible": False,
            "editpossible": True,
        }


def _time_value(value: Any) -> bool:
    """The spec's TimeValue: an integer, a numeric string, or an ISO 8601 date-time text."""
    from nexsis_contracts.wire import _openapi_to_jsonschema

    spec = load_spec("nexsis")

    def resolve(ref: str) -> Any:
        return _resolve({"$ref": ref}, spec)

    schema = _openapi_to_jsonschema(spec["components"]["schemas"]["TimeValue"], resolve)
    return jsonschema.Draft4Validator(schema).is_valid(value)


def _err(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


async def _body(request: Request) -> tuple[bool, Any]:
    raw = await request.body()
    ctype = request.headers.get("content-type", "").split(";")[0].strip()
    if not raw:
        return True, {}
    if ctype == "application/json":
        try:
            return True, json.loads(raw)
        except ValueError:
            return False, None
    if ctype == "application/x-www-form-urlencoded":
        try:
            return True, codec.decode(raw)
        except codec.CodecError:
            return False, None
    return False, "media"


def create_app(state: State | None = None) -> Starlette:
    st = state or State()

    def nexsis_auth(request: Request) -> bool:
        if "auth_ignored" in st.faults:
            return True
        header = request.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else request.query_params.get("token")
        return token == NEXSIS_TOKEN

    async def journal(request: Request) -> None:
        st.journal.append(
            {
                "method": request.method,
                "path": request.url.path,
                "query": dict(request.query_params),
                "body": (await request.body()).decode("utf-8", "replace"),
                "t": time.monotonic(),  # arrival time, for rate-limit tests
            }
        )

    async def nexsis(request: Request) -> Response:
        await journal(request)
        if not nexsis_auth(request):
            return _err(401, "unauthorized", "A valid token is required.")
        response = await nexsis_answer(request)
        ctype = request.headers.get("content-type", "").split(";")[0].strip()
        query = dict(request.query_params)
        raw = await request.body()
        status, answer = response.status_code, bytes(response.body)
        request_log.record(st, request.method, request.url.path, query, raw, ctype, status, answer)
        return response

    async def nexsis_answer(request: Request) -> Response:
        path = request.url.path[len(PREFIX) :]
        method = request.method
        refusal = accept.nexsis_request(st.faults, request)
        if refusal is not None:
            return refusal
        if path == "/ping" and method == "GET":
            return JSONResponse({"message": "pong"})
        if path == "/logs" and method == "GET":
            return accept.logs(st.faults, request, [*st.request_log, *accept.LOGS])
        linked = (
            await enrolments.nexsis(st, request, path)
            or links.nexsis(st, method, path)
            or rules.nexsis(st, request, path)
            or await programs.nexsis(st, request, path)
            or await groups.nexsis(st, request, path)
            or await org.nexsis(st, request, path)
        )
        if linked is not None:
            return linked
        m = re.fullmatch(f"/(user|course)/({_SEGMENT})", path)
        if not m:
            return _err(404, "not_found", "No such endpoint.")
        kind, ident = m.group(1), m.group(2)
        from urllib.parse import unquote

        ident = unquote(ident)
        store = st.users if kind == "user" else st.courses
        fields = (
            ("username", "firstname", "lastname", "email")
            if kind == "user"
            else ("fullname", "shortname", "startdate", "categorypath")
        )
        if method == "GET":
            record = store.get(ident)
            if record is None:
                return _err(404, "not_found", f"No {kind} {ident}.")
            out = dict(record)
            if kind == "user" and "missing_field" in st.faults:
                out.pop("email", None)
            if kind == "user" and "wrong_type" in st.faults:
                out["firstname"] = 12345
            return JSONResponse(effects.answer(st.faults, kind, method, out))
        if method == "DELETE":
            if ident not in store or (effects.deletes(st.faults, kind) and store.pop(ident, None) is None):
                return _err(404, "not_found", f"No {kind} {ident}.")
            if ident not in store:
                links.forget(st, kind, ident)
            return Response(b"", media_type="application/json")  # the document shows no body
        if method == "PUT":
            ok, data = await _body(request)
            if data == "media":
                return _err(415, "unsupported_media_type", "Send JSON or form data.")
            if not ok or not isinstance(data, dict):
                return _err(400, "invalid_body", "The body must be an object.")
            for key in fields:
                if key in data and key != "startdate" and not isinstance(data[key], str):
                    return _err(400, "invalid_field", f"{key} must be a string.")
            if kind == "course" and "startdate" in data and not _time_value(data["startdate"]):
                return _err(400, "invalid_field", "startdate must be a date or timestamp.")
            refusal = accept.nexsis_body(st.faults, kind, data)
            if refusal is not None:
                return refusal
            if "nonascii_500" in st.faults and any(not str(v).isascii() for v in data.values()):
                return Response("Internal Server Error", status_code=500)
            current = dict(store.get(ident) or {f: "" for f in fields})
            if kind == "course" and current.get("startdate") == "":
                current["startdate"] = 0
            current.update({k: v for k, v in data.items() if k in fields})
            current[f"{kind}id"] = ident
            if not ("put_not_persisted" in st.faults and ident in store) and effects.stores(
                st.faults, kind, ident in store
            ):
                store[ident] = current
            return JSONResponse(effects.answer(st.faults, kind, method, current))
        return _err(404, "not_found", "No such endpoint.")

    ws_spec = load_spec("moodle-ws")

    def ws_error(exception: str, errorcode: str, message: str) -> Response:
        body: dict[str, Any] = {"exception": exception, "errorcode": errorcode, "message": message}
        if "ws_no_errorcode" in st.faults:
            del body["errorcode"]
        return JSONResponse(body, status_code=500 if "ws_error_500" in st.faults else 200)

    def invalid() -> Response:
        return ws_error(
            "core\\exception\\invalid_parameter_exception",
            "invalidparameter",
            "Invalid parameter value detected",
        )

    async def ws(request: Request) -> Response:
        await journal(request)
        try:
            query = codec.decode(str(request.url.query))
            form = {**query, **codec.decode(await request.body())}
        except codec.CodecError:
            return invalid()
        if accept.ws_form(st.faults, query, form):
            return invalid()
        token = form.pop("wstoken", None)
        if token not in (WS_TOKEN, WS_NOCAP_TOKEN):
            return ws_error(
                "core\\exception\\moodle_exception", "invalidtoken", "Invalid token - token not found"
            )
        function = form.get("wsfunction")
        op = ws_spec["paths"].get(f"/webservice/rest/server.php#{function}", {}).get("post")
        if op is None:
            return ws_error("dml_missing_record_exception", "invalidrecordunknown", "Can't find data record")
        schema = op["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
        params = _coerce(form, schema, ws_spec)
        if params is None or not _valid(params, schema, ws_spec):
            return invalid()
        # The no-capability user lacks tool/muprog capabilities: get_programs filters, the rest refuse.
        if (
            token == WS_NOCAP_TOKEN
            and function.startswith("tool_muprog_")
            and function != "tool_muprog_get_programs"
            and "ws_capability_ignored" not in st.faults
        ):
            return ws_error(
                "core\\exception\\required_capability_exception",
                "nopermissions",
                # Moodle names the capability (its language string) in the message.
                f"Sorry, but you do not currently have permissions to do that ({_capability(function)}).",
            )
        with st.lock:
            return (
                effects.ws_call(st, function, params)
                or rules.ws_call(st, function, params, _invalid(st), can_view=token == WS_TOKEN)
                or _ws_call(st, function, params)
            )

    async def admin(request: Request) -> Response:
        if request.method == "POST":
            data = await request.json()
            st.faults = set(data.get("faults", []))
            return JSONResponse({"faults": sorted(st.faults)})
        return JSONResponse(
            {
                "journal": st.journal,
                "users": sorted(st.users),
                "courses": sorted(st.courses),
                "groups": sorted(st.groups),
                "allocations": st.allocations,
            }
        )

    async def not_found(request: Request, exc: Exception) -> Response:
        return _err(404, "not_found", "No such endpoint.")

    app = Starlette(
        exception_handlers={404: not_found, 405: not_found},
        routes=[
            Route("/__faulty", admin, methods=["GET", "POST"]),
            Route("/webservice/rest/server.php", ws, methods=["GET", "POST"]),
            Route(PREFIX + "/{rest:path}", nexsis, methods=["GET", "PUT", "POST", "DELETE"]),
        ],
    )
    app.state.faulty = st
    return app


def _ws_call(st: State, function: str, p: dict[str, Any]) -> Response:
    if function == "core_webservice_get_site_info":
        return JSONResponse(_site_info())
    programs = {1, 2}
    if function == "tool_muprog_get_program_allocations":
        if p["programid"] not in programs:
            return _missing(st)
        users = accept.allocation_users(st.faults, p.get("userids"))
        return JSONResponse(
            [
                a
                for a in st.allocations
                if a["programid"] == p["programid"] and (not users or a["userid"] in users)
            ]
        )
    if function == "tool_muprog_source_manual_allocate_users":
        if p["programid"] not in programs:
            return _missing(st)
        done = []
        for user in p.get("userids") or []:
            if user not in links.ws_users(st):
                return _missing(st)
            exists = any(a["programid"] == p["programid"] and a["userid"] == user for a in st.allocations)
            if exists and "duplicate_allocation" not in st.faults:
                continue
            st.next_id += 1
            st.allocations.append(State._alloc(st.next_id, p["programid"], user))
            done.append(user)
        return JSONResponse(done)
    if function == "tool_muprog_delete_program_allocations":
        if p["programid"] not in programs:
            return _missing(st)
        gone = [
            u
            for u in p.get("userids") or []
            if any(a["programid"] == p["programid"] and a["userid"] == u for a in st.allocations)
        ]
        st.allocations = [
            a for a in st.allocations if not (a["programid"] == p["programid"] and a["userid"] in gone)
        ]
        return JSONResponse(gone)
    if function == "core_group_create_groups":
        out: list[dict[str, Any]] = []
        for g in p["groups"]:
            refusal = None
            if g["courseid"] not in links.ws_courses(st):
                refusal = JSONResponse(
                    {
                        "exception": "core\\exception\\moodle_exception",
                        "errorcode": "errorcoursecontextnotvalid",
                        "message": "Course not accessible",
                    },
                    status_code=500 if "ws_error_500" in st.faults else 200,
                )
            elif any(o["courseid"] == g["courseid"] and o["name"] == g["name"] for o in st.groups.values()):
                # core_group_create_groups: "Group with the same name already exists in the course"
                refusal = _invalid(st)
            if refusal is not None:
                # One transaction, as Moodle's: a refused group leaves none of the batch behind.
                for group in out:
                    st.groups.pop(group["id"], None)
                return refusal
            out.append(st.new_group(g))
        return JSONResponse(out)
    if function == "core_group_delete_groups":
        for gid in p["groupids"]:
            st.groups.pop(gid, None)
        return Response("null", media_type="application/json")
    return _missing(st)


#: The functions this server answers (its external service), as site info lists them.
SERVED = (
    "tool_muprog_get_program_allocations",
    "tool_muprog_source_manual_allocate_users",
    "tool_muprog_delete_program_allocations",
    "core_group_create_groups",
    "core_group_delete_groups",
    "core_webservice_get_site_info",
    "tool_muprog_get_programs",
)
_ADVANCED = (
    "usecomments",
    "usetags",
    "enablenotes",
    "messaging",
    "enableblogs",
    "enablecompletion",
    "enablebadges",
    "messagingallusers",
    "enablecustomreports",
    "enableglobalsearch",
    "mnet_dispatcher_mode",
    "enablecompetencies",
)
_ADVANCED_OFF = {"messagingallusers", "enableglobalsearch", "mnet_dispatcher_mode"}


def _site_info() -> dict[str, Any]:
    """Moodle 5.0's answer for the site administrator's token (the fields Moodle sends, in order)."""
    from nexsis_openapi.moodle import function_info, site_versions

    release, version = site_versions()
    return {
        "sitename": "Faulty",
        "username": "admin",
        "firstname": "A",
        "lastname": "U",
        "fullname": "A U",
        "lang": "en",
        "userid": 2,
        "siteurl": "http://127.0.0.1",
        "userpictureurl": "http://127.0.0.1/u.png",
        "functions": [{"name": f, "version": function_info(f).version or version} for f in SERVED],
        "downloadfiles": 0,
        "uploadfiles": 0,
        "release": release,
        "version": version,
        "mobilecssurl": "",
        "advancedfeatures": [{"name": n, "value": 0 if n in _ADVANCED_OFF else 1} for n in _ADVANCED],
        "usercanmanageownfiles": True,
        "userquota": 0,
        "usermaxuploadfilesize": -1,
        "userhomepage": 1,
        "userprivateaccesskey": "k",
        "siteid": 1,
        "sitecalendartype": "gregorian",
        "usercalendartype": "gregorian",
        "userissiteadmin": True,
        "theme": "boost",
        "limitconcurrentlogins": 0,
        "policyagreed": 0,
    }


#: The name Moodle prints for the capability a tool_muprog function checks first.
_CAPABILITIES = {
    "tool_muprog_get_program_allocations": "View programs management",
    "tool_muprog_source_manual_allocate_users": "Allocate users to programs",
    "tool_muprog_delete_program_allocations": "De-allocate users from programs",
}


def _capability(function: str) -> str:
    return _CAPABILITIES.get(function, "Advanced programs administration")


def _invalid(st: State) -> Response:
    body = {
        "exception": "core\\exception\\invalid_parameter_exception",
        "errorcode": "invalidparameter",
        "message": "Invalid parameter value detected",
    }
    if "ws_no_errorcode" in st.faults:
        del body["errorcode"]
    return JSONResponse(body, status_code=500 if "ws_error_500" in st.faults else 200)


def _missing(st: State) -> Response:
    body: dict[str, Any] = {
        "exception": "dml_missing_record_exception",
        "errorcode": "invalidrecordunknown",
        "message": "Can't find data record in database.",
    }
    if "ws_no_errorcode" in st.faults:
        del body["errorcode"]
    return JSONResponse(body, status_code=500 if "ws_error_500" in st.faults else 200)


def _resolve(schema: Any, spec: dict[str, Any]) -> Any:
    while isinstance(schema, dict) and "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


_INT = re.compile(r"^-?[0-9]+$")


def _coerce(value: Any, schema: Any, spec: dict[str, Any]) -> Any:
    """Moodle's strict PARAM cleaning: canonical integers, booleans 0/1, no empty arrays."""
    schema = _resolve(schema, spec)
    t = schema.get("type")
    if t == "object":
        if not isinstance(value, dict):
            return None
        props = schema.get("properties", {})
        out = {}
        for k, v in value.items():
            if k not in props:
                return None
            c = _coerce(v, props[k], spec)
            if c is None:
                return None
            out[k] = c
        return out
    if t == "array":
        if not isinstance(value, list) or not value:
            return None
        items = [_coerce(v, schema.get("items", {}), spec) for v in value]
        return None if any(i is None for i in items) else items
    if not isinstance(value, str):
        return None
    if t == "integer":
        return int(value) if _INT.match(value) and str(int(value)) == value else None
    if t == "boolean":
        return {"0": False, "1": True}.get(value)
    if t == "number":
        try:
            return float(value)
        except ValueError:
            return None
    return value


def _valid(params: dict[str, Any], schema: dict[str, Any], spec: dict[str, Any]) -> bool:
    def strip(node: Any) -> Any:
        node = _resolve(node, spec)
        if isinstance(node, dict):
            out = {
                k: strip(v)
                for k, v in node.items()
                if k not in ("nullable", "example", "format") and not k.startswith("x-")
            }
            if node.get("type") == "boolean":
                out.pop("enum", None)
            return out
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return jsonschema.Draft4Validator(strip(schema)).is_valid(params)
