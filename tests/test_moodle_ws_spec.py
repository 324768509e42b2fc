"""openapi/moodle-ws.yaml against what a real Moodle declares and answered.

The spec is the contract both the mock and the suite read, so it is checked against the ground truth
rather than against itself: the parameter/return definitions dumped from a running Moodle 5.0
(moodle-ws-signatures.json), the 99 recorded request/response pairs (moodle-ws-observed.jsonl), the
vendor document's curl examples, and the three tools that consume it (openapi-spec-validator,
Connexion 3 over real HTTP, schemathesis 4).

The observed-request checks enforce the project's first rule in both directions: every request the
real site accepted must be valid (the spec is never stricter), and every request it rejected for a
reason a schema can express must be invalid (the spec is not looser than it claims).
"""

from __future__ import annotations

import copy
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import httpx
import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate as validate_spec

from nexsis_openapi import codec, load_spec

DATA = Path(__file__).resolve().parent / "data"
SIGNATURES = json.loads((DATA / "moodle-ws-signatures.json").read_text(encoding="utf-8"))
ROWS = [
    json.loads(line)
    for line in (DATA / "moodle-ws-observed.jsonl").read_text(encoding="utf-8").splitlines()
    if line.strip()
]
ROWS_BY_SEQ = {row["seq"]: row for row in ROWS}

MUPROG = [
    "tool_muprog_get_programs",
    "tool_muprog_get_program_allocations",
    "tool_muprog_source_manual_allocate_users",
    "tool_muprog_delete_program_allocations",
    "tool_muprog_update_program_allocation",
    "tool_muprog_archive_program_allocation",
    "tool_muprog_restore_program_allocation",
    "tool_muprog_source_cohort_get_cohorts",
    "tool_muprog_source_cohort_add_cohort",
    "tool_muprog_source_cohort_delete_cohort",
]
GROUP = [
    "core_group_create_groups",
    "core_group_delete_groups",
    "core_group_add_group_members",
    "core_group_delete_group_members",
]
#: core_webservice_get_site_info is the 15th operation: the side-effect-free token probe.
FUNCTIONS = [*MUPROG, *GROUP, "core_webservice_get_site_info"]
VOID_FUNCTIONS = [
    "core_group_add_group_members",
    "core_group_delete_group_members",
    "core_group_delete_groups",
]
PATH_PREFIX = "/webservice/rest/server.php#"

#: Fields the REST server itself consumes (webservice/rest/locallib.php and
#: webservice_server::set_web_service_call_settings()); everything else is a function parameter.
SERVER_FIELDS = {
    "wsfunction",
    "moodlewsrestformat",
    "wstoken",
    "moodlewssettingraw",
    "moodlewssettingfileurl",
    "moodlewssettingfilter",
    "moodlewssettinglang",
    "moodlewssettingtimezone",
}

#: Observed `invalidparameter` answers whose cause a request schema can express: the spec must reject
#: these requests. seq -> why.
SCHEMA_REJECTIONS = {
    44: "programid missing",
    45: "fieldvalues missing",
    46: "programid=abc is not PARAM_INT",
    47: "programid=1.5 is not PARAM_INT",
    56: "unexpected parameter bogus",
    65: "required key description missing in groups[0]",
    76: "userids missing",
    87: "userids= is a scalar, not an array",
    88: "userids=8 is a scalar, not an array",
    89: "PARAM_BOOL participation=false",
    90: "PARAM_BOOL participation=true",
    97: "PARAM_BOOL participation=yes",
}
#: Observed `invalidparameter` answers that depend on data or state: the spec must accept these
#: requests (rejecting them would be stricter than Moodle's own parameter validation).
SEMANTIC_REJECTIONS = {
    19: "archive of an archived allocation",
    21: "restore of an allocation that is not archived",
    54: "field name shortname is PARAM_ALPHANUM but not a searchable field",
    55: "timedue before timestart",
    63: "duplicate group name in the course",
    74: "archive of a cohort-sourced allocation",
    75: "delete of a cohort-sourced allocation",
    78: "user not enrolled in the group's course",
}


# --------------------------------------------------------------------------------------------
# helpers


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return copy.deepcopy(load_spec("moodle-ws"))


def _resolve(spec: dict, schema: dict) -> dict:
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema:
        ref = schema["$ref"]
        assert ref.startswith("#/components/schemas/"), ref
        schema = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
        seen += 1
        assert seen < 20, "reference loop"
    return schema


