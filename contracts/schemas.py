"""Loading the specs into schemathesis, pointed at the target through the guarded transport.

The form serializer lives here: it writes PHP bracket notation with nexsis_openapi.codec (the
built-in one cannot encode nested objects) and, for Moodle WS operations, injects `wsfunction` and
`moodlewsrestformat` from the operation rather than trusting generated values, and drops a generated
`wstoken` (the token is the run's to place).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from nexsis_contracts.catalog import Catalog
from nexsis_contracts.config import Settings
from nexsis_contracts.transport import GuardedSession, guarded_schema
from nexsis_openapi import codec, load_spec
from nexsis_openapi.moodle import SERVER_FIELDS, WS_PATH

FORM = "application/x-www-form-urlencoded"
WS_PREFIX = WS_PATH + "#"


def encode_form(case: Any, value: Any) -> bytes:
    """Serialize a generated form body as PHP bracket notation (WS control fields injected)."""
    is_ws = case.path.startswith(WS_PREFIX)
    if isinstance(value, Mapping):
        data = dict(value)
    elif is_ws or value is None:
        data = {}
    else:
        # An out-of-spec scalar/array body (negative mode): send its text so the server sees it.
        from schemathesis.core.transforms import to_wire_text

        return to_wire_text(value).encode("utf-8")
    if is_ws:
        for name in SERVER_FIELDS:
            data.pop(name, None)
        data = {"wsfunction": case.path[len(WS_PREFIX) :], "moodlewsrestformat": "json", **data}
    return codec.encode(data).encode("utf-8")


def load_schema(api: str, settings: Settings, session: GuardedSession) -> Any:
    """A schemathesis schema for one spec, with its base URL joined onto the target's site root."""
    import schemathesis

    raw = copy.deepcopy(load_spec(api))
    server = ((raw.get("servers") or [{"url": "/"}])[0].get("url") or "/").rstrip("/")
    raw["servers"] = [{"url": server or "/"}]
    schema: Any = schemathesis.openapi.from_dict(raw)
    schema.config.update(base_url=settings.target(api) + server)
    schema = guarded_schema(schema, session)

    def serializer(ctx: Any, value: Any) -> dict[str, bytes]:
        return {"data": encode_form(ctx.case, value)}

    schema.transport.serializer(FORM)(serializer)
    return schema


def selected_operations(schema: Any, api: str, settings: Settings, catalog: Catalog) -> list[tuple[Any, Any]]:
    """(schemathesis operation, catalog info) pairs the run's filters select, in spec order."""
    out = []
    for result in schema.get_all_operations():
        operation = result.ok()
        info = catalog.find(api, operation.definition.raw.get("operationId", ""))
        if info is not None and info.matches(settings.operations):
            out.append((operation, info))
    return out
