"""The NexSIS spec against the vendor document it was written from.

The document (tests/data/nexsis-api-doc.txt) is the only reference for this API, so the spec is
checked against every example it holds: each example request line must route to exactly one
operation, and each example body must validate against that operation's schema. The document has
typos (invalid JSON, a wrong method, a wrong path); they are repaired by the small explicit table
`REPAIRS` below, and every repair names the entry of openapi/ERRATA.md that records it, so a repair
cannot be added silently. A repair whose text no longer occurs fails, so a corrected document is
noticed too.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator
from openapi_spec_validator import validate as validate_spec

from nexsis_openapi import NEXSIS_BASE_PATH, load_spec, spec_path
from nexsis_openapi.codec import decode as decode_form

DOC = Path(__file__).parent / "data" / "nexsis-api-doc.txt"
ERRATA = spec_path("nexsis").with_name("ERRATA.md")
BASE = "/enrol/nexsis/api/index.php"
METHODS = ("get", "put", "post", "delete")

#: The operationIds fixed in docs/CONVENTIONS.md (the mock and the suite resolve them by name).
OPERATION_IDS = {
    "ping", "getCourse", "putCourse", "deleteCourse", "listCourseEnrolments", "getCategoryGrades",
    "overrideCategoryGrade", "getUser", "putUser", "deleteUser", "listUserEnrolments", "enrolUser",
    "unenrolUser", "listCourseGroups", "getCourseGroup", "putCourseGroup", "deleteCourseGroup",
    "addGroupMember", "removeGroupMember", "getCourseCompletion", "addCourseCompletion",
    "getUserGrades", "getCourseGrades", "getMetalink", "putMetalink", "deleteMetalink",
    "getProgramAllocation", "putProgramAllocation", "deleteProgramAllocation",
    "getCertificationAllocation", "putCertificationAllocation", "deleteCertificationAllocation",
    "listJobAssignments", "putJobAssignment", "deleteJobAssignment", "listManagers", "putManager",
    "deleteManager", "getLogs",
}  # fmt: skip


# --------------------------------------------------------------------------------------------
# Repairs: every textual fix applied to the document, keyed by operation, each naming its erratum.
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Repair:
    """Replace `old` by `new` in one part of an operation's examples (`old` must occur)."""

    erratum: str  # heading id in openapi/ERRATA.md, e.g. "E03"
    part: str  # "endpoint", "request-line", "request-headers", "request-body", "response-body", "usage"
    old: str
    new: str


_MISSING_COMMA = "missing comma after {!r}"

#: Keyed by the document's operation title (the heading above "Endpoint:"), because one repair
#: (the metalink PUT path) is needed before the operation can be found in the spec at all.
REPAIRS: dict[str, list[Repair]] = {
    "Get a Course": [Repair("E10", "response-body", '"TECH-231"\n', '"TECH-231",\n')],
    "Create/Update a Course": [
        Repair("E10", "request-body", '"TECH-231"\n', '"TECH-231",\n'),
        Repair("E10", "response-body", '"TECH-231"\n', '"TECH-231",\n'),
    ],
    "Get Category Grades": [Repair("E02", "usage", "/categorygrades/", "/categorygrade/")],
    "Override Category Grades": [
        Repair("E03", "request-line", "GET ", "PUT "),
        Repair("E02", "usage", "/categorygrades/", "/categorygrade/"),
    ],
    "List User Enrolments": [
        Repair("E10", "response-body", '"TECH-231"\n', '"TECH-231",\n'),
        Repair("E10", "response-body", '"TECH-331"\n', '"TECH-331",\n'),
    ],
    "Enrol a User in a Course": [
        Repair("E13", "request-headers", "application/x-www-form-urlencoded", "application/json"),
    ],
    "Get User Course Completion": [
        Repair("E11", "response-body", '"reaggregate": "0\n', '"reaggregate": "0"\n')
    ],
    "Get a Metalink": [Repair("E10", "response-body", '"status": "0"\n', '"status": "0",\n')],
    "Create a Metalink": [
        Repair(
            "E01", "endpoint", "/metalink/{parent_courseid}/metalink/", "/course/{parent_courseid}/metalink/"
        ),
        Repair("E10", "request-body", '"Math Students"\n', '"Math Students",\n'),
        Repair("E10", "response-body", '"status": "0"\n', '"status": "0",\n'),
    ],
    "Get User Job Assignments": [
        Repair("E05", "request-line", "GET //enrol/", "GET /enrol/"),
        Repair("E10", "response-body", '"usermodified": 0,\n}', '"usermodified": 0\n}'),
    ],
    "Assign Manager to Organisation User": [
        Repair("E12", "response-body", "“U123”", '"U123"'),
        Repair("E12", "response-body", "“M456”", '"M456"'),
    ],
}

