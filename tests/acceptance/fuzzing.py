"""Running schemathesis' engine (what `st run` runs) against the mock from inside pytest.

Moodle web services answer everything with HTTP 200, and their bodies are PHP bracket notation, so
for the moodle-ws spec this module supplies what schemathesis cannot know:

* a form serializer built on `nexsis_openapi.codec.encode` that puts the control fields
  (`wsfunction` from the operation, `moodlewsrestformat=json`, `wstoken`) into every body; for the
  NexSIS spec it defers to the serializer that was registered before (schemathesis' own);
* `ws_envelope_semantics`, a check that replaces the status-based checks for WS operations: a
  request that is invalid *as sent on the wire* must get a Moodle exception envelope, and a request
  without a valid token must get `invalidtoken`.

Registrations are global in schemathesis, so `installed()` adds them for one run and restores what
was there before: other suites in the same pytest process are not affected.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from openapi_schema_validator import OAS30Validator
from schemathesis.checks import CHECKS
from schemathesis.engine import Status, events
from schemathesis.transport.asgi import ASGI_TRANSPORT
from schemathesis.transport.requests import REQUESTS_TRANSPORT
from schemathesis.transport.wsgi import WSGI_TRANSPORT

from nexsis_openapi import codec, load_spec, spec_path
from tests.moodle_refusals import refused_by_moodle_too

from .spec_check import registry as spec_registry

FORM = "application/x-www-form-urlencoded"
WS_PATH = "/webservice/rest/server.php"
_TRANSPORTS = (REQUESTS_TRANSPORT, ASGI_TRANSPORT, WSGI_TRANSPORT)
_INT = re.compile(r"^-?(0|[1-9][0-9]*)$")
_NUM = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


def _is_ws(operation: Any) -> bool:
    return operation.path.startswith(WS_PATH)


def _operation_id(operation: Any) -> str:
    return operation.definition.raw["operationId"]


# ---- wire validity -------------------------------------------------------------------------


def _deref(spec: dict[str, Any], schema: Any) -> Any:
    while isinstance(schema, dict) and "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"][2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        schema = node
    return schema


def _coerce(spec: dict[str, Any], value: Any, schema: Any) -> Any:
    """Read a decoded form value the way Moodle's PARAM cleaning would, guided by the schema."""
    schema = _deref(spec, schema)
    if not isinstance(schema, dict):
        return value
    for key in ("anyOf", "oneOf"):
        if key in schema:
            for sub in schema[key]:
                candidate = _coerce(spec, value, sub)
                if candidate is not value:
                    return candidate
            return value
    for sub in schema.get("allOf", []):
        value = _coerce(spec, value, sub)
    kind = schema.get("type")
    if isinstance(value, str):
        if kind == "integer" and _INT.match(value):
            return int(value)
        if kind == "number" and _NUM.match(value):
            return float(value)
        if kind == "boolean" and value in ("0", "1"):
            return value == "1"
        return value
    if isinstance(value, dict) and (kind == "object" or "properties" in schema):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        return {
            k: _coerce(spec, v, props.get(k, extra if isinstance(extra, dict) else {}))
            for k, v in value.items()
        }
    if isinstance(value, list) and kind == "array":
        return [_coerce(spec, v, schema.get("items", {})) for v in value]
    return value


def ws_body_is_valid_on_the_wire(operation_id: str, raw_body: bytes | str | None) -> bool:
    """Whether the form body as sent is a valid call of the function, per the spec."""
    spec = load_spec("moodle-ws")
    path = f"{WS_PATH}#{operation_id}"
    request_body = spec["paths"][path]["post"]["requestBody"]
    assert "$ref" not in request_body, "request bodies are inline in moodle-ws.yaml"
    schema = request_body["content"][FORM]["schema"]
    try:
        decoded = codec.decode(raw_body or b"")
    except codec.CodecError:
        return False
    pointer = (
        "urn:moodle-ws-spec#/paths/"
        + path.replace("~", "~0").replace("/", "~1")
        + "/post/requestBody/content/"
        + FORM.replace("/", "~1")
        + "/schema"
    )
    return OAS30Validator({"$ref": pointer}, registry=spec_registry()).is_valid(
        _coerce(spec, decoded, schema)
    )


# ---- the serializer and the check ----------------------------------------------------------


@dataclass
class WsControl:
    token: str
    previous: dict[int, Any] = field(default_factory=dict)


_ACTIVE: WsControl | None = None


