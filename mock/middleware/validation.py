"""Connexion plug-ins that make request validation read the wire the way PHP does.

Connexion's defaults parse form bodies with Starlette (no PHP bracket notation), decode JSON with
the stdlib (a 10,000-deep array is a RecursionError, invalid UTF-8 a UnicodeDecodeError: both 500s)
and build a fresh JSON-schema validator for every parameter of every request. These replacements
keep every check Connexion makes while

* decoding form bodies and query strings with ``nexsis_openapi.codec`` (PHP's limits and rules),
  then coercing the strings by schema as Moodle's PARAM_* cleaning does;
* decoding JSON with orjson, turning every malformed input into a 400 problem;
* caching validators per schema object (the specs are parsed once, so schema objects live as long
  as the app);
* leaving the parsed, coerced body in the ASGI scope (``SCOPE_BODY``) so the handler adapter does
  not parse it a second time.
"""

from __future__ import annotations

import functools
import re
import typing as t
from urllib.parse import parse_qsl

import jsonschema_rs
import orjson
from connexion.exceptions import BadRequestProblem, ExtraParameterProblem
from connexion.json_schema import Draft4RequestValidator, format_error_with_path
from connexion.uri_parsing import OpenAPIURIParser
from connexion.utils import is_null, is_nullable
from connexion.validators import FormDataValidator, JSONRequestBodyValidator, ParameterValidator
from jsonschema import Draft4Validator, ValidationError
from starlette.types import Scope

from nexsis_openapi import codec

__all__ = [
    "SCOPE_BODY",
    "SCOPE_FORM",
    "MockFormValidator",
    "MockJSONValidator",
    "MockParameterValidator",
    "MoodleURIParser",
    "PHPURIParser",
    "coerce",
    "decode_json",
]

#: Scope key holding the validated request body (dict/list/scalar) for the handler adapter.
SCOPE_BODY = "nexsis_mock.body"
#: Scope key under which the WS router leaves the already-decoded form parameters.
SCOPE_FORM = "nexsis_mock.form"

#: NexSIS (PHP casts) takes any decimal integer; Moodle's PARAM_INT only the canonical form
#: (validate_parameters compares the cleaned value with the raw one: `05`, `+5`, `5.0` fail).
_INT_RE = re.compile(r"^[+-]?[0-9]+$")
CANONICAL_INT_RE = re.compile(r"^(?:0|-?[1-9][0-9]*)$")
#: The integers PHP and orjson keep exact; larger ones are refused rather than rounded.
_INT64 = (-(2**63), 2**63 - 1)
_NUM_RE = re.compile(r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")

class RequestValidator:
    """Connexion's Draft-4 request validator behind a compiled (Rust) validity check.

    ``jsonschema`` walks the schema in Python on every call: 65-130 us for one web-service body,
    a sixth of the request. ``jsonschema_rs`` answers "valid?" in under a microsecond. It only
    ever *accepts*: when it says no (or cannot represent the value, e.g. an integer beyond 64
    bits), ``jsonschema`` decides, so every refusal and its message are exactly Connexion's. It is
    stricter, never laxer, on what these specs use: it knows no ``nullable`` (a null falls back),
    its ``$`` does not match before a trailing newline (falls back), and 1.0 is not an integer in
    either. ``tests/mock_server/test_fast_validation.py`` checks that against every request schema.
    """

    __slots__ = ("fast", "schema", "slow")

    def __init__(self, schema: dict) -> None:
        self.schema = schema
        self.slow = Draft4RequestValidator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)
        # Connexion attaches the spec's (ref-resolved, possibly cyclic) `components` to every body
        # schema for $ref lookups; it is no keyword, and a cyclic dict cannot be compiled.
        compiled = {k: v for k, v in schema.items() if k != "components"}
        try:
            self.fast: t.Any = jsonschema_rs.Draft4Validator(compiled, validate_formats=True)
        except Exception:  # a schema it cannot compile (a $ref left, a cycle): jsonschema alone
            self.fast = None

    def is_fast_valid(self, instance: t.Any) -> bool:
        fast = self.fast
        if fast is None:
            return False
        try:
            return bool(fast.is_valid(instance))
        except Exception:  # a value it cannot convert (huge int, lone surrogate): not decided here
            return False

    def validate(self, instance: t.Any) -> None:
        """Raise ``jsonschema.ValidationError`` exactly when Connexion's validator would."""
        if not self.is_fast_valid(instance):
            self.slow.validate(instance)


_validators: dict[int, RequestValidator] = {}


