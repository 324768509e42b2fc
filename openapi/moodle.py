"""Moodle's web-service wire facts, in one place: the mock and the suite both read them here.

What a client of ``server.php`` must know beyond the OpenAPI document, or what the document states
in a form code cannot use directly: the server path, the fields the server itself reads
(``wstoken``, ``wsfunction``, ``moodlewsrestformat`` and the ``moodlewssetting*`` settings), the
exception envelopes of the server's own refusals with their error codes, and each function's
parameter description in the shape of Moodle's ``external_description`` (derived from
``moodle-ws.yaml``; ``tests/test_moodle_facts.py`` checks it against the description dumped from a
real site, ``tests/data/moodle-ws-signatures.json``, and checks the constants against the spec).
"""

from __future__ import annotations

import functools
import typing as t

from nexsis_openapi import load_spec

__all__ = [
    "ACCESS_EXCEPTION",
    "CODING_ERROR",
    "ENVELOPE_KEYS",
    "IDNUMBER_TAKEN",
    "INVALID_PARAMETER",
    "INVALID_RECORD",
    "INVALID_TOKEN",
    "RESERVED_FIELDS",
    "REST_FORMATS",
    "SERVER_FIELDS",
    "SETTINGS",
    "WS_PATH",
    "FunctionInfo",
    "function_info",
    "functions",
    "is_exception",
    "signature",
    "site_versions",
]

#: The REST server script; the spec's per-function paths are ``WS_PATH#<wsfunction>``.
WS_PATH = "/webservice/rest/server.php"

#: Fields the REST server takes out of the merged query and body before the function sees them.
SERVER_FIELDS = ("wstoken", "wsfunction", "moodlewsrestformat")
#: Settings ``webservice_server::set_web_service_call_settings()`` reads (``optional_param``: any
#: value is cleaned, never refused) and removes; accepted next to every function's parameters,
#: in the body or the query (tests/data/moodle-ws-facts.md, "Settings parameters").
SETTINGS = ("moodlewssettingraw", "moodlewssettingfileurl", "moodlewssettingfilter",
            "moodlewssettinglang", "moodlewssettingtimezone")
#: Every field that is not a function parameter. Any other unknown field is ``invalidparameter``.
RESERVED_FIELDS = frozenset(SERVER_FIELDS + SETTINGS)
#: ``moodlewsrestformat`` values; anything else (or nothing) means XML.
REST_FORMATS = ("json", "xml")

#: Members of the exception envelope, in Moodle's order (``debuginfo`` only with debugging on).
ENVELOPE_KEYS = ("exception", "errorcode", "message", "debuginfo")

#: Envelopes exactly as a Moodle 5.0 site without debugging sends them (moodle-ws-observed.jsonl).
INVALID_TOKEN: t.Final = {"exception": "core\\exception\\moodle_exception", "errorcode": "invalidtoken",
                          "message": "Invalid token - token not found"}
INVALID_PARAMETER: t.Final = {"exception": "core\\exception\\invalid_parameter_exception",
                              "errorcode": "invalidparameter",
                              "message": "Invalid parameter value detected"}
INVALID_RECORD: t.Final = {"exception": "dml_missing_record_exception", "errorcode": "invalidrecordunknown",
                           "message": "Can't find data record in database."}
ACCESS_EXCEPTION: t.Final = {"exception": "webservice_access_exception", "errorcode": "accessexception",
                             "message": "Access control exception"}
#: ``groups_create_group``'s refusal of an idnumber another group of the course has (moodle-ws-facts.md,
#: "Group answers"); the text is lang/en/error.php's ``idnumbertaken`` string.
IDNUMBER_TAKEN: t.Final = {"exception": "core\\exception\\moodle_exception", "errorcode": "idnumbertaken",
                           "message": "This ID number is already in use"}
#: What Moodle answers when the function itself fails unexpectedly (a bug, here: of the mock).
CODING_ERROR: t.Final = {"exception": "coding_exception", "errorcode": "codingerror",
                         "message": "Coding error detected, it must be fixed by a programmer"}


def is_exception(body: t.Any) -> bool:
    """True for Moodle's exception envelope (the shape ``generate_error`` writes)."""
    return isinstance(body, dict) and "exception" in body and "message" in body