def _form_serializer(ctx: schemathesis.SerializationContext, value: Any) -> bytes | None:
    case = ctx.case
    if not _is_ws(case.operation):
        previous = _ACTIVE.previous.get(id(REQUESTS_TRANSPORT)) if _ACTIVE else None
        if previous is not None:
            return previous(ctx, value).get("data")
        return codec.encode(value).encode() if isinstance(value, dict) else str(value).encode()
    # The token travels in the query (schemathesis' auth for the `wstoken` scheme), so a
    # generated body `wstoken` is dropped: it would only ever be a random, invalid token.
    control = {"wsfunction": _operation_id(case.operation), "moodlewsrestformat": "json"}
    if isinstance(value, dict):
        params = {k: v for k, v in value.items() if k not in (*control, "wstoken")}
        body = codec.encode(control) + ("&" + codec.encode(params) if params else "")
    else:  # a negative case may make the whole body a non-object: send it after the control fields
        body = codec.encode(control) + ("&" + str(value) if value not in (None, "") else "")
    return body.encode()


def _sent_token(response: Any) -> str | None:
    """The wstoken the request carried (body first, then query, as Moodle reads it)."""
    request = response.request
    try:
        body = codec.decode(request.body or b"")
    except codec.CodecError:
        body = {}
    token = body.get("wstoken") if isinstance(body, dict) else None
    if token is None:
        query = codec.decode(request.url.split("?", 1)[1].split("#", 1)[0]) if "?" in request.url else {}
        token = query.get("wstoken") if isinstance(query, dict) else None
    return token if isinstance(token, str) else None


def ws_envelope_semantics(ctx: Any, response: Any, case: Any) -> bool | None:
    """HTTP-200 envelopes: invalid-on-the-wire input must be refused with an exception body."""
    if not _is_ws(case.operation):
        return None
    assert response.status_code == 200, f"Moodle answers every call with HTTP 200, got {response.status_code}"
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(f"not JSON: {response.text[:200]!r}") from None
    is_error = isinstance(body, dict) and "exception" in body and "errorcode" in body
    valid_token = _sent_token(response) == _ACTIVE.token if _ACTIVE else True
    if valid_token:
        assert not (is_error and body["errorcode"] == "invalidtoken"), f"a valid token was refused: {body}"
    else:
        assert is_error and body["errorcode"] == "invalidtoken", (
            f"no valid token, yet answered {str(body)[:300]}"
        )
    sent = response.request.body
    if case.meta is not None and case.meta.generation.mode.is_negative and not is_error:
        assert ws_body_is_valid_on_the_wire(_operation_id(case.operation), sent), (
            f"input invalid on the wire was accepted: body {sent!r} -> {str(body)[:300]}"
        )
    return None


@contextlib.contextmanager
def installed(ws_token: str) -> Iterator[WsControl]:
    """Register the form serializer and the envelope check for one run, then restore."""
    global _ACTIVE
    control = WsControl(ws_token, previous={id(t): t._serializers.get(FORM) for t in _TRANSPORTS})
    had_check = "ws_envelope_semantics" in CHECKS.get_all_names()
    _ACTIVE = control
    schemathesis.serializer(FORM)(_form_serializer)
    schemathesis.hook(before_call)
    if not had_check:
        schemathesis.check(ws_envelope_semantics)
    try:
        yield control
    finally:
        _ACTIVE = None
        schemathesis.hooks.unregister(before_call)
        for transport in _TRANSPORTS:
            old = control.previous.get(id(transport))
            if old is None:
                transport.unregister_serializer(FORM)
            else:
                transport._serializers[FORM] = old
        if not had_check:
            CHECKS.unregister("ws_envelope_semantics")


def _valid_form_on_the_wire(case: Any) -> bool:
    """A NexSIS form body that schemathesis generated as a non-object ("AAA") is still an object
    on the wire: `AAA` decodes to `{"AAA": ""}`, an unknown field, which the spec does not forbid.
    Such a "schema-violating" case is valid as sent, and accepting it is correct."""
    if _is_ws(case.operation) or case.media_type != FORM or isinstance(case.body, dict):
        return False
    try:
        decoded = codec.decode(str(case.body) if case.body is not None else "")
    except codec.CodecError:
        return False
    return isinstance(decoded, dict)