def _validator(schema: dict) -> RequestValidator:
    """A cached request validator; it keeps the schema referenced so its id stays unique."""
    hit = _validators.get(id(schema))
    if hit is None or hit.schema is not schema:
        hit = _validators[id(schema)] = RequestValidator(schema)
    return hit


# Per-schema facts, computed once: coercion asks them for every value of every request. Keyed by
# id with the schema kept referenced (see _validator); spec schemas live as long as the app.
_types_memo: dict[int, tuple[dict, frozenset[str]]] = {}
_props_memo: dict[int, tuple[dict, dict[str, dict]]] = {}


def _schema_types(schema: dict) -> frozenset[str]:
    hit = _types_memo.get(id(schema))
    if hit is None or hit[0] is not schema:
        types: set[str] = set()
        if "type" in schema:
            types.add(schema["type"])
        for key in ("oneOf", "anyOf", "allOf"):
            for sub in schema.get(key, ()):
                types |= _schema_types(sub)
        hit = _types_memo[id(schema)] = (schema, frozenset(types))
    return hit[1]


def _object_properties(schema: dict) -> dict[str, dict]:
    """The properties an object schema names, through allOf/oneOf/anyOf (read-only: shared)."""
    hit = _props_memo.get(id(schema))
    if hit is None or hit[0] is not schema:
        props = dict(schema.get("properties", {}))
        for key in ("allOf", "oneOf", "anyOf"):
            for sub in schema.get(key, ()):
                for name, sub_schema in _object_properties(sub).items():
                    props.setdefault(name, sub_schema)
        hit = _props_memo[id(schema)] = (schema, props)
    return hit[1]


def coerce(value: t.Any, schema: dict | None, int_re: re.Pattern[str] = _INT_RE) -> t.Any:
    """Type wire strings by schema, as Moodle's PARAM_INT/PARAM_FLOAT/PARAM_BOOL cleaning does.

    Only unambiguous conversions happen; anything else stays a string so the validator rejects
    it with the schema's own message (``"1.5"`` for an integer, ``"true"`` for a PARAM_BOOL, a
    scalar where a list is expected).
    """
    if not schema:
        return value
    types = _schema_types(schema)
    if isinstance(value, str):
        if "integer" in types and int_re.match(value):
            number = int(value) if len(value) <= 20 else None
            if number is not None and _INT64[0] <= number <= _INT64[1]:
                return number
            if int_re is _INT_RE:
                # NexSIS reads integers with PHP's (int) cast, which saturates: a huge `limit` is
                # PHP_INT_MAX there, not an error. Moodle's PARAM_INT check compares the cleaned
                # value with the raw text, so for web services it stays a string (invalid).
                return _INT64[0] if value.startswith("-") else _INT64[1]
        if "number" in types and _NUM_RE.match(value):
            return float(value)
        if "boolean" in types and value in ("0", "1"):
            return value == "1"
        if value == "" and schema.get("nullable"):
            return None
        return value
    if isinstance(value, list) and "array" in types:
        items = schema.get("items") or {}
        if not items:
            for key in ("oneOf", "anyOf", "allOf"):
                for sub in schema.get(key, ()):
                    if sub.get("type") == "array" and sub.get("items"):
                        items = sub["items"]
        return [coerce(v, items, int_re) for v in value]
    if isinstance(value, dict) and "object" in types:
        props = _object_properties(schema)
        extra = schema.get("additionalProperties")
        extra = extra if isinstance(extra, dict) else None
        return {k: coerce(v, props.get(k, extra), int_re) for k, v in value.items()}
    return value


def decode_json(raw: bytes) -> t.Any:
    """Parse a JSON body, refusing what would crash or silently change meaning.

    orjson rejects invalid UTF-8, nesting deeper than 1024 and integers beyond 64 bits with a
    ``JSONDecodeError``; each becomes a 400 with the parser's own explanation.
    """
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequestProblem(detail=f"malformed JSON body: {exc}") from None


