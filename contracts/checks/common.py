"""Small helpers shared by the check modules: which API a case belongs to, and its spec schemas."""

from __future__ import annotations

import json
from typing import Any

from schemathesis import Case, Response

from nexsis_openapi.moodle import WS_PATH

WS_PREFIX = WS_PATH + "#"


def is_ws(case: Case) -> bool:
    return case.path.startswith(WS_PREFIX)


def ws_function(case: Case) -> str:
    return case.path[len(WS_PREFIX) :]


def json_body(response: Response) -> tuple[bool, Any]:
    """(parsed, value): a body that is not JSON is reported by content checks, not here."""
    try:
        return True, json.loads(response.content or b"")
    except ValueError:
        return False, None


def is_envelope(value: Any) -> bool:
    """Moodle's exception envelope is recognised by its `exception` member, as Moodle's clients do."""
    return isinstance(value, dict) and "exception" in value


def resolver(case: Case):
    """A `$ref` resolver over the raw spec of the case's schema."""
    raw = case.operation.schema.raw_schema

    def resolve(ref: str) -> Any:
        node: Any = raw
        for part in ref.lstrip("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    return resolve


def request_body_schema(case: Case, media_type: str) -> dict[str, Any] | None:
    resolve = resolver(case)
    body = case.operation.definition.raw.get("requestBody")
    if not body:
        return None
    if "$ref" in body:
        body = resolve(body["$ref"])
    content = body.get("content", {}).get(media_type)
    if not content or "schema" not in content:
        return None
    schema = content["schema"]
    return resolve(schema["$ref"]) if "$ref" in schema else schema


def sent_body(response: Response) -> bytes:
    body = response.request.body
    if body is None:
        return b""
    return body if isinstance(body, bytes) else str(body).encode()


def is_effectively_negative(case: Case, response: Response, control: tuple[str, ...] = ()) -> bool:
    """Whether the request as sent (not as generated) is invalid for the operation.

    Only body negativity of form bodies is re-judged from the wire; a case negative in another
    location is trusted, except that schemathesis' own exemptions for those locations still apply
    through the built-in check it complements.
    """
    from schemathesis.core.parameters import ParameterLocation

    from nexsis_contracts.wire import form_is_valid_on_wire

    meta = case.meta
    if meta is None or not meta.generation.mode.is_negative:
        return False
    other = [
        loc
        for loc, comp in meta.components.items()
        if comp.mode.is_negative and loc != ParameterLocation.BODY
    ]
    if other:
        return False  # judged by schemathesis' negative_data_rejection, which knows those locations
    media = case.media_type or ""
    if "x-www-form-urlencoded" not in media:
        return False
    schema = request_body_schema(case, media)
    if schema is None:
        return False
    return not form_is_valid_on_wire(sent_body(response), schema, resolver(case), ignore=control)


def nexsis_request_valid_on_wire(case: Case, response: Response) -> bool:
    """Whether the NexSIS request as sent satisfies the operation's schemas (PHP-style reading).

    Path values are read back from the URL, unknown query names are ignored (PHP ignores them),
    known query values and form bodies are coerced from strings, JSON bodies are taken as sent.
    schemathesis' negative_data_rejection is only asked when this is False: some path mutations
    (non-string values, characters the URL quoting normalises) are valid again once on the wire.
    """
    from urllib.parse import parse_qs, unquote, urlsplit

    from nexsis_contracts.wire import _best, _openapi_to_jsonschema, _valid, form_is_valid_on_wire

    resolve = resolver(case)
    raw = case.operation.definition.raw
    params = [resolve(p["$ref"]) if "$ref" in p else p for p in raw.get("parameters", [])]
    url = urlsplit(str(response.request.url))
    server = (case.operation.schema.raw_schema.get("servers") or [{"url": ""}])[0]["url"].rstrip("/")
    import re

    pattern = re.escape(case.path)
    names = re.findall(r"{([^}]+)}", case.path)
    for name in names:
        pattern = pattern.replace(re.escape("{" + name + "}"), f"(?P<{name}>[^/]*)")
    match = re.fullmatch(".*" + re.escape(server) + pattern + "/?", url.path)
    if match is None:
        return False  # the request left the operation's route: it is not this operation's input
    query = parse_qs(url.query, keep_blank_values=True)
    for p in params:
        schema = _openapi_to_jsonschema(p.get("schema", {}), resolve)
        if p.get("in") == "path":
            segment = unquote(match.group(p["name"]))
            if not _valid(_best(segment, schema, None), schema, None):
                return False
        elif p.get("in") == "query":
            values = query.get(p["name"])
            if values is None:
                if p.get("required"):
                    return False
                continue
            value = values if schema.get("type") == "array" else values[-1]
            if not _valid(_best(value, schema, None), schema, None):
                return False
    media = (response.request.headers.get("Content-Type") or "").split(";")[0].strip()
    body = sent_body(response)
    schema = request_body_schema(case, media) if media else None
    if schema is None:
        return not body or raw.get("requestBody") is None or _body_optional(case)
    if "x-www-form-urlencoded" in media:
        return form_is_valid_on_wire(body, schema, resolve)
    try:
        data = json.loads(body) if body else None
    except ValueError:
        return False
    if data is None and not body:
        return _body_optional(case)
    return _valid(data, _openapi_to_jsonschema(schema, resolve), None)


def _body_optional(case: Case) -> bool:
    body = case.operation.definition.raw.get("requestBody") or {}
    if "$ref" in body:
        body = resolver(case)(body["$ref"])
    return not body.get("required", False)