#: Refusals of schema-valid data that a real site makes too and no schema can say (the spec knows
#: no records), or that the mock documents for both APIs (mock/README.md, refused inputs).
def _refused_like_moodle(interaction: Any) -> bool:
    response = getattr(interaction, "response", None)
    if response is None or response.status_code != 400:
        return False
    return refused_by_moodle_too(response.content or b"")


# ---- running the engine --------------------------------------------------------------------

#: Checks that read HTTP statuses, meaningless where every answer is 200 (replaced, for the WS
#: spec, by `ws_envelope_semantics`). `unsupported_method` too: Moodle serves server.php on GET
#: as well (recorded pair #83), so a 405 is not what a real site answers.
WS_STATUS_CHECKS = (
    "negative_data_rejection",
    "positive_data_acceptance",
    "ignored_auth",
    "unsupported_method",
    "missing_required_header",
)


#: NexSIS PUTs that create a record when the id is new (and then need its naming fields).
CREATE_OR_UPDATE = ("putUser", "putCourse", "putCourseGroup")


def build_schema(api: str, base_url: str, token: str, *, phases: list[str], max_examples: int) -> Any:
    """A schema for one spec with the run's config (what `schemathesis.toml` would hold)."""
    operations: list[dict[str, Any]] = []
    if api == "nexsis":
        checks: dict[str, Any] = {}
        # PUT creates or updates, so no body field can be required by the spec (an update may send
        # one field); a *create* without a username/shortname/name is refused by any correct
        # deployment. A 400 on these PUTs is therefore an acceptable answer to "valid" data.
        operations.append({
            "include-operation-id": list(CREATE_OR_UPDATE),
            "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "401", "403", "404",
                                                                          "409", "429"]}},
        })
        auth = {"bearerAuth": {"bearer": token}}
        base = base_url + load_spec("nexsis")["servers"][0]["url"]
    else:
        checks = {name: {"enabled": False} for name in WS_STATUS_CHECKS}
        auth = {"wstoken": {"api_key": token}}
        base = base_url
    config = schemathesis.Config.from_dict(
        {
            "base-url": base,
            "seed": 20260101,
            "generation": {"mode": "all", "max-examples": max_examples, "database": "none"},
            "phases": {
                name: {"enabled": name in phases} for name in ("examples", "coverage", "fuzzing", "stateful")
            },
            "checks": checks,
            "operations": operations,
            "auth": {"openapi": auth},
            "request-timeout": 30,
        }
    )
    return schemathesis.openapi.from_path(spec_path(api), config=config)


def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Moodle picks the answer format from `moodlewsrestformat` (XML without it); in the query it
    holds even for a case whose body is missing or not a form."""
    if _is_ws(case.operation):
        case.query = {**(case.query or {}), "moodlewsrestformat": "json"}


@dataclass
class RunResult:
    failures: list[str]
    errors: list[str]
    cases: int
    operations: set[str]
    stop_reason: str


def run(schema: Any) -> RunResult:
    failures: list[str] = []
    errors: list[str] = []
    seen: set[tuple[str, str]] = set()
    operations: set[str] = set()
    cases = 0
    stop = ""
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            cases += len(recorder.cases)
            operations.add(recorder.label)
            for case_id, checks in recorder.checks.items():
                for check in checks:
                    if check.status != Status.FAILURE or check.failure_info is None:
                        continue
                    failure = check.failure_info.failure
                    node = recorder.cases.get(case_id)
                    wire_valid = node is not None and _valid_form_on_the_wire(node.value)
                    if check.name == "negative_data_rejection" and wire_valid:
                        continue
                    interaction = recorder.interactions.get(case_id)
                    if check.name == "positive_data_acceptance" and _refused_like_moodle(interaction):
                        continue
                    key = (check.name, f"{failure.operation}:{failure.title}")
                    if key in seen:
                        continue
                    seen.add(key)
                    answer = ""
                    if interaction is not None and interaction.response is not None:
                        answer = (
                            f"\n  -> {interaction.response.status_code} "
                            f"{interaction.response.content[:300]!r}"
                        )
                    failures.append(
                        f"[{check.name}] {failure.operation}: {failure.title}: "
                        f"{str(failure.message)[:400]}\n  {check.failure_info.code_sample[:600]}"
                        f"{answer}"
                    )
        elif isinstance(event, events.NonFatalError):
            errors.append(f"{event.label}: {event.info.format()[:600]}")
        elif isinstance(event, events.FatalError):
            raise event.exception
        elif isinstance(event, events.EngineFinished):
            stop = str(event.stop_reason)
    return RunResult(failures, errors, cases, operations, stop)
