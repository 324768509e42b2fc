"""``Prefer: code=`` and ``Prefer: example=`` (issue 12): forced answers that change nothing.

Over real HTTP on the shared mock; the whole state export (logs included) is compared before and
after each test, so a forced answer that reached the domain would show.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from connexion.json_schema import resolve_refs
from openapi_schema_validator import OAS30ReadValidator

from nexsis_mock.endpoints import table
from nexsis_mock.middleware.conformance import nonconforming
from nexsis_mock.middleware.prefer import PreferError, forced_answer
from nexsis_mock.middleware.static_body import static_body
from nexsis_openapi import load_spec

from .conftest import NX, WS


@pytest.fixture
def unchanged(http: httpx.Client) -> Iterator[None]:
    before = http.get("/__admin/state").json()
    yield
    assert http.get("/__admin/state").json() == before


@pytest.fixture
def auth(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['nexsis']}"}


FORCED = {"error": "not_found", "message": "answer forced by the Prefer header"}


def test_code_forces_a_documented_error_status(http, auth, unchanged):
    r = http.get(f"{NX}/user/S1001", headers={**auth, "Prefer": "code=404"})
    assert r.status_code == 404 and r.json() == FORCED
    assert r.headers["Preference-Applied"] == "code=404"
    r = http.put(f"{NX}/user/PREFER1", json={"username": "prefer1"}, headers={**auth, "Prefer": "code=404"})
    assert r.status_code == 404  # nothing created: `unchanged` checks the whole state


def test_forcing_skips_validation_but_not_authentication(http, auth, unchanged):
    r = http.get(f"{NX}/logs", params={"limit": "abc"}, headers={**auth, "Prefer": "code=401"})
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    r = http.get(f"{NX}/user/S1001", headers={"Prefer": "code=404"})
    assert r.status_code == 401 and "Preference-Applied" not in r.headers


@pytest.mark.parametrize(("prefer", "status", "words"), [
    ("code=418", 400, "is not a status getUser documents (200, 400, 401, 404)"),
    ("code=abc", 400, "is not a status getUser documents"),
    ("example=nope", 400, "is not an example of getUser (examples: document)"),
    ("code=200, example=nope", 400, "is not an example of 200 for getUser (examples: document)"),
])
def test_preferences_the_spec_cannot_honour_are_refused(http, auth, unchanged, prefer, status, words):
    r = http.get(f"{NX}/user/S1001", headers={**auth, "Prefer": prefer})
    assert r.status_code == status and words in r.json()["message"], r.text


def test_unknown_preferences_are_ignored(http, auth):
    r = http.get(f"{NX}/user/S1001", headers={**auth, "Prefer": "return=minimal"})
    assert r.status_code == 200 and r.json()["userid"] == "S1001"


def _ws(http: httpx.Client, tokens: dict[str, str], prefer: str, fmt: str = "json") -> httpx.Response:
    return http.post(WS, headers={"Prefer": prefer},
                     data={"wstoken": tokens["ws"], "wsfunction": "tool_muprog_get_programs",
                           "moodlewsrestformat": fmt, "fieldname": "id", "fieldvalues[0]": "1"})


def test_ws_example_by_name_in_the_calls_format(http, tokens, unchanged):
    r = _ws(http, tokens, "example=seq07_get_programs_no_match_empty_list")
    assert r.status_code == 200 and r.json() == []
    assert r.headers["Preference-Applied"] == "example=seq07_get_programs_no_match_empty_list"
    r = _ws(http, tokens, "example=seq39_bad_token", fmt="xml")
    assert r.status_code == 200 and b"<ERRORCODE>invalidtoken</ERRORCODE>" in r.content


def test_ws_refused_preferences_are_invalidparameter(http, tokens, unchanged):
    r = _ws(http, tokens, "example=nope")
    assert r.json()["errorcode"] == "invalidparameter"
    assert "is not an example of tool_muprog_get_programs (examples: seq03_" in r.headers["X-Mock-Detail"]
    r = _ws(http, tokens, "code=404")
    assert r.json()["errorcode"] == "invalidparameter"
    assert "is not a status tool_muprog_get_programs documents (200)" in r.headers["X-Mock-Detail"]


# --------------------------------------------------------------------------------------------
# Every documented status of every NexSIS operation can be forced (issue 12: "any status")
# --------------------------------------------------------------------------------------------
SPEC = load_spec("nexsis")


def _nexsis_cases() -> list[tuple[str, str, str, str]]:
    """(operationId, method, concrete path, status) for every status every operation documents."""
    cases = []
    for template, item in SPEC["paths"].items():
        for method, op in item.items():
            if method in ("get", "put", "post", "delete"):
                path = re.sub(r"\{[^}]+\}", "1", template)  # "1" fits every path parameter's route
                cases += [(op["operationId"], method.upper(), path, status) for status in op["responses"]]
    return cases


def _media(operation_id: str, status: str) -> dict[str, Any]:
    """The spec's own description of the JSON answer (schema, examples)."""
    op = next(op for item in SPEC["paths"].values() for op in item.values()
              if isinstance(op, dict) and op.get("operationId") == operation_id)
    response = op["responses"][status]
    if "$ref" in response:
        response = SPEC["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return response["content"]["application/json"]


def _response_schema(operation_id: str, status: str) -> dict[str, Any] | None:
    """The spec's own schema for the answer (None: no schema), resolvable against its components."""
    schema = _media(operation_id, status).get("schema")
    return None if schema is None else {"allOf": [schema], "components": SPEC["components"]}


CASES = _nexsis_cases()


def test_every_operation_and_status_is_covered():
    assert len({c[0] for c in CASES}) == 39 and len(CASES) > 39 * 3


@pytest.mark.parametrize(("operation_id", "method", "path", "status"), CASES,
                         ids=[f"{c[0]}-{c[3]}" for c in CASES])
def test_code_forces_every_documented_status(http, auth, unchanged, operation_id, method, path, status):
    r = http.request(method, f"{NX}{path}", headers={**auth, "Prefer": f"code={status}"})
    assert r.status_code == int(status), r.text
    assert r.headers["Preference-Applied"] == f"code={status}"
    schema = _response_schema(operation_id, status)
    if schema is None:
        assert r.content == b"", "no schema: the document shows no body"
        return
    problems = [e.message for e in OAS30ReadValidator(schema).iter_errors(r.json())]
    assert not problems, f"{operation_id} {status}: {problems}"
    examples = _media(operation_id, status).get("examples")
    if examples:  # the vendor document's example response, as Prism answers
        assert r.json() == examples["document"]["value"]


def test_code_200_answers_the_documents_example_and_example_picks_it_by_name(http, auth, unchanged):
    document = _media("getUser", "200")["examples"]["document"]["value"]
    r = http.get(f"{NX}/user/S1001", headers={**auth, "Prefer": "code=200"})
    assert r.status_code == 200 and r.json() == document and r.json()["userid"] == "S123"
    r = http.get(f"{NX}/user/S1001", headers={**auth, "Prefer": "example=document"})
    assert r.status_code == 200 and r.json() == document
    assert r.headers["Preference-Applied"] == "example=document"


# --------------------------------------------------------------------------------------------
# The body built from the schema (Prism's static mode), for responses without an example
# --------------------------------------------------------------------------------------------
def _without_examples(responses: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for status, response in responses.items():
        content = {media: {k: v for k, v in body.items() if k not in ("example", "examples")}
                   for media, body in (response.get("content") or {}).items()}
        out[status] = {**response, "content": content} if "content" in response else response
    return out


@pytest.mark.parametrize("endpoint", list(table().by_id.values()),
                         ids=lambda ep: f"{ep.api}-{ep.operation_id}")
def test_schema_built_bodies_validate_for_every_documented_status(endpoint):
    bare = dataclasses.replace(endpoint, responses=_without_examples(endpoint.responses))
    def error(status: int) -> dict[str, str]:
        return {"error": "e", "message": "m"}

    for status in sorted(bare.statuses):
        forced = forced_answer(bare, {"code": str(status)}, error)
        assert forced.status == status and forced.applied == f"code={status}"
        assert nonconforming(bare, status, forced.body) is None
        assert forced_answer(bare, {"code": str(status)}, error).body == forced.body, "deterministic"
        if status < 400 and forced.body is not None:
            assert forced.body is static_body(bare, status), "built once per operation and status"


def _only_200(endpoint: Any, schema: dict[str, Any]) -> Any:
    """``endpoint`` answering 200 with ``schema`` and nothing else documented."""
    response = {"content": {"application/json": {"schema": schema}}}
    return dataclasses.replace(endpoint, responses={"200": response}, statuses=frozenset({200}))


def test_schema_built_strings_follow_the_specs_patterns():
    """The components a response schema can reach, each alone: DateTimeText's pattern and others."""
    ep = table().by_id[("nexsis", "getUser")]
    resolved = resolve_refs(SPEC)  # as the endpoint table resolves its responses
    for name in ("DateTimeText", "CompletionTime", "PathId", "TimeValue", "NumberLike", "BoolLike"):
        schema = resolved["components"]["schemas"][name]
        bare = _only_200(ep, schema)
        body = static_body(bare, 200)
        assert nonconforming(bare, 200, body) is None, (name, body)
        if schema.get("pattern"):
            assert isinstance(body, str) and re.search(schema["pattern"], body), (name, body)


@pytest.mark.parametrize(("schema", "body"), [
    ({"type": "string", "format": "date-time"}, "1970-01-01T00:00:00Z"),
    ({"type": "string", "format": "email"}, "user@example.com"),
    ({"type": "string", "minLength": 8, "maxLength": 9}, "stringxx"),
    ({"type": "integer", "minimum": 3}, 3),
    ({"type": "number", "maximum": -2, "exclusiveMaximum": True}, -2.5),
    ({"type": "array", "items": {"type": "boolean"}, "minItems": 2}, [False, False]),
    ({"oneOf": [{"type": "integer"}, {"type": "number"}]}, 0.0),  # 0 would match both branches
    ({"allOf": [{"type": "object", "properties": {"a": {"enum": ["x", "y"]}}},
                {"type": "object", "properties": {"b": {"type": "string", "example": "ex"}}}]},
     {"a": "x", "b": "ex"}),
])
def test_schema_built_values(schema, body):
    bare = _only_200(table().by_id[("nexsis", "getUser")], schema)
    assert static_body(bare, 200) == body and type(static_body(bare, 200)) is type(body)


def test_a_schema_without_a_buildable_body_is_422_with_the_reason():
    ep = table().by_id[("nexsis", "getUser")]
    schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": "^[A-Z]{3}$"}}}
    bare = _only_200(ep, schema)
    with pytest.raises(PreferError) as info:
        forced_answer(bare, {"code": "200"}, lambda s: None)
    assert info.value.status == 422
    assert "getUser documents no example for 200" in info.value.message
    assert "no generic value matches the pattern '^[A-Z]{3}$'" in info.value.message


def test_swagger_uis_spec_document_carries_the_documents_examples(http):
    """Swagger UI shows a response's examples from the spec document the mock serves it."""
    served = http.get(f"{NX}/openapi.json").json()
    media = served["paths"]["/user/{userid}"]["get"]["responses"]["200"]["content"]["application/json"]
    assert media["examples"] == _media("getUser", "200")["examples"]