#: Example request lines of the introduction that are placeholders, not operations (erratum E15).
PLACEHOLDER_PATHS = {f"{BASE}/enpoint"}


# --------------------------------------------------------------------------------------------
# Extraction of the examples from the document
# --------------------------------------------------------------------------------------------
@dataclass
class HttpExample:
    """One example message: its first line, headers and body text (None when it shows none)."""

    first_line: str
    headers: dict[str, str]
    body: str | None
    lineno: int

    @property
    def media_type(self) -> str | None:
        value = self.headers.get("content-type")
        return value.split(";")[0].strip().lower() if value else None


@dataclass
class DocOperation:
    """What the document says about one operation, between its "Endpoint:" line and the next."""

    title: str
    endpoint: str  # e.g. "GET /enrol/nexsis/api/index.php/course/{courseid}"
    lineno: int
    requests: list[HttpExample] = field(default_factory=list)
    responses: list[HttpExample] = field(default_factory=list)
    usage: list[str] = field(default_factory=list)  # "Example using ... parameter:" request lines


_HEADER_RE = re.compile(r"^([A-Za-z][A-Za-z-]*): (.*)$")
_JSON_LINE_RE = re.compile(r"^[\[\]{}\"“]")
_FORM_LINE_RE = re.compile(r"^[^\s=:]+=\S*$")
_REQUEST_LINE_RE = re.compile(r"^(GET|PUT|POST|DELETE|PATCH) (\S+)")


def _read_message(lines: list[str], i: int) -> tuple[HttpExample, int]:
    """Read the message whose first line is lines[i]; return it and the index after it.

    Headers are `Name: value` lines; the body is the run of lines that look like JSON (the document
    does not indent, so brackets cannot be counted reliably across its broken examples) or one
    URL-encoded line. Whatever follows (prose, the next "Example ..." line) ends the message.
    """
    first, start = lines[i], i + 1
    i += 1
    headers: dict[str, str] = {}
    while i < len(lines) and (m := _HEADER_RE.match(lines[i])):
        headers[m.group(1).lower()] = m.group(2)
        i += 1
    body_lines: list[str] = []
    if i < len(lines) and _FORM_LINE_RE.match(lines[i]):
        body_lines.append(lines[i])
        i += 1
    else:
        while i < len(lines) and _JSON_LINE_RE.match(lines[i]):
            body_lines.append(lines[i])
            i += 1
    body = "\n".join(body_lines) + "\n" if body_lines else None
    return HttpExample(first, headers, body, start), i


def parse_document(text: str) -> tuple[list[HttpExample], list[DocOperation]]:
    """Split the document into the introduction's examples and one record per operation."""
    lines = text.splitlines()
    intro: list[HttpExample] = []
    ops: list[DocOperation] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line == "Endpoint:":
            ops.append(DocOperation(title=lines[i - 1], endpoint=lines[i + 1], lineno=i + 2))
            i += 2
        elif line.startswith(("Example request", "Header authentication example", "Query parameter example")):
            message, i = _read_message(lines, i + 1)
            (ops[-1].requests if ops else intro).append(message)
        elif line.startswith("Example response"):
            message, i = _read_message(lines, i + 1)
            ops[-1].responses.append(message)
        elif line.startswith("Example using") and ops:
            ops[-1].usage.append(lines[i + 1])
            i += 2
        else:
            i += 1
    return intro, ops