class FunctionInfo(t.NamedTuple):
    """A function's ``external_functions`` record, as far as a client can observe it."""

    name: str
    component: str
    type: str
    capabilities: tuple[str, ...]
    version: str


def _operations() -> dict[str, dict[str, t.Any]]:
    spec = load_spec("moodle-ws")
    out = {}
    for path, item in spec["paths"].items():
        function = path.partition("#")[2]
        if function:
            out[function] = item["post"]
    return out


@functools.cache
def functions() -> tuple[str, ...]:
    """The functions the spec describes, in its order."""
    return tuple(_operations())


@functools.cache
def function_info(function: str) -> FunctionInfo:
    """Component, type, capabilities and version (the plugin's, or Moodle's for core functions)."""
    info = load_spec("moodle-ws")["info"]
    op = _operations()[function]
    component = op.get("x-moodle-component", "core")
    plugin_version = info.get(f"x-{component.replace('_', '-')}-version")
    return FunctionInfo(function, component, op.get("x-moodle-type", "read"),
                        tuple(op.get("x-moodle-capabilities") or ()),
                        str(plugin_version or info["x-moodle-version"]))


def _resolve(schema: dict[str, t.Any]) -> dict[str, t.Any]:
    """Follow ``$ref`` and merge ``allOf`` so the description sees one plain schema."""
    components = load_spec("moodle-ws")["components"]["schemas"]
    while "$ref" in schema:
        schema = {**components[schema["$ref"].rsplit("/", 1)[1]],
                  **{k: v for k, v in schema.items() if k != "$ref"}}
    if "allOf" in schema:
        merged = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            for key, value in _resolve(part).items():
                if key == "properties":
                    merged["properties"] = {**value, **merged.get("properties", {})}
                elif key == "required":
                    merged["required"] = [*merged.get("required", []), *value]
                else:
                    merged.setdefault(key, value)
        schema = merged
    return schema


def _description(schema: dict[str, t.Any], required: str, has_default: bool = False,
                 default: t.Any = None) -> dict[str, t.Any]:
    schema = _resolve(schema)
    kind = schema.get("type")
    out: dict[str, t.Any]
    if kind == "array":
        out = {"kind": "multiple", "content": _description(schema.get("items") or {}, "required")}
    elif kind == "object":
        out = {"kind": "single", "keys": _keys(schema)}
    else:
        out = {"kind": "value", "param": schema.get("x-moodle-param", "PARAM_RAW"), "allownull": True}
    out["required"] = required
    if has_default:
        out["default"] = default
    return out


def _keys(schema: dict[str, t.Any], skip: frozenset[str] = frozenset()) -> dict[str, dict[str, t.Any]]:
    required = set(schema.get("required") or ())
    keys = {}
    for name, sub in (schema.get("properties") or {}).items():
        if name in skip:
            continue
        if name in required:
            keys[name] = _description(sub, "required")
        elif "x-moodle-default" in sub:
            keys[name] = _description(sub, "default", True, sub["x-moodle-default"])
        else:
            keys[name] = _description(sub, "optional")
    return keys


@functools.cache
def signature(function: str) -> dict[str, t.Any]:
    """The function's parameters as Moodle's ``external_function_parameters`` describes them.

    ``{"kind": "function_parameters", "keys": {name: description}}``; a description is
    ``{"kind": "value", "param": "PARAM_INT", "allownull": True, "required": ...}``,
    ``{"kind": "multiple", "content": description, ...}`` or ``{"kind": "single", "keys": ...}``,
    ``required`` one of ``required``, ``default`` (with ``default``: Moodle's raw default) or
    ``optional``. Raises ``KeyError`` for a function the spec does not describe. Shared: do not
    change it.
    """
    body = _operations()[function]["requestBody"]["content"]["application/x-www-form-urlencoded"]
    keys = _keys(_resolve(body["schema"]), RESERVED_FIELDS)
    return {"kind": "function_parameters", "keys": keys, "required": "required"}


@functools.cache
def site_versions() -> tuple[str, str]:
    """Moodle's (release, version) that the spec was taken from (``core_webservice_get_site_info``)."""
    info = load_spec("moodle-ws")["info"]
    return str(info["x-moodle-release"]), str(info["x-moodle-version"])
