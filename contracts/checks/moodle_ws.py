"""Checks for Moodle web-service operations, where every answer is HTTP 200.

Status-based built-ins (negative_data_rejection, ignored_auth, positive/negative status
expectations) cannot tell a rejection from a success here; these checks read the exception envelope
instead. They say nothing about NexSIS cases.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis import Case, CheckContext, Response

from nexsis_contracts.checks.common import (
    is_effectively_negative,
    is_envelope,
    is_ws,
    json_body,
    resolver,
    ws_function,
)
from nexsis_contracts.wire import WS_CONTROL_FIELDS, _openapi_to_jsonschema


@schemathesis.check
def ws_exception_envelope(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """An error must be Moodle's envelope: HTTP 200, string `exception`/`message`, an `errorcode` key."""
    if not is_ws(case):
        return None
    parsed, body = json_body(response)
    if (
        response.status_code >= 500
        and parsed
        and isinstance(body, dict)
        and ("exception" in body or "errorcode" in body)
    ):
        raise AssertionError(
            f"Moodle exception sent with HTTP {response.status_code}; Moodle answers every "
            f"web-service error with HTTP 200 (errorcode {body.get('errorcode')!r})"
        )
    if not parsed or not isinstance(body, dict) or not ({"exception", "errorcode"} & set(body)):
        return None
    problems = []
    for key in ("exception", "message"):
        if not isinstance(body.get(key), str):
            problems.append(f"`{key}` is {'missing' if key not in body else type(body[key]).__name__}")
    if "errorcode" not in body:
        problems.append("`errorcode` is missing (clients branch on it)")
    elif body["errorcode"] is not None and not isinstance(body["errorcode"], str):
        problems.append(f"`errorcode` is {type(body['errorcode']).__name__}, not a string")
    if "debuginfo" in body and body["debuginfo"] is not None and not isinstance(body["debuginfo"], str):
        problems.append("`debuginfo` is not a string")
    if problems:
        raise AssertionError("Malformed Moodle exception envelope: " + "; ".join(problems))
    if response.status_code != 200:
        raise AssertionError(f"Moodle exception envelope sent with HTTP {response.status_code}, not 200")
    return True


def _success_schema(case: Case) -> dict[str, Any] | None:
    """The function's own result schema: the 200 union without its MoodleException branch."""
    resolve = resolver(case)
    responses = case.operation.definition.raw.get("responses", {})
    ok = responses.get("200") or {}
    if "$ref" in ok:
        ok = resolve(ok["$ref"])
    schema = ((ok.get("content") or {}).get("application/json") or {}).get("schema")
    if schema is None:
        return None
    if "$ref" in schema:
        schema = resolve(schema["$ref"])
    branches = schema.get("anyOf") or schema.get("oneOf")
    if not branches:
        return schema
    kept = [b for b in branches if not str(b.get("$ref", "")).endswith("/MoodleException")]
    if len(kept) == len(branches):
        return schema
    return kept[0] if len(kept) == 1 else {"anyOf": kept}


class _ResultValidator:
    """jsonschema's Draft 4 validator behind a compiled (Rust) validity check that only accepts.

    Walking a 50-allocation answer in jsonschema costs ~0.5 ms; ``jsonschema_rs`` answers "valid?"
    in microseconds. When it says no (or cannot compile or convert), jsonschema decides, so every
    failure and its message are jsonschema's (the same scheme as the mock's request validation).
    """

    def __init__(self, schema: dict[str, Any]) -> None:
        import jsonschema

        self.schema = schema
        self.slow = jsonschema.Draft4Validator(schema)
        try:
            import jsonschema_rs

            self.fast: Any = jsonschema_rs.Draft4Validator(schema, validate_formats=False)
        except Exception:  # a schema it cannot compile: jsonschema alone
            self.fast = None

    def is_valid(self, instance: Any) -> bool:
        if self.fast is not None:
            try:
                if self.fast.is_valid(instance):
                    return True
            except Exception:  # a value it cannot convert (huge int, lone surrogate)
                pass
        return bool(self.slow.is_valid(instance))

    def iter_errors(self, instance: Any) -> Any:
        return self.slow.iter_errors(instance)


#: Compiled result validators by operation definition (`nexsis proxy` judges thousands of answers
#: a second; converting and compiling the schema each time cost more than validating).
_VALIDATORS: dict[int, tuple[Any, Any]] = {}


def result_validator(case: Case) -> Any:
    """The Draft 4 validator of the called function's result schema (None: the spec gives none)."""
    raw = case.operation.definition.raw
    cached = _VALIDATORS.get(id(raw))
    if cached is not None and cached[0] is raw:
        return cached[1]
    schema = _success_schema(case)
    validator = None
    if schema is not None:
        validator = _ResultValidator(_openapi_to_jsonschema(schema, resolver(case)))
    if len(_VALIDATORS) > 1024:
        _VALIDATORS.clear()
    _VALIDATORS[id(raw)] = (raw, validator)  # the definition kept alive: its id is not reused
    return validator


@schemathesis.check
def ws_result_matches_function(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """A success body must match the result schema of the function that was called, not any function's."""
    if not is_ws(case) or response.status_code != 200:
        return None
    parsed, body = json_body(response)
    if not parsed or is_envelope(body):
        return None
    validator = result_validator(case)
    if validator is None or validator.is_valid(body):
        return True if validator is not None else None
    import jsonschema

    error = jsonschema.exceptions.best_match(validator.iter_errors(body))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise AssertionError(
            f"Result of {ws_function(case)} does not match its return schema at {where}: {error.message}"
        )
    return True


@schemathesis.check
def ws_negative_data_rejection(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Invalid parameters (as they arrive on the wire) must come back as an exception envelope."""
    if not is_ws(case) or not is_effectively_negative(case, response, control=WS_CONTROL_FIELDS):
        return None
    parsed, body = json_body(response)
    if response.status_code == 200 and parsed and is_envelope(body):
        return True
    if response.status_code >= 500:
        return None  # not_a_server_error / ws_exception_envelope report this
    raise AssertionError(
        f"Invalid parameters for {ws_function(case)} were accepted: HTTP {response.status_code} with a "
        "result instead of an exception envelope (expected errorcode invalidparameter or similar)"
    )