def _flatten(spec: dict, schema: dict) -> dict:
    """One dict view of a schema: `$ref` followed and `allOf` parts merged into their parent."""
    schema = _resolve(spec, schema)
    if "allOf" not in schema:
        return schema
    merged: dict = {}
    for part in schema["allOf"]:
        merged.update(_flatten(spec, part))
    merged.update({k: v for k, v in schema.items() if k != "allOf"})
    return merged


def _operation(spec: dict, fn: str) -> dict:
    return spec["paths"][PATH_PREFIX + fn]["post"]


def _request_schema(spec: dict, fn: str) -> dict:
    return _operation(spec, fn)["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]


def _response_schema(spec: dict, fn: str) -> dict:
    return _operation(spec, fn)["responses"]["200"]["content"]["application/json"]["schema"]


def _return_schema(spec: dict, fn: str) -> dict:
    branches = _response_schema(spec, fn)["anyOf"]
    assert branches[1] == {"$ref": "#/components/schemas/MoodleException"}
    return branches[0]


def _validator(spec: dict, schema: dict) -> OAS30Validator:
    """An OAS 3.0 validator whose `#/components/...` references resolve inside this spec."""
    root = {**schema, "components": spec["components"]}
    return OAS30Validator(root)


def _is_valid(spec: dict, schema: dict, instance: Any) -> bool:
    return _validator(spec, schema).is_valid(instance)


_CANONICAL_INT = re.compile(r"^-?(0|[1-9][0-9]*)$")


def _coerce(spec: dict, schema: dict, value: Any) -> Any:
    """Type decoded form strings by the schema, accepting only what Moodle's PARAM_INT accepts.

    validate_param() rejects any value that (string)(int) would change, so only canonical decimal
    integers become ints; anything else stays a string and fails the schema, as it fails Moodle.
    """
    schema = _flatten(spec, schema)
    kind = schema.get("type")
    if kind == "object" and isinstance(value, dict):
        props = schema.get("properties", {})
        return {k: _coerce(spec, props[k], v) if k in props else v for k, v in value.items()}
    if kind == "array" and isinstance(value, list):
        return [_coerce(spec, schema.get("items", {}), v) for v in value]
    if kind == "integer" and isinstance(value, str) and _CANONICAL_INT.match(value):
        return int(value)
    return value


def _request_params(row: dict) -> dict:
    """The parameters PHP would see: query and form body merged, the body winning (array_merge)."""
    request = row["request"]
    query = urlsplit(request["url"]).query
    params = codec.decode(query) if query else {}
    content_type = request["headers"].get("Content-Type", "")
    if request["body"] and content_type.startswith("application/x-www-form-urlencoded"):
        params.update(codec.decode(request["body"]))
    return params


def _response_json(row: dict) -> tuple[bool, Any]:
    headers = {k.lower(): v for k, v in row["response"]["headers"].items()}
    if not headers.get("content-type", "").startswith("application/json"):
        return False, None
    return True, json.loads(row["response"]["body"])


def _is_exception(body: Any) -> bool:
    return isinstance(body, dict) and "exception" in body


# --------------------------------------------------------------------------------------------
# the document itself


def test_spec_is_valid_openapi_303(spec: dict) -> None:
    assert spec["openapi"] == "3.0.3"
    validate_spec(spec)


def test_one_post_operation_per_function_at_its_fragment_path(spec: dict) -> None:
    assert spec["servers"] == [{"url": "/", "description": spec["servers"][0].get("description")}]
    assert sorted(spec["paths"]) == sorted(PATH_PREFIX + fn for fn in FUNCTIONS)
    for fn in FUNCTIONS:
        item = spec["paths"][PATH_PREFIX + fn]
        assert list(item) == ["post"], fn
        op = item["post"]
        assert op["operationId"] == fn
        expected_tag = "tool_muprog" if fn in MUPROG else "core_group" if fn in GROUP else "core_webservice"
        assert op["tags"] == [expected_tag]
        body = _request_schema(spec, fn)
        assert body["type"] == "object"
        assert body["properties"]["wsfunction"]["enum"] == [fn]
        assert "wsfunction" in body["required"]
        assert body["additionalProperties"] is False
        assert set(op["responses"]) == {"200"}
        assert list(op["responses"]["200"]["content"]) == ["application/json"]
        # Connexion's default form handling reads defn["type"] of every top-level property.
        for name, prop in body["properties"].items():
            assert "type" in _flatten(spec, prop), name


def test_security_scheme_is_the_query_token(spec: dict) -> None:
    assert spec["components"]["securitySchemes"]["wstoken"] == {
        **spec["components"]["securitySchemes"]["wstoken"],
        "type": "apiKey",
        "in": "query",
        "name": "wstoken",
    }
    assert spec["security"] == [{"wstoken": []}]
    for fn in FUNCTIONS:
        # The body alternative that Moodle also accepts is documented as an optional field.
        assert _flatten(spec, _request_schema(spec, fn)["properties"]["wstoken"])["type"] == "string"
        assert "wstoken" not in _request_schema(spec, fn)["required"]


def test_server_fields_are_the_ones_moodle_consumes(spec: dict) -> None:
    for fn in FUNCTIONS:
        body = _request_schema(spec, fn)
        own = set(SIGNATURES["functions"][fn]["parameters_desc"]["keys"])
        assert set(body["properties"]) == SERVER_FIELDS | own, fn
        assert not own & SERVER_FIELDS
        assert _flatten(spec, body["properties"]["moodlewsrestformat"])["enum"] == ["json"]


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_moodle_facts_as_vendor_extensions(spec: dict, fn: str) -> None:
    info = SIGNATURES["functions"][fn]
    op = _operation(spec, fn)
    assert op["x-moodle-capabilities"] == [c for c in info["capabilities"].split(",") if c]
    assert op["x-moodle-type"] == info["type"]
    assert op["x-moodle-component"] == info["component"]
    documented = {e["errorcode"] for e in op["x-moodle-errors"]}
    assert {"invalidtoken", "invalidparameter", "accessexception"} <= documented
    for code in documented:
        assert f"`{code}`" in op["description"], code
    # Every error code the real site gave for this function is documented on the operation.
    for row in ROWS:
        if row["wsfunction"] == fn:
            is_json, body = _response_json(row)
            if is_json and _is_exception(body):
                assert body["errorcode"] in documented, (row["seq"], body["errorcode"])


# --------------------------------------------------------------------------------------------
# every parameter and return field of the real definitions


_REQUEST_TYPES = {"PARAM_INT": "integer", "PARAM_BOOL": "integer"}
_RESPONSE_TYPES = {"PARAM_INT": "integer", "PARAM_BOOL": "boolean", "PARAM_FLOAT": "number"}


def _expected_request_default(node: dict) -> Any:
    default = node["default"]
    if node["kind"] == "value":
        if node["param"] == "PARAM_BOOL":
            return int(bool(default) and default not in ("0", 0))
        if node["param"] == "PARAM_INT":
            return int(default)
        return default
    if node["kind"] == "single" and default == []:
        return {}  # PHP's empty array is the empty structure
    return None  # null (or an empty list) cannot be an OpenAPI default here


def _walk_request(spec: dict, node: dict, schema: dict, where: str, checked: list[str]) -> None:
    s = _flatten(spec, schema)
    kind = node["kind"]
    checked.append(where)
    # A form cannot carry null: an allownull parameter is still never null on the wire.
    assert not s.get("nullable"), where
    if kind == "value":
        assert s.get("x-moodle-param") == node["param"], where
        assert s["type"] == _REQUEST_TYPES.get(node["param"], "string"), where
        if node["param"] == "PARAM_BOOL":
            assert s["enum"] == [0, 1], where
        if node["param"] == "PARAM_INT":
            assert (s["minimum"], s["maximum"]) == (-(2**63), 2**63 - 1), where
        return
    if kind in ("single", "function_parameters"):
        assert s["type"] == "object", where
        assert s["additionalProperties"] is False, where  # Moodle: "Unexpected keys ... detected"
        props = s["properties"]
        keys = node["keys"]
        extra = set(props) - set(keys)
        assert extra == (SERVER_FIELDS if kind == "function_parameters" else set()), where
        required = set(s.get("required", []))
        for key, sub in keys.items():
            sub_where = f"{where}.{key}"
            assert key in props, sub_where
            assert (key in required) == (sub["required"] == "required"), sub_where
            prop = props[key]
            if sub["required"] == "default":
                assert prop.get("x-moodle-default", "<absent>") == sub["default"], sub_where
                expected = _expected_request_default(sub)
                if expected is None:
                    assert "default" not in prop, sub_where
                else:
                    assert prop.get("default") == expected, sub_where
                    assert _is_valid(spec, prop, expected), sub_where
            else:
                assert "default" not in prop and "x-moodle-default" not in prop, sub_where
            _walk_request(spec, sub, prop, sub_where, checked)
        return
    assert kind == "multiple", where
    assert s["type"] == "array", where
    # An empty array cannot be sent on the wire: required arrays need an element, optional ones
    # may be left empty (they are then simply absent).
    if node["required"] == "required":
        assert s.get("minItems") == 1, where
    else:
        assert "minItems" not in s, where
    _walk_request(spec, node["content"], s["items"], where + "[]", checked)


def _walk_response(spec: dict, node: dict, schema: dict, where: str, checked: list[str]) -> None:
    s = _flatten(spec, schema)
    kind = node["kind"]
    checked.append(where)
    assert bool(s.get("nullable")) == bool(node.get("allownull")), where
    if kind == "value":
        assert s.get("x-moodle-param") == node["param"], where
        assert s["type"] == _RESPONSE_TYPES.get(node["param"], "string"), where
        assert "enum" not in s, where
        return
    if kind == "single":
        assert s["type"] == "object", where
        assert s.get("additionalProperties", True) is not False, where  # never forbid extra members
        props = s["properties"]
        assert set(props) == set(node["keys"]), where
        # clean_returnvalue() emits VALUE_REQUIRED keys and fills VALUE_DEFAULT ones;
        # only VALUE_OPTIONAL keys may be missing.
        expected_required = {
            k for k, sub in node["keys"].items() if sub["required"] in ("required", "default")
        }
        assert set(s.get("required", [])) == expected_required, where
        for key, sub in node["keys"].items():
            _walk_response(spec, sub, props[key], f"{where}.{key}", checked)
        return
    assert kind == "multiple", where
    assert s["type"] == "array", where
    assert "minItems" not in s, where  # empty results are []
    _walk_response(spec, node["content"], s["items"], where + "[]", checked)


def _count_nodes(node: dict | None) -> int:
    if node is None:
        return 0
    if node["kind"] in ("single", "function_parameters"):
        return 1 + sum(_count_nodes(sub) for sub in node["keys"].values())
    if node["kind"] == "multiple":
        return 1 + _count_nodes(node["content"])
    return 1


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_every_parameter_matches_the_real_definition(spec: dict, fn: str) -> None:
    node = SIGNATURES["functions"][fn]["parameters_desc"]
    checked: list[str] = []
    _walk_request(spec, node, _request_schema(spec, fn), fn, checked)
    assert len(checked) == _count_nodes(node)


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_every_return_field_matches_the_real_definition(spec: dict, fn: str) -> None:
    node = SIGNATURES["functions"][fn]["returns_desc"]
    checked: list[str] = []
    if node is None:
        assert fn in VOID_FUNCTIONS
        assert _return_schema(spec, fn) == {"$ref": "#/components/schemas/VoidResult"}
        return
    assert fn not in VOID_FUNCTIONS
    _walk_response(spec, node, _return_schema(spec, fn), fn, checked)
    assert len(checked) == _count_nodes(node)


def test_signature_walk_catches_a_wrong_spec(spec: dict) -> None:
    """The walkers are only worth something if a single wrong detail fails them."""
    broken = copy.deepcopy(spec)
    broken["components"]["schemas"]["ProgramAllocation"]["properties"]["timedue"]["nullable"] = False
    with pytest.raises(AssertionError):
        _walk_response(
            broken,
            SIGNATURES["functions"]["tool_muprog_get_program_allocations"]["returns_desc"],
            _return_schema(broken, "tool_muprog_get_program_allocations"),
            "x",
            [],
        )
    broken = copy.deepcopy(spec)
    group = broken["components"]["schemas"]["NewGroup"]
    group["required"] = [k for k in group["required"] if k != "description"]
    with pytest.raises(AssertionError):
        _walk_request(
            broken,
            SIGNATURES["functions"]["core_group_create_groups"]["parameters_desc"],
            _request_schema(broken, "core_group_create_groups"),
            "x",
            [],
        )
    broken = copy.deepcopy(spec)
    group = broken["components"]["schemas"]["NewGroup"]
    group["properties"]["participation"]["default"] = 0
    with pytest.raises(AssertionError):
        _walk_request(
            broken,
            SIGNATURES["functions"]["core_group_create_groups"]["parameters_desc"],
            _request_schema(broken, "core_group_create_groups"),
            "x",
            [],
        )


# --------------------------------------------------------------------------------------------
# the recorded traffic


@pytest.mark.parametrize("seq", sorted(ROWS_BY_SEQ))
def test_observed_response_validates(spec: dict, seq: int) -> None:
    row = ROWS_BY_SEQ[seq]
    is_json, body = _response_json(row)
    if not is_json:
        assert "moodlewsrestformat=json" not in (row["request"]["body"] or "") + row["request"]["url"]
        return  # XML answers are outside the JSON contract (moodlewsrestformat is required)
    exception = spec["components"]["schemas"]["MoodleException"]
    fn = row["wsfunction"]
    if fn not in FUNCTIONS:
        # Missing/unknown wsfunction, or a function outside the spec: still the envelope.
        assert _is_exception(body)
        assert _is_valid(spec, exception, body), seq
        return
    assert _is_valid(spec, _response_schema(spec, fn), body), seq
    if _is_exception(body):
        assert _is_valid(spec, exception, body), seq
        assert not _is_valid(spec, _return_schema(spec, fn), body), seq
    else:
        assert _is_valid(spec, _return_schema(spec, fn), body), seq
        assert not _is_valid(spec, exception, body), seq


def test_moodle_exception_envelope(spec: dict) -> None:
    exception = spec["components"]["schemas"]["MoodleException"]
    assert exception["required"] == ["exception", "errorcode", "message"]
    base = {
        "exception": "dml_missing_record_exception",
        "errorcode": "invalidrecordunknown",
        "message": "Can't find data record in database.",
    }
    assert _is_valid(spec, exception, base)
    assert _is_valid(spec, exception, {**base, "debuginfo": "SELECT ...", "errorcode": "invalidrecord"})
    for missing in ("exception", "errorcode", "message"):
        assert not _is_valid(spec, exception, {k: v for k, v in base.items() if k != missing}), missing
    assert not _is_valid(spec, exception, {**base, "message": 5})
    assert not _is_valid(spec, exception, [base])


def test_rejection_lists_cover_every_invalidparameter_answer() -> None:
    observed = set()
    for row in ROWS:
        is_json, body = _response_json(row)
        if (
            is_json
            and _is_exception(body)
            and body["errorcode"] == "invalidparameter"
            and row["wsfunction"] in FUNCTIONS
        ):
            observed.add(row["seq"])
    assert observed == set(SCHEMA_REJECTIONS) | set(SEMANTIC_REJECTIONS)
    assert not set(SCHEMA_REJECTIONS) & set(SEMANTIC_REJECTIONS)


@pytest.mark.parametrize("seq", sorted(ROWS_BY_SEQ))
def test_observed_request_validates_exactly_when_moodle_accepted_it(spec: dict, seq: int) -> None:
    row = ROWS_BY_SEQ[seq]
    fn = row["wsfunction"]
    content_type = row["request"]["headers"].get("Content-Type", "")
    if row["request"]["body"] and not content_type.startswith("application/x-www-form-urlencoded"):
        assert row["category"] == "quirk"  # JSON bodies: Moodle does not read them at all
        return
    params = _request_params(row)
    if fn not in FUNCTIONS:
        # A missing wsfunction fits no operation; other functions are simply not in this spec.
        if "wsfunction" not in params:
            for other in FUNCTIONS:
                assert not _is_valid(spec, _request_schema(spec, other), params), other
        return
    schema = _request_schema(spec, fn)
    data = _coerce(spec, schema, params)
    valid = _is_valid(spec, schema, data)
    is_json, body = _response_json(row)
    if not is_json:
        # Moodle answered XML: the request did not ask for JSON, which this contract requires.
        assert not valid, seq
        without_format = {**data, "moodlewsrestformat": "json"}
        assert _is_valid(spec, schema, without_format), seq
        return
    if seq in SCHEMA_REJECTIONS:
        assert body["errorcode"] == "invalidparameter"
        assert not valid, f"seq {seq} ({SCHEMA_REJECTIONS[seq]}) should not validate"
    else:
        errors = [e.message for e in _validator(spec, schema).iter_errors(data)]
        assert valid, f"seq {seq}: Moodle accepted the parameters but the spec rejects them: {errors}"


def test_get_query_request_is_the_same_contract(spec: dict) -> None:
    """The GET form (row 83) carries the same fields in the query; they validate the same way."""
    row = ROWS_BY_SEQ[83]
    assert row["request"]["method"] == "GET"
    schema = _request_schema(spec, "tool_muprog_source_cohort_get_cohorts")
    assert _is_valid(spec, schema, _coerce(spec, schema, _request_params(row)))


# --------------------------------------------------------------------------------------------
# examples and links


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_examples_come_from_the_traffic_and_validate(spec: dict, fn: str) -> None:
    op = _operation(spec, fn)
    media = op["requestBody"]["content"]["application/x-www-form-urlencoded"]
    schema = media["schema"]
    assert media["examples"], fn
    for name, example in media["examples"].items():
        seq = int(name[3:5])
        assert ROWS_BY_SEQ[seq]["wsfunction"] == fn
        assert _is_valid(spec, schema, example["value"]), name
        assert "wstoken" not in example["value"]  # never a token in the spec
    responses = op["responses"]["200"]["content"]["application/json"]
    assert responses["examples"], fn
    for name, example in responses["examples"].items():
        seq = int(name[3:5])
        assert example["value"] == json.loads(ROWS_BY_SEQ[seq]["response"]["body"]), name
        assert _is_valid(spec, responses["schema"], example["value"]), name


_EXPRESSION = re.compile(r"^\$(response|request)\.body#(/[A-Za-z0-9_]+)+$")


def _expressions(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _expressions(v)
    elif isinstance(value, list):
        for v in value:
            yield from _expressions(v)
    elif isinstance(value, str) and value.startswith("$"):
        yield value


def _pointer_schema(spec: dict, schema: dict, pointer: str) -> dict:
    """The schema at a JSON pointer into an instance of `schema` (fails if the pointer cannot exist)."""
    for token in pointer.strip("/").split("/"):
        s = _flatten(spec, schema)
        if token.isdigit():
            assert s["type"] == "array", pointer
            schema = s["items"]
        else:
            assert token in s["properties"], pointer
            schema = s["properties"][token]
    return _flatten(spec, schema)


def test_links_target_real_operations_and_real_fields(spec: dict) -> None:
    count = 0
    for fn in FUNCTIONS:
        for name, link in _operation(spec, fn)["responses"]["200"].get("links", {}).items():
            count += 1
            target = link["operationId"]
            assert target in FUNCTIONS, name
            body = link["requestBody"]
            assert body["wsfunction"] == target and body["moodlewsrestformat"] == "json", name
            target_props = _request_schema(spec, target)["properties"]
            assert set(body) <= set(target_props), name
            for expression in _expressions(body):
                match = _EXPRESSION.match(expression)
                assert match, expression
                source = (
                    _return_schema(spec, fn) if match.group(1) == "response" else _request_schema(spec, fn)
                )
                pointed = _pointer_schema(spec, source, expression.split("#", 1)[1])
                assert pointed["type"] == "integer", expression  # links carry ids
    assert count >= 10
    create_links = _operation(spec, "core_group_create_groups")["responses"]["200"]["links"]
    assert create_links["AddMemberToCreatedGroup"]["requestBody"]["members"] == [
        {"groupid": "$response.body#/0/id"}
    ]


# --------------------------------------------------------------------------------------------
# the vendor document's curl examples through the codec


def _curl_examples() -> list[tuple[str, list[str]]]:
    """(query string, -d fields) of every curl command in core-group-ws-doc.txt."""
    text = (DATA / "core-group-ws-doc.txt").read_text(encoding="utf-8")
    examples = []
    for block in re.split(r"\n(?=curl )", text)[1:]:
        url = re.match(r'curl "([^"]+)"', block).group(1)
        fields = []
        for line in block.splitlines()[1:]:
            match = re.match(r'^-d "([^"]*)"', line.strip())
            if not match:
                break
            fields.append(match.group(1))
        examples.append((urlsplit(url).query, fields))
    return examples


def test_curl_examples_round_trip_through_the_codec(spec: dict) -> None:
    examples = _curl_examples()
    assert len(examples) == 4
    seen = set()
    for query, fields in examples:
        assert parse_qsl(query) == [("wstoken", "XXXXXXXXXXXXXXX")]
        body = "&".join(fields)  # curl -d joins with & and sends the text as given
        params = codec.decode(body)
        fn = params["wsfunction"]
        seen.add(fn)
        schema = _request_schema(spec, fn)
        # The document leaves out moodlewsrestformat (Moodle would answer XML); the rest is the contract.
        data = _coerce(spec, schema, {**params, "moodlewsrestformat": "json"})
        errors = [e.message for e in _validator(spec, schema).iter_errors(data)]
        assert not errors, (fn, errors)
        function_fields = [f for f in fields if not f.startswith("wsfunction=")]
        function_data = {k: v for k, v in data.items() if k not in SERVER_FIELDS}
        expected = "&".join(
            k + "=" + quote(v, safe="-._~") for k, v in (f.split("=", 1) for f in function_fields)
        )
        assert codec.encode(function_data) == expected
        assert codec.decode(codec.encode(function_data)) == {
            k: v for k, v in params.items() if k != "wsfunction"
        }
    assert seen == set(GROUP)
    assert (
        codec.encode({"members": [{"groupid": 33, "userid": 123}]})
        == "members[0][groupid]=33&members[0][userid]=123"
    )


# --------------------------------------------------------------------------------------------
# null answers: OpenAPI validator, Connexion, schemathesis


NOT_NULL = [[], {}, {"x": 1}, 0, "", False, "null"]


def test_void_result_accepts_only_null_in_the_oas30_validator(spec: dict) -> None:
    for fn in VOID_FUNCTIONS:
        ret = _return_schema(spec, fn)
        assert _is_valid(spec, ret, None)
        for value in NOT_NULL:
            assert not _is_valid(spec, ret, value), (fn, value)
        whole = _response_schema(spec, fn)
        assert _is_valid(spec, whole, None)
        assert not _is_valid(spec, whole, []) and not _is_valid(spec, whole, {"x": 1})


def test_void_result_in_schemathesis(spec: dict) -> None:
    import schemathesis

    schema = schemathesis.openapi.from_dict(copy.deepcopy(spec))
    labels = [result.ok().label for result in schema.get_all_operations()]
    assert len(labels) == len(FUNCTIONS)
    url = "http://127.0.0.1/webservice/rest/server.php"  # never contacted

    def answer(content: bytes) -> schemathesis.Response:
        import requests

        request = requests.Request("POST", url).prepare()
        return schemathesis.Response(
            200, {"content-type": ["application/json"]}, content, request, elapsed=0.0, verify=True
        )

    envelope = json.dumps(
        {
            "exception": "dml_missing_record_exception",
            "errorcode": "invalidrecordunknown",
            "message": "Can't find data record in database.",
        }
    ).encode()
    for fn in VOID_FUNCTIONS:
        op = schema[PATH_PREFIX + fn]["POST"]
        assert op.is_valid_response(answer(b"null")), fn
        assert op.is_valid_response(answer(envelope)), fn
        for bad in (b"[]", b'{"x":1}', b"{}", b"0", b'"null"'):
            assert not op.is_valid_response(answer(bad)), (fn, bad)
    allocations = schema[PATH_PREFIX + "tool_muprog_get_program_allocations"]["POST"]
    assert allocations.is_valid_response(answer(ROWS_BY_SEQ[9]["response"]["body"].encode()))
    assert not allocations.is_valid_response(answer(b"null"))


# Connexion over real HTTP: the fragment-path design needs an ASGI wrapper that picks the operation
# from `wsfunction`, and a form parser that decodes PHP bracket notation. Both are a few lines and
# live here only to prove the spec works with Connexion; the mock has its own.


def _connexion_app(spec: dict):
    import connexion
    from connexion.lifecycle import ConnexionResponse
    from connexion.resolver import Resolver
    from connexion.security import ApiKeySecurityHandler
    from connexion.uri_parsing import OpenAPIURIParser

    class BracketFormParser(OpenAPIURIParser):
        def resolve_form(self, form_data: dict) -> dict:
            pairs = [(key, value) for key, values in form_data.items() for value in values]
            return _coerce(spec, self._body_schema, codec.decode(urlencode(pairs)))

    class EchoResolver(Resolver):
        """Every operation answers the JSON text of the X-Answer header, so tests choose the body."""

        def resolve_function_from_operation_id(self, operation_id: str):
            async def handler(**_kwargs: Any) -> ConnexionResponse:
                from connexion import request

                return ConnexionResponse(
                    status_code=200,
                    content_type="application/json",
                    body=request.headers["x-answer"].encode(),
                )

            return handler

    class AnyQueryToken(ApiKeySecurityHandler):
        """The spec carries no x-apikeyInfoFunc (no implementation hooks); the app supplies one."""

        def _resolve_func(self, security_scheme: dict):
            return lambda token, required_scopes=None: {"sub": "ws"}

    app = connexion.AsyncApp(__name__)
    app.add_api(
        copy.deepcopy(spec),
        resolver=EchoResolver(),
        strict_validation=True,
        validate_responses=True,
        uri_parser_class=BracketFormParser,
        security_map={"apiKey": AnyQueryToken},
    )

    async def wrapper(scope, receive, send):
        """Route server.php to /webservice/rest/server.php#<wsfunction> by the form field."""
        if scope["type"] != "http" or scope["path"] != "/webservice/rest/server.php":
            await app(scope, receive, send)
            return
        chunks, more = [], True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        fields = codec.decode(body) if body else {}
        query = codec.decode(scope.get("query_string", b"").decode())
        function = fields.get("wsfunction", query.get("wsfunction", ""))
        scope = {
            **scope,
            "path": f"/webservice/rest/server.php#{function}",
            "raw_path": f"/webservice/rest/server.php%23{function}".encode(),
        }
        sent = False

        async def replay():
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await app(scope, replay, send)

    return wrapper


@contextmanager
def _serve(app) -> Iterator[str]:
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        assert thread.is_alive(), "uvicorn died"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="module")
def connexion_url(spec: dict) -> Iterator[str]:
    with _serve(_connexion_app(spec)) as url:
        yield url


def _post(url: str, body: str, answer: str, token: str = "t0k") -> httpx.Response:
    return httpx.post(
        f"{url}/webservice/rest/server.php",
        params={"wstoken": token},
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded", "x-answer": answer},
        timeout=10,
    )


def _first_success(fn: str) -> dict:
    for row in ROWS:
        if row["wsfunction"] == fn and row["category"] == "success" and row["request"]["method"] == "POST":
            return row
    raise AssertionError(fn)


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_connexion_accepts_the_real_exchange(connexion_url: str, fn: str) -> None:
    """A real request passes Connexion's strict request validation; the real answer passes its
    response validation; so does a Moodle exception envelope."""
    row = _first_success(fn)
    fields = [(k, v) for k, v in parse_qsl(row["request"]["body"], keep_blank_values=True) if k != "wstoken"]
    body = urlencode(fields)
    response = _post(connexion_url, body, row["response"]["body"])
    assert response.status_code == 200, response.text
    assert response.json() == json.loads(row["response"]["body"])
    envelope = (
        '{"exception":"core\\\\exception\\\\moodle_exception","errorcode":"invalidtoken","message":"x"}'
    )
    response = _post(connexion_url, body, envelope)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("fn", VOID_FUNCTIONS)
def test_connexion_response_validation_of_null(connexion_url: str, fn: str) -> None:
    body = urlencode([(k, v) for k, v in parse_qsl(_first_success(fn)["request"]["body"]) if k != "wstoken"])
    ok = _post(connexion_url, body, "null")
    assert ok.status_code == 200 and ok.content == b"null"
    for bad in ("[]", '{"x": 1}', "{}"):
        response = _post(connexion_url, body, bad)
        assert response.status_code == 500, (bad, response.text)
        assert "does not conform" in response.text


def test_connexion_rejects_what_moodle_rejects_for_schema_reasons(connexion_url: str) -> None:
    for seq in sorted(SCHEMA_REJECTIONS):
        row = ROWS_BY_SEQ[seq]
        fields = [
            (k, v) for k, v in parse_qsl(row["request"]["body"], keep_blank_values=True) if k != "wstoken"
        ]
        response = _post(connexion_url, urlencode(fields), "null")
        assert response.status_code == 400, (seq, SCHEMA_REJECTIONS[seq], response.text)


# --------------------------------------------------------------------------------------------
# what schemathesis generates survives the wire


def _prune(value: Any) -> Any:
    """What survives `codec.encode`: no None, no empty list or mapping, booleans as 1/0."""
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v is not None and v != [] and v != {}}
    if isinstance(value, list):
        pruned = [_prune(v) for v in value]
        return [v for v in pruned if v is not None and v != [] and v != {}]
    if isinstance(value, bool):
        return int(value)
    return value


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_generated_requests_round_trip_through_the_codec(spec: dict, fn: str) -> None:
    """Positive cases schemathesis draws from the spec, encoded with the codec and decoded the way
    the server reads them, are still valid for the spec and carry the same data."""
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings

    operation = schemathesis.openapi.from_dict(copy.deepcopy(spec))[PATH_PREFIX + fn]["POST"]
    schema = _request_schema(spec, fn)
    seen = []

    @settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(operation.as_strategy())
    def check(case: Any) -> None:
        wire = codec.encode(case.body)
        back = _coerce(spec, schema, codec.decode(wire))
        assert back == _prune(case.body), wire
        assert _is_valid(spec, schema, back), wire
        seen.append(wire)

    check()
    assert len(seen) >= 10
    assert all(f"wsfunction={fn}" in wire for wire in seen)


def test_observed_bodies_survive_the_codec() -> None:
    """Every recorded form body, decoded and re-encoded, reads back the same, empty values included
    (seq 33 sends `groups[1][description]=`, a required value that must not vanish)."""
    for row in ROWS:
        body = row["request"]["body"]
        if not body or not row["request"]["headers"].get("Content-Type", "").startswith("application/x-www"):
            continue
        decoded = codec.decode(body)
        assert codec.decode(codec.encode(decoded)) == decoded, row["seq"]
    assert (
        codec.decode(codec.encode(codec.decode(ROWS_BY_SEQ[33]["request"]["body"])))["groups"][1][
            "description"
        ]
        == ""
    )