def _apply(op: DocOperation) -> DocOperation:
    """A repaired copy of `op`; raises if a repair's text is not found (stale table)."""
    fixed = copy.deepcopy(op)
    for repair in REPAIRS.get(op.title, []):

        def sub(text: str, repair: Repair = repair) -> str:
            assert repair.old in text, f"{op.title}: repair {repair} no longer matches the document"
            return text.replace(repair.old, repair.new)

        if repair.part == "endpoint":
            fixed.endpoint = sub(fixed.endpoint)
        elif repair.part == "usage":
            fixed.usage = [sub(u) if repair.old in u else u for u in fixed.usage]
            assert any(repair.new in u for u in fixed.usage), f"{op.title}: {repair} matched no usage line"
        else:
            messages = fixed.requests if repair.part.startswith("request") else fixed.responses
            hits = 0
            for msg in messages:
                if repair.part.endswith("line") and repair.old in msg.first_line:
                    msg.first_line, hits = sub(msg.first_line), hits + 1
                elif repair.part.endswith("headers"):
                    for k, v in msg.headers.items():
                        if repair.old in v:
                            msg.headers[k], hits = sub(v), hits + 1
                elif repair.part.endswith("body") and msg.body and repair.old in msg.body:
                    msg.body, hits = sub(msg.body), hits + 1
            assert hits, f"{op.title}: repair {repair} no longer matches the document"
    return fixed


# --------------------------------------------------------------------------------------------
# The spec side: routing and validators
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Route:
    method: str
    template: str
    regex: re.Pattern[str]
    operation: dict[str, Any]

    @property
    def operation_id(self) -> str:
        return self.operation["operationId"]


def _routes(spec: dict[str, Any]) -> list[Route]:
    routes = []
    for template, item in spec["paths"].items():
        pattern = re.sub(r"\\\{[^}/]+\\\}", "([^/]+)", re.escape(template))
        for method in METHODS:
            if method in item:
                routes.append(Route(method, template, re.compile(f"^{pattern}$"), item[method]))
    return routes


def route(spec: dict[str, Any], request_line: str) -> list[Route]:
    """The operations a request line (`METHOD /enrol/.../path?query [HTTP/1.1]`) can reach."""
    m = _REQUEST_LINE_RE.match(request_line)
    assert m, f"not a request line: {request_line!r}"
    method, target = m.group(1).lower(), m.group(2).split("?", 1)[0]
    assert target.startswith(BASE + "/"), f"{request_line!r} is not under the server URL {BASE}"
    path = target[len(BASE) :]
    return [r for r in _routes(spec) if r.method == method and r.regex.match(path)]