class PHPURIParser(OpenAPIURIParser):
    """Query strings and form bodies decoded with PHP's rules, then typed by schema.

    ``userid[]=1&userid[]=2`` is ``{"userid[]": [1, 2]}`` when the spec names the parameter
    ``userid[]`` (and ``{"userid": [...]}`` otherwise), exactly one list whatever the indices.
    """

    int_re: re.Pattern[str] = _INT_RE

    def resolve_query(self, query_data: dict[str, list[str]]) -> dict[str, t.Any]:
        pairs = [(k, v) for k, values in query_data.items() for v in values]
        return self.resolve_pairs(pairs)

    def resolve_pairs(self, pairs: list[tuple[str, str]]) -> dict[str, t.Any]:
        from urllib.parse import quote

        if not pairs:
            return {}
        if len(pairs) <= codec.MAX_INPUT_VARS and not any("[" in k or "]" in k for k, _ in pairs):
            # Plain names (`wstoken=...`, `limit=5`): what the codec would answer, without the
            # round trip through percent-encoding and qs_codec (a tenth of a web-service call).
            # Nameless variables are dropped and the last duplicate wins, as PHP does.
            flat: dict[str, str] = {}
            for key, value in pairs:
                if key:
                    flat.pop(key, None)
                    flat[key] = value
            return self.resolve_decoded(flat)
        body = "&".join(f"{quote(k, safe='[]')}={quote(v, safe='')}" for k, v in pairs)
        return self.resolve_decoded(codec.decode(body))

    def resolve_decoded(self, data: dict[str, t.Any]) -> dict[str, t.Any]:
        """Type a decoded query by parameter schema, naming list params as the spec does."""
        out: dict[str, t.Any] = {}
        for key, value in data.items():
            defn = self.param_defns.get(key)
            name = key
            if defn is None and isinstance(value, list) and f"{key}[]" in self.param_defns:
                name, defn = f"{key}[]", self.param_defns[f"{key}[]"]
            schema = (defn or {}).get("schema")
            if schema and schema.get("type") == "array" and isinstance(value, str):
                # `style: form, explode: false` arrays travel comma-separated (`level=fatal,error`);
                # an exploded one given once (`?x=a`) is a one-item list.
                value = value.split(",") if defn and defn.get("explode") is False else [value]
            out[name] = coerce(value, schema, self.int_re)
        return out

    def resolve_path(self, path_data: dict[str, t.Any]) -> dict[str, t.Any]:
        return {k: coerce(v, (self.param_defns.get(k) or {}).get("schema"), self.int_re)
                for k, v in path_data.items()}

    def resolve_form(self, form_data: dict[str, t.Any]) -> dict[str, t.Any]:
        """Type an already-decoded form body; Connexion's list-of-strings shape is also accepted."""
        if form_data and all(isinstance(v, list) and all(isinstance(x, str) for x in v)
                             for v in form_data.values()) and any("[" in k for k in form_data):
            from urllib.parse import quote

            body = "&".join(f"{quote(k, safe='[]')}={quote(x, safe='')}"
                            for k, values in form_data.items() for x in values)
            form_data = codec.decode(body)
        return coerce(form_data, self._body_schema or {"type": "object"}, self.int_re)


class MoodleURIParser(PHPURIParser):
    """The web-service parser: PARAM_INT only in canonical decimal form, as Moodle checks it."""

    int_re = CANONICAL_INT_RE


@functools.lru_cache(maxsize=1024)
def _plain_query_names(raw: bytes) -> frozenset[str] | None:
    """The names of a query string as the strict check sees them, None if any has brackets.

    Plain names resolve to themselves (``PHPURIParser.resolve_pairs``: nameless ones dropped);
    bracketed ones go through the codec, so they take Connexion's full path.
    """
    names = {k for k, _ in parse_qsl(raw.decode("latin-1"), keep_blank_values=True)}
    if any("[" in k or "]" in k for k in names):
        return None
    return frozenset(names - {""})


class MockParameterValidator(ParameterValidator):
    """Connexion's parameter checks with one validator per parameter schema instead of per call."""

    def validate(self, scope: Scope) -> None:  # type: ignore[override]
        """Skip building a request when the operation has no parameters left to check.

        Every web-service function's parameters are in its form body: what Connexion checks here
        is only that the query names no parameter but the security one (strict validation). When
        the query's names are plain and all allowed, that check passes and nothing else would run.
        """
        if not any(self.parameters.values()):
            raw = scope.get("query_string", b"")
            if not self.strict_validation or not raw:
                return
            if len(raw) <= 256:
                names = _plain_query_names(raw)
                if names is not None and names <= self.security_query_params:
                    return
        super().validate(scope)

    @staticmethod
    def validate_parameter(parameter_type, value, param, param_name=None):  # type: ignore[override]
        if is_nullable(param) and is_null(value):
            return None
        if value is not None:
            try:
                _validator(param.get("schema", param)).validate(value)
            except ValidationError as exc:
                return f"{exc.message}{format_error_with_path(exception=exc)} ({parameter_type} "\
                       f"parameter '{param.get('name')}')"
            return None
        if param.get("required"):
            return f"Missing {parameter_type} parameter '{param['name']}'"
        return None


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value)
    return 0


