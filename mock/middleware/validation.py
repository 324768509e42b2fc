"""Request validation that reads the wire the way PHP does, on Connexion's public validators.

Parameters (query, path) are checked by Connexion's ``ParameterValidator`` with a PHP URI parser:
query strings decoded with ``nexsis_openapi.codec`` (PHP's limits and rules), values coerced by
schema as Moodle's PARAM_* cleaning and PHP's casts do, and one compiled validator per parameter
schema instead of one per call. Bodies are decoded and checked in ``bodies`` with the same
``RequestValidator`` (Connexion's Draft-4 request validator behind a compiled validity check).
"""

from __future__ import annotations

import functools
import re
import typing as t
from urllib.parse import parse_qsl

import jsonschema_rs
import orjson
from connexion.exceptions import BadRequestProblem
from connexion.json_schema import Draft4RequestValidator, format_error_with_path
from connexion.uri_parsing import OpenAPIURIParser
from connexion.utils import is_null, is_nullable
from connexion.validators import ParameterValidator
from jsonschema import Draft4Validator, ValidationError
from starlette.types import Scope

from nexsis_openapi import codec

from .coercion import INT_RE as _INT_RE
from .coercion import coerce, object_properties

__all__ = [
    "CANONICAL_INT_RE",
    "MAX_JSON_DEPTH",
    "MockParameterValidator",
    "PHPURIParser",
    "RequestValidator",
    "coerce",
    "decode_json",
    "json_too_deep",
    "object_properties",
]

#: Moodle's PARAM_INT takes only the canonical form (validate_parameters compares the cleaned
#: value with the raw one: `05`, `+5`, `5.0` fail); NexSIS any decimal (``coercion.INT_RE``).
CANONICAL_INT_RE = re.compile(r"^(?:0|-?[1-9][0-9]*)$")

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


#: The one nesting limit of request bodies: PHP's ``max_input_nesting_level``, which the form
#: codec applies (``nexsis_openapi.codec``). A JSON body nested deeper would be accepted and then
#: break whatever serialises it later (the request log, the state export, orjson's limit of 255
#: in the state file's operation log), so it is refused before anything is stored.
MAX_JSON_DEPTH = codec.MAX_INPUT_NESTING_LEVEL
_TOO_DEEP = f"malformed JSON body: nested deeper than {MAX_JSON_DEPTH} levels"


def json_too_deep(value: t.Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when arrays/objects in ``value`` nest deeper than ``limit`` (the outermost is level 1).

    Iterative, so a deep value cannot exhaust the interpreter's stack while being measured.
    """
    if not isinstance(value, dict | list):
        return False
    stack: list[tuple[t.Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        for child in (item.values() if isinstance(item, dict) else item):
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
    return False


def decode_json(raw: bytes) -> t.Any:
    """Parse a JSON body, refusing what would crash or silently change meaning.

    orjson rejects invalid UTF-8 and integers beyond 64 bits with a ``JSONDecodeError``; each
    becomes a 400 with the parser's own explanation. Nesting deeper than ``MAX_JSON_DEPTH`` is a
    400 with one message whichever parser noticed it (orjson stops at 1024 by itself).
    """
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if str(exc).startswith("depth limit exceeded"):
            raise BadRequestProblem(detail=_TOO_DEEP) from None
        raise BadRequestProblem(detail=f"malformed JSON body: {exc}") from None
    # Fewer brackets than the limit cannot nest deeper than it: most bodies skip the walk.
    if raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH and json_too_deep(value):
        raise BadRequestProblem(detail=_TOO_DEEP)
    return value


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

    def resolve_form(self, form: dict[str, t.Any], schema: dict[str, t.Any]) -> t.Any:
        """Type an already-decoded form body by its schema."""
        return coerce(form, schema or {"type": "object"}, self.int_re)

    def resolve_path(self, path_data: dict[str, t.Any]) -> dict[str, t.Any]:
        return {k: coerce(v, (self.param_defns.get(k) or {}).get("schema"), self.int_re)
                for k, v in path_data.items()}


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

    def validate(self, scope: Scope) -> None:
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
    def validate_parameter(parameter_type, value, param, param_name=None):
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