def _resolve(spec: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in obj:
        node: Any = spec
        for part in obj["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        obj = node
    return obj


def schema_validator(spec: dict[str, Any], schema: dict[str, Any], *, write: bool = False) -> Any:
    """An OAS 3.0 validator for `schema`, with the spec's `#/components/...` refs resolvable.

    The schema is wrapped in a root that also carries `components`, so that local refs resolve
    against it; validators ignore the unknown `components` keyword.
    """
    root = {"allOf": [schema], "components": spec["components"]}
    cls = OAS30WriteValidator if write else OAS30ReadValidator
    return cls(root)


def errors(validator: Any, instance: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(instance)]


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return load_spec("nexsis")


@pytest.fixture(scope="module")
def document() -> tuple[list[HttpExample], list[DocOperation]]:
    return parse_document(DOC.read_text(encoding="utf-8"))


def _doc_ops() -> list[DocOperation]:
    return parse_document(DOC.read_text(encoding="utf-8"))[1]


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    for template, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield template, method, item, item[method]


def _only_route(spec: dict[str, Any], line: str) -> Route:
    found = route(spec, line)
    assert len(found) == 1, f"{line!r} routes to {[r.operation_id for r in found]}, expected exactly one"
    return found[0]


# --------------------------------------------------------------------------------------------
# 1. The spec is valid OpenAPI 3.0.3 with the agreed operations
# --------------------------------------------------------------------------------------------
def test_spec_is_valid_openapi_30(spec: dict[str, Any]) -> None:
    assert spec["openapi"] == "3.0.3"
    validate_spec(copy.deepcopy(spec))


def test_operation_ids_are_exactly_the_agreed_ones(spec: dict[str, Any]) -> None:
    ids = [op["operationId"] for *_, op in _operations(spec)]
    assert len(ids) == len(set(ids)) == 39
    assert set(ids) == OPERATION_IDS


def test_servers_and_security(spec: dict[str, Any]) -> None:
    assert spec["servers"][0]["url"] == BASE == NEXSIS_BASE_PATH  # the one constant the others import
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == schemes["bearerAuth"] | {"type": "http", "scheme": "bearer"}
    assert schemes["tokenQuery"] == schemes["tokenQuery"] | {"type": "apiKey", "in": "query", "name": "token"}
    # Either scheme alone satisfies (two alternatives, not one requirement with both).
    assert spec["security"] == [{"bearerAuth": []}, {"tokenQuery": []}]
    assert all("security" not in op for *_, op in _operations(spec))


# --------------------------------------------------------------------------------------------
# 2./3. Every example of the document routes to one operation and validates
# --------------------------------------------------------------------------------------------
def test_document_has_one_endpoint_per_operation(spec: dict[str, Any]) -> None:
    ops = [_apply(op) for op in _doc_ops()]
    found = [_only_route(spec, op.endpoint).operation_id for op in ops]
    assert sorted(found) == sorted(OPERATION_IDS), "each operation documented exactly once"


@pytest.mark.parametrize("op", _doc_ops(), ids=lambda op: op.title)
def test_example_request_lines_route_to_the_documented_operation(
    spec: dict[str, Any], op: DocOperation
) -> None:
    fixed = _apply(op)
    expected = _only_route(spec, fixed.endpoint)
    lines = [m.first_line for m in fixed.requests] + fixed.usage
    assert fixed.requests, "every operation of the document shows an example request"
    for line in lines:
        got = _only_route(spec, line)
        assert got.operation_id == expected.operation_id, f"{line!r} routes elsewhere than its endpoint"
        _assert_path_values_valid(spec, got, line)
        _assert_query_names_declared(spec, got, line)


def _assert_path_values_valid(spec: dict[str, Any], r: Route, line: str) -> None:
    """The concrete values of an example line (`C789`, `80`, `2026-11-01T...`) fit the parameters."""
    target = _REQUEST_LINE_RE.match(line).group(2).split("?", 1)[0][len(BASE) :]  # type: ignore[union-attr]
    values = r.regex.match(target).groups()  # type: ignore[union-attr]
    names = re.findall(r"\{([^}]+)\}", r.template)
    params = {p["name"]: p for p in _parameters(spec, r)}
    for name, value in zip(names, values, strict=True):
        if value.startswith("{"):
            continue  # a template such as {userid} in the "Example using" lines
        schema = params[name]["schema"]
        instance: Any = value
        if _resolve(spec, schema).get("type") in ("number", "integer"):
            instance = float(value)
        assert not errors(schema_validator(spec, schema, write=True), instance), (
            f"{name}={value!r} in {line!r}"
        )


def _assert_query_names_declared(spec: dict[str, Any], r: Route, line: str) -> None:
    target = _REQUEST_LINE_RE.match(line).group(2)  # type: ignore[union-attr]
    if "?" not in target:
        return
    declared = {p["name"] for p in _parameters(spec, r) if p["in"] == "query"} | {"token"}
    for pair in target.split("?", 1)[1].split("&"):
        assert pair.split("=", 1)[0] in declared, f"query parameter of {line!r} not declared"


def _parameters(spec: dict[str, Any], r: Route) -> list[dict[str, Any]]:
    item = spec["paths"][r.template]
    return [_resolve(spec, p) for p in item.get("parameters", []) + r.operation.get("parameters", [])]


def test_introduction_examples_route_or_are_placeholders(spec: dict[str, Any], document: Any) -> None:
    intro, _ = document
    assert len(intro) == 4  # header auth, query auth, JSON and URL-encoded "Sending Data"
    for message in intro:
        path = _REQUEST_LINE_RE.match(message.first_line).group(2).split("?")[0]  # type: ignore[union-attr]
        if path in PLACEHOLDER_PATHS:
            assert route(spec, message.first_line) == []
        else:
            assert _only_route(spec, message.first_line).operation_id == "ping"


@pytest.mark.parametrize("op", _doc_ops(), ids=lambda op: op.title)
def test_example_request_bodies_validate(spec: dict[str, Any], op: DocOperation) -> None:
    fixed = _apply(op)
    operation = _only_route(spec, fixed.endpoint).operation
    for message in fixed.requests:
        if message.body is None:
            body = _resolve(spec, operation.get("requestBody", {}))
            assert not body.get("required"), f"line {message.lineno}: the document sends no body"
            continue
        assert "requestBody" in operation, f"line {message.lineno}: the spec takes no body here"
        content = _resolve(spec, operation["requestBody"])["content"]
        assert message.media_type in content, f"line {message.lineno}: {message.media_type} not accepted"
        if message.media_type == "application/json":
            instance = json.loads(message.body)
        else:
            instance = decode_form(message.body.strip())
        schema = content[message.media_type]["schema"]
        problems = errors(schema_validator(spec, schema, write=True), instance)
        assert not problems, f"request body at line {message.lineno}: {problems}"


@pytest.mark.parametrize("op", _doc_ops(), ids=lambda op: op.title)
def test_example_responses_validate(spec: dict[str, Any], op: DocOperation) -> None:
    fixed = _apply(op)
    operation = _only_route(spec, fixed.endpoint).operation
    for message in fixed.responses:
        status = message.first_line.split()[1]
        assert status in operation["responses"], f"status {status} undocumented"
        content = _resolve(spec, operation["responses"][status])["content"]
        assert message.media_type in content, f"line {message.lineno}: {message.media_type} undocumented"
        schema = content[message.media_type].get("schema")
        if message.body is None:
            assert schema is None, f"line {message.lineno}: no body shown, the spec must not demand one"
            continue
        assert schema is not None, f"line {message.lineno}: a body is shown but the spec has no schema"
        problems = errors(schema_validator(spec, schema), json.loads(message.body))
        assert not problems, f"response body at line {message.lineno}: {problems}"


def test_every_repair_is_recorded_in_errata() -> None:
    errata = ERRATA.read_text(encoding="utf-8")
    headings = set(re.findall(r"^## (E\d+)\b", errata, flags=re.M))
    used = {r.erratum for repairs in REPAIRS.values() for r in repairs} | {"E15"}
    assert used <= headings, f"repairs without an ERRATA entry: {sorted(used - headings)}"
    titles = {op.title for op in _doc_ops()}
    assert set(REPAIRS) <= titles, f"repairs for unknown operations: {set(REPAIRS) - titles}"


def test_unrepaired_document_is_indeed_broken() -> None:
    """Each body repair is needed: without it the example is not JSON (so the table holds no dead fixes)."""
    for op in _doc_ops():
        for repair in REPAIRS.get(op.title, []):
            if not repair.part.endswith("body"):
                continue
            messages = op.requests if repair.part.startswith("request") else op.responses
            broken = [m.body for m in messages if m.body and repair.old in m.body]
            assert broken
            for body in broken:
                with pytest.raises(json.JSONDecodeError):
                    json.loads(body)


def test_logs_accept_the_documented_object_and_a_list(spec: dict[str, Any]) -> None:
    op = next(_apply(o) for o in _doc_ops() if o.title == "Get Logs")
    entry = json.loads(op.responses[0].body or "")
    assert isinstance(entry, dict)
    schema = spec["paths"]["/logs"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    v = schema_validator(spec, schema)
    assert not errors(v, [entry, entry])
    assert not errors(v, [])
    assert errors(v, [{"id": "1"}])  # required members missing


# --------------------------------------------------------------------------------------------
# 4. The schemas reject what is wrong (so the checks above can fail)
# --------------------------------------------------------------------------------------------
def _component(spec: dict[str, Any], name: str, *, write: bool = False) -> Any:
    return schema_validator(spec, {"$ref": f"#/components/schemas/{name}"}, write=write)


USER = {"userid": "S123", "username": "student123", "firstname": "Student", "lastname": "Smith",
        "email": "studentsmith@inst.edu"}  # fmt: skip


def test_user_schema_rejects_wrong_type_and_missing_field(spec: dict[str, Any]) -> None:
    v = _component(spec, "User")
    assert not errors(v, USER)
    assert not errors(v, USER | {"auth": "manual", "suspended": 0}), "extra members are allowed"
    assert errors(v, USER | {"email": 5})
    assert errors(v, {k: val for k, val in USER.items() if k != "username"})
    assert errors(v, [USER])


def test_int_like_fields(spec: dict[str, Any]) -> None:
    v = _component(spec, "IntLike")
    for good in (6, "6", "-1", 0):
        assert not errors(v, good), good
    for bad in ("6.5", "six", None, True, "", {"a": 1}):
        assert errors(v, bad), bad
    nv = _component(spec, "NullableIntLike")
    assert not errors(nv, None)
    assert errors(nv, "x")


def test_time_values_accept_iso_and_unix_but_not_junk(spec: dict[str, Any]) -> None:
    v = _component(spec, "TimeValue")
    for good in ("2017-08-16T21:09:30+00:00", "2025-12-31T10:00:00", "2026-11-01T08:00:00.000Z",
                 "2025-12-26 14:36:33", "2026-03-03T10:21:15-05:00", 1767193200, "1767193200"):  # fmt: skip
        assert not errors(v, good), good
    for bad in ("yesterday", "2017-08-16T21:09:30+00:00x", None, 1.5, {}):
        assert errors(v, bad), bad
    c = _component(spec, "CompletionTime", write=True)
    assert not errors(c, "2026-11-01T08:00:00.000Z")
    assert not errors(c, "1793520000")
    assert errors(c, "yesterday")
    assert errors(c, "2026-11-01")  # a date without a time is not a completion time


def test_category_grade_rejects_non_numeric_grade(spec: dict[str, Any]) -> None:
    op = next(_apply(o) for o in _doc_ops() if o.title == "Get Category Grades")
    record = json.loads(op.responses[0].body or "")[0]
    v = _component(spec, "CategoryGrade")
    assert not errors(v, record)
    assert not errors(v, record | {"finalgrade": None}), "an ungraded user has a null finalgrade"
    assert errors(v, record | {"finalgrade": "eighty"})
    assert errors(v, {k: val for k, val in record.items() if k != "gradeid"})


def test_program_allocation_rejects_missing_and_mistyped(spec: dict[str, Any]) -> None:
    op = next(_apply(o) for o in _doc_ops() if o.title == "Get Program Allocation")
    record = json.loads(op.responses[0].body or "")
    v = _component(spec, "ProgramAllocation")
    assert not errors(v, record)
    assert errors(v, record | {"startdate": {"date": 1}})
    assert errors(v, {k: val for k, val in record.items() if k != "id"})


def test_request_schemas(spec: dict[str, Any]) -> None:
    job = _component(spec, "JobAssignmentInput", write=True)
    assert not errors(job, {"departmentid": "D5", "positionid": "P4"})
    assert errors(job, {"positionid": "P4"}), "department and position identify the job"
    mgr = _component(spec, "ManagerInput", write=True)
    assert not errors(mgr, {"keepexisting": 1, "perm_be_notified": "0", "perm_view_reports": True})
    assert errors(mgr, {"keepexisting": "yes"})
    path_id = _component(spec, "PathId", write=True)
    assert not errors(path_id, "C789")
    assert errors(path_id, "a/b"), "an id with / cannot be one path segment"
    assert errors(path_id, "")


def test_error_schema_is_permissive(spec: dict[str, Any]) -> None:
    v = _component(spec, "Error")
    assert not errors(v, {})
    assert not errors(v, {"error": "not_found", "message": "Unknown user", "debug": {"x": 1}})
    assert errors(v, "not found"), "an error body is still a JSON object"


# --------------------------------------------------------------------------------------------
# Structure: statuses, bodies, links, leniency
# --------------------------------------------------------------------------------------------
def test_error_statuses(spec: dict[str, Any]) -> None:
    for template, _method, _item, op in _operations(spec):
        statuses = set(op["responses"])
        label = op["operationId"]
        assert {"200", "400", "401"} <= statuses, label
        assert ("404" in statuses) == ("{" in template), f"{label}: 404 exactly where ids are taken"
        assert ("413" in statuses) == ("requestBody" in op), label
        assert ("415" in statuses) == ("requestBody" in op), label
        assert "default" not in statuses, f"{label}: statuses are precise"
        for status in statuses - {"200"}:
            content = _resolve(spec, op["responses"][status])["content"]
            assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_request_bodies_take_json_and_form_with_one_object_schema(spec: dict[str, Any]) -> None:
    for *_, op in _operations(spec):
        if "requestBody" not in op:
            continue
        content = _resolve(spec, op["requestBody"])["content"]
        assert set(content) == {"application/json", "application/x-www-form-urlencoded"}
        json_schema, form_schema = (content[m]["schema"] for m in sorted(content))
        assert json_schema == form_schema and "$ref" in json_schema, op["operationId"]
        assert _resolve(spec, json_schema)["type"] == "object", "Connexion parses forms of objects only"


def test_bodies_are_optional_unless_a_field_is_required(spec: dict[str, Any]) -> None:
    """A body whose fields are all optional may be left out, so it is `required: false`.

    An empty object sent URL-encoded is an empty body, which Connexion treats as no body; and
    Connexion rejects an empty JSON body unless the schema is nullable, even for optional bodies.
    """
    seen = 0
    for *_, op in _operations(spec):
        if "requestBody" not in op:
            continue
        body = _resolve(spec, op["requestBody"])
        schema = _resolve(spec, body["content"]["application/json"]["schema"])
        if schema.get("required"):
            assert body["required"] is True, op["operationId"]
        else:
            seen += 1
            assert body["required"] is False, op["operationId"]
            assert schema["nullable"] is True, op["operationId"]
    assert seen == 10  # all but the job assignment, identified by its department and position


def test_bodiless_200_answers_have_no_schema(spec: dict[str, Any]) -> None:
    """The document shows `Content-Type: application/json` and no body: an empty body and any JSON conform.

    Schemathesis skips response validation when the media type has no schema; with any schema, even
    `{}`, it would parse the empty body as JSON and report it as malformed.
    """
    bodiless = {
        "deleteCourse", "deleteUser", "unenrolUser", "deleteCourseGroup", "removeGroupMember",
        "deleteMetalink", "deleteProgramAllocation", "deleteCertificationAllocation",
        "deleteJobAssignment", "deleteManager", "enrolUser", "addGroupMember", "addCourseCompletion",
    }  # fmt: skip
    for *_, op in _operations(spec):
        ok = _resolve(spec, op["responses"]["200"])
        if op["operationId"] in bodiless:
            assert ok["content"] == {"application/json": {}}, op["operationId"]
        else:
            assert "schema" in ok["content"]["application/json"], op["operationId"]


def test_links_point_to_real_operations_and_parameters(spec: dict[str, Any]) -> None:
    by_id = {op["operationId"]: (template, item, op) for template, _m, item, op in _operations(spec)}
    count = 0
    for *_, op in _operations(spec):
        for link in _resolve(spec, op["responses"]["200"]).get("links", {}).values():
            count += 1
            template, item, target = by_id[link["operationId"]]
            names = {
                _resolve(spec, p)["name"] for p in item.get("parameters", []) + target.get("parameters", [])
            }
            wanted = {k.removeprefix("path.") for k in link["parameters"]}
            assert wanted == set(re.findall(r"\{([^}]+)\}", template)), link
            assert wanted <= names
            for expr in link["parameters"].values():
                assert re.match(r"^\$(request\.path\.\w+|request\.body#/\w+|response\.body#/\w+)$", expr), (
                    expr
                )
    assert count >= 20


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_no_schema_forbids_additional_properties(spec: dict[str, Any]) -> None:
    """A real deployment may add members; the document never says the API rejects unknown fields."""
    assert not [n for n in _walk(spec) if n.get("additionalProperties") is False]


def test_every_operation_is_documented(spec: dict[str, Any]) -> None:
    tags = {t["name"] for t in spec["tags"]}
    for *_, op in _operations(spec):
        assert op.get("summary") and op.get("description"), op["operationId"]
        assert len(op.get("tags", [])) == 1 and op["tags"][0] in tags, op["operationId"]
    for name, schema in spec["components"]["schemas"].items():
        assert schema.get("description"), f"schema {name} lacks a description"


# --------------------------------------------------------------------------------------------
# The spec's response examples: the document's, repaired, and nothing else
# --------------------------------------------------------------------------------------------
def _document_examples(spec: dict[str, Any]) -> dict[tuple[str, str], Any]:
    """(operationId, status) -> the repaired example body of the document, parsed."""
    found: dict[tuple[str, str], Any] = {}
    for op in _doc_ops():
        fixed = _apply(op)
        operation_id = _only_route(spec, fixed.endpoint).operation_id
        for message in fixed.responses:
            if message.body is not None:
                key = (operation_id, message.first_line.split()[1])
                assert key not in found, f"{key}: two example bodies for one response"
                found[key] = json.loads(message.body)
    return found


def test_response_examples_are_exactly_the_repaired_documents(spec: dict[str, Any]) -> None:
    """Each success response the document shows a body for carries it as the named example
    `document` (what Swagger UI shows and `Prefer: code=200` answers), equal to the repaired
    document's, types and member order included, so the copy cannot drift; no other response
    example exists, and each validates against its schema."""
    in_spec: dict[tuple[str, str], Any] = {}
    for *_, op in _operations(spec):
        for status, response in op["responses"].items():
            for media, content in _resolve(spec, response).get("content", {}).items():
                label = f"{op['operationId']} {status} {media}"
                assert "example" not in content, f"{label}: examples are named (`examples:`)"
                for name, example in (content.get("examples") or {}).items():
                    assert (name, media) == ("document", "application/json"), label
                    assert "The vendor document's example response" in example["summary"], label
                    in_spec[(op["operationId"], status)] = example["value"]
                    problems = errors(schema_validator(spec, content["schema"]), example["value"])
                    assert not problems, f"{label}: {problems}"
    expected = _document_examples(spec)
    assert len(expected) == 26
    assert sorted(in_spec) == sorted(expected)
    for key, value in expected.items():
        assert json.dumps(in_spec[key]) == json.dumps(value), key