class _DirectBody:
    """Connexion's ``wrap_receive`` without turning the channel into an async generator.

    Same steps in the same order: a request without a declared body takes Connexion's own path
    (default body, "RequestBody is required"); otherwise every message is read, the body parsed
    and validated, and the messages are replayed to the app by Connexion's ``_insert_messages``.
    The generator and its comprehension were a tenth of a PUT in the profile.
    """

    _nullable: bool

    def _parse_raw(self, raw: bytes, scope: Scope) -> t.Any:
        raise NotImplementedError

    async def wrap_receive(self, receive: t.Any, *, scope: Scope) -> tuple[t.Any, Scope]:
        if not _declared_length(scope):
            return await super().wrap_receive(receive, scope=scope)  # type: ignore[misc]
        messages = []
        more = True
        while more:
            message = await receive()
            messages.append(message)
            more = message.get("more_body", False)
        body = self._parse_raw(b"".join([m.get("body", b"") for m in messages]), scope)
        if not (body is None and self._nullable):
            self._validate(body)  # type: ignore[attr-defined]
        return self._insert_messages(receive, messages=messages), scope  # type: ignore[attr-defined]


class MockJSONValidator(_DirectBody, JSONRequestBodyValidator):
    """JSON bodies through orjson, validated by a cached validator, left in the scope."""

    @property
    def _validator(self):  # type: ignore[override]
        return _validator(self._schema)

    def _parse_raw(self, raw: bytes, scope: Scope) -> t.Any:
        body = decode_json(raw) if raw.strip() else None
        scope[SCOPE_BODY] = body
        return body

    async def _parse(self, stream: t.AsyncGenerator[bytes, None], scope: Scope) -> t.Any:
        return self._parse_raw(b"".join([chunk async for chunk in stream]), scope)


class MockFormValidator(_DirectBody, FormDataValidator):
    """Form bodies decoded by the PHP codec (or taken from the WS router) and typed by schema."""

    @property
    def _validator(self):  # type: ignore[override]
        return _validator(self._schema)

    async def wrap_receive(self, receive: t.Any, *, scope: Scope) -> tuple[t.Any, Scope]:
        """For a routed web-service call, validate the form the front decoded, without the stream.

        Connexion's ``wrap_receive`` turns the receive channel into an async generator, parses and
        validates, then replays the messages it read; the WS router's body is only a placeholder
        (the real form is in ``SCOPE_FORM``), so here the parse-and-validate step runs alone and the
        channel is left as it was. Every other body takes Connexion's path.
        """
        data = scope.get(SCOPE_FORM)
        if data is None:
            return await super().wrap_receive(receive, scope=scope)  # _DirectBody's
        body = self._resolve(data, scope)
        if not (body is None and self._nullable):
            self._validate(body)
        return receive, scope

    def _resolve(self, data: dict[str, t.Any], scope: Scope) -> dict:
        parser = self._uri_parser or PHPURIParser([], {"schema": self._schema})
        body = parser.resolve_form(dict(data))
        scope[SCOPE_BODY] = body
        return body

    def _parse_raw(self, raw: bytes, scope: Scope) -> dict:
        # CodecError is mapped to a 400 by the error handlers.
        return self._resolve(codec.decode(raw), scope)

    async def _parse(self, stream: t.AsyncGenerator[bytes, None], scope: Scope) -> dict:
        data = scope.get(SCOPE_FORM)
        if data is None:
            return self._parse_raw(b"".join([chunk async for chunk in stream]), scope)
        async for _ in stream:  # drain the placeholder body the WS router left
            pass
        return self._resolve(data, scope)

    def _validate(self, body: t.Any) -> None:
        if not isinstance(body, dict):
            raise BadRequestProblem("Parsed body must be a mapping")
        if self._strict_validation:
            extra = set(body) - set(_object_properties(self._schema))
            # Only where the schema closes the object (every WS function does): NexSIS bodies
            # accept unknown fields in JSON, so they must in form bodies too.
            if extra and self._schema.get("additionalProperties") is False:
                raise ExtraParameterProblem(param_type="formData", extra_params=sorted(extra))
        try:
            self._validator.validate(body)
        except ValidationError as exc:
            raise BadRequestProblem(detail=f"{exc.message}{format_error_with_path(exception=exc)}") from None


def validator_map() -> dict[str, t.Any]:
    """The ``validator_map`` argument for Connexion: ours for params, JSON and form bodies."""
    from connexion.datastructures import MediaTypeDict
    from connexion.validators import MultiPartFormDataValidator

    return {
        "parameter": MockParameterValidator,
        "body": MediaTypeDict({
            "*/*json": MockJSONValidator,
            "application/x-www-form-urlencoded": MockFormValidator,
            "multipart/form-data": MultiPartFormDataValidator,
        }),
    }

