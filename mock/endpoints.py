"""The endpoint table: every operation of both specs, built once from them, the only route table.

Routing (NexSIS paths, web-service functions), the ``Allow`` header of a 405, journal labels,
validation and the domain's handler registry all read this table; nothing else lists routes.
Per operation it holds its route or wsfunction, its auth rule, its parameter and body
validators, whether it writes, and the statuses the spec documents.

NexSIS routes are matched the way the Starlette router of Connexion 3 matched them before (the
golden answers in tests/data/golden pin that): templates in spec order, the first full match
wins, a path parameter is one non-empty segment (a ``number`` one only a number), a path
without an operation for the method but with one for another is a 405, and a path that only
misses or has one trailing slash too many is redirected (307), as Starlette's
``redirect_slashes`` does.
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass, field

from connexion.exceptions import BadRequestProblem
from connexion.json_schema import resolve_refs

from nexsis_openapi import NEXSIS_BASE_PATH, load_spec

from .middleware.validation import (
    CANONICAL_INT_RE,
    MockParameterValidator,
    PHPURIParser,
    RequestValidator,
)

__all__ = ["NEXSIS_PREFIX", "Endpoint", "EndpointTable", "Miss", "table"]

#: Where the NexSIS API lives on a Moodle site (the spec's server URL).
NEXSIS_PREFIX = NEXSIS_BASE_PATH
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
#: A number path segment: digits with an optional fraction (``+``, ``.`` and empty are no numbers).
_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_INTEGER = r"[+-]?[0-9]+"
#: Entries kept in the table's caches of recent decisions (paths, checked path values).
_RECENT = 4096


@dataclass(frozen=True, slots=True)
class Body:
    """A request body: accepted media types with their schemas, and Connexion's body rules."""

    schemas: dict[str, dict[str, t.Any]]
    required: bool
    nullable: bool
    consumes: tuple[str, ...]

    def schema(self, mime_type: str) -> dict[str, t.Any] | None:
        """The schema for a media type (``*/*json`` matches any JSON type, as Connexion's map does)."""
        hit = self.schemas.get(mime_type)
        if hit is None and mime_type.endswith("json"):
            hit = next((s for m, s in self.schemas.items() if m.endswith("json")), None)
        return hit


@dataclass(eq=False, slots=True)
class Endpoint:
    """One operation. ``method`` is upper case; ``template`` is relative to the API's base path."""

    api: str
    operation_id: str
    method: str
    template: str
    #: Security alternatives in spec order: ("bearer",) or ("query", name) / ("header", name).
    security: tuple[tuple[str, ...], ...]
    parameters: list[dict[str, t.Any]]
    parser: PHPURIParser
    params_validator: MockParameterValidator
    body: Body | None
    responses: dict[str, t.Any]
    write: bool
    statuses: frozenset[int]
    regex: re.Pattern[str] | None = None
    #: Path parameters typed by the route (number -> float, integer -> int), as Starlette's convertors.
    convertors: dict[str, t.Callable[[str], t.Any]] = field(default_factory=dict)
    #: Required query parameters, and the path parameters with their definitions (for ``check``).
    required_query: tuple[dict[str, t.Any], ...] = ()
    path_defs: tuple[dict[str, t.Any], ...] = ()
    #: Path values that passed ``check_parameters`` (without a query string), typed; bounded.
    _checked: dict[tuple[t.Any, ...], dict[str, t.Any]] = field(default_factory=dict)
    #: The compiled body validators by schema id (built on first use: start-up stays fast).
    _validators: dict[int, RequestValidator] = field(default_factory=dict)

    def validator(self, schema: dict[str, t.Any]) -> RequestValidator:
        hit = self._validators.get(id(schema))
        if hit is None:
            hit = self._validators[id(schema)] = RequestValidator(schema)
        return hit

    def check_parameters(self, scope: t.MutableMapping[str, t.Any], path_params: dict[str, t.Any]
                         ) -> dict[str, t.Any]:
        """Validate query and path parameters (Connexion's rules and messages); the typed path values.

        Without a query string only the path values and the required query parameters can fail,
        so they are checked directly; with one, Connexion's ``ParameterValidator`` runs whole.
        """
        if scope.get("query_string"):
            scope["path_params"] = path_params
            self.params_validator.validate(scope)
            return self.parser.resolve_path(path_params) if path_params else {}
        key = tuple(path_params.values())
        hit = self._checked.get(key)
        if hit is not None:
            return hit
        resolved = self.parser.resolve_path(path_params) if path_params else {}
        check = self.params_validator.validate_parameter
        for param in self.required_query:
            error = check("query", None, param)
            if error:
                raise BadRequestProblem(detail=error)
        for param in self.path_defs:
            error = check("path", resolved.get(param["name"]), param)
            if error:
                raise BadRequestProblem(detail=error)
        if len(self._checked) >= _RECENT:  # clients repeat their paths; the cache stays bounded
            self._checked.clear()
        self._checked[key] = resolved
        return resolved

    @property
    def label(self) -> str:
        """What the journal and the request log call it: ``GET /user/{userid}`` or the function."""
        return self.operation_id if self.api == "moodle-ws" else f"{self.method} {self.template}"


class Miss(t.NamedTuple):
    """No operation: 404, 405 with the methods the path has, or a redirect to the slash variant."""

    status: int
    allow: str | None = None
    redirect: str | None = None


def _security(op: dict[str, t.Any], spec: dict[str, t.Any]) -> tuple[tuple[str, ...], ...]:
    schemes = spec.get("components", {}).get("securitySchemes", {})
    out: list[tuple[str, ...]] = []
    for requirement in op.get("security", spec.get("security", [])):
        for name in requirement:
            scheme = schemes[name]
            if scheme["type"] == "http" and scheme.get("scheme", "").lower() == "bearer":
                out.append(("bearer",))
            elif scheme["type"] == "apiKey":
                out.append((scheme["in"], scheme["name"]))
    return tuple(out)


def _parameters(item: dict[str, t.Any], op: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    merged = {(p["name"], p["in"]): p for p in item.get("parameters", [])}
    merged.update({(p["name"], p["in"]): p for p in op.get("parameters", [])})
    return list(merged.values())


def _body(op: dict[str, t.Any]) -> Body | None:
    request_body = op.get("requestBody")
    if not request_body:
        return None
    content = request_body.get("content", {})
    schemas = {mime.lower(): media.get("schema") or {} for mime, media in content.items()}
    nullable = any(s.get("nullable") or s.get("x-nullable") for s in schemas.values())
    return Body(schemas, bool(request_body.get("required", False)), nullable, tuple(content))


_CONVERT: dict[str, tuple[str, t.Callable[[str], t.Any]]] = {"number": (_NUMBER, float),
                                                              "integer": (_INTEGER, int)}


def _route_regex(template: str, parameters: list[dict[str, t.Any]]
                 ) -> tuple[re.Pattern[str], dict[str, t.Callable[[str], t.Any]]]:
    types = {p["name"]: (p.get("schema") or {}).get("type") for p in parameters if p["in"] == "path"}
    out, convertors = "", {}
    for part in re.split(r"(\{[^}]+\})", template):
        if part.startswith("{"):
            name = part[1:-1]
            regex, convert = _CONVERT.get(types.get(name) or "", ("[^/]+", str))
            if convert is not str:
                convertors[name] = convert
            out += f"(?P<{name}>{regex})"
        else:
            out += re.escape(part)
    return re.compile(f"^{out}$"), convertors


def _endpoint(api: str, template: str, method: str, item: dict[str, t.Any], op: dict[str, t.Any],
              spec: dict[str, t.Any], write: t.Callable[[str, dict[str, t.Any]], bool]) -> Endpoint:
    parameters = _parameters(item, op)
    body = _body(op)
    body_schema = next(iter(body.schemas.values()), None) if body else None
    parser_cls = PHPURIParser if api == "nexsis" else MoodleParser
    parser = parser_cls(parameters, {"schema": body_schema} if body_schema else {})
    security = _security(op, spec)
    query_credentials = {s[1] for s in security if s[0] == "query"}
    validator = MockParameterValidator(parameters, uri_parser=parser, strict_validation=api != "nexsis",
                                       security_query_params=query_credentials)
    statuses = frozenset(int(s) for s in op.get("responses", {}) if s.isdigit())
    endpoint = Endpoint(api, op["operationId"], method.upper(), template, security, parameters, parser,
                        validator, body, op.get("responses", {}), write(api, op), statuses)
    endpoint.required_query = tuple(p for p in parameters if p["in"] == "query" and p.get("required"))
    endpoint.path_defs = tuple(p for p in parameters if p["in"] == "path")
    if api == "nexsis":
        endpoint.regex, endpoint.convertors = _route_regex(template, parameters)
    return endpoint


class MoodleParser(PHPURIParser):
    """Moodle's PARAM_INT: canonical decimal form only (validate_param compares the cleaned text)."""

    int_re = CANONICAL_INT_RE


def _default_write(api: str, op: dict[str, t.Any]) -> bool:
    if api == "moodle-ws":
        return op.get("x-moodle-type") == "write"
    return False


def _head(template: str) -> str | None:
    """The literal first segment of a route, None when it starts with a parameter."""
    head = template[1:].split("/", 1)[0] if template.startswith("/") else template
    return None if "{" in head else head


class EndpointTable:
    """Both APIs' endpoints. ``nexsis`` in spec order; ``ws`` by wsfunction.

    ``specs`` (API kind -> OpenAPI dict) defaults to the bundled specs; tests pass others.
    """

    def __init__(self, specs: t.Mapping[str, dict[str, t.Any]] | None = None,
                 write: t.Callable[[str, dict[str, t.Any]], bool] = _default_write) -> None:
        self.nexsis: list[Endpoint] = []
        self.ws: dict[str, Endpoint] = {}
        self.by_id: dict[tuple[str, str], Endpoint] = {}
        if specs is None:
            specs = {api: load_spec(api) for api in ("nexsis", "moodle-ws")}
        for api, raw in specs.items():
            spec = resolve_refs(raw)
            for template, item in spec["paths"].items():
                for method in _METHODS:
                    op = item.get(method)
                    if not isinstance(op, dict):
                        continue
                    endpoint = _endpoint(api, template, method, item, op, spec, write)
                    self.by_id[(api, endpoint.operation_id)] = endpoint
                    if api == "nexsis":
                        self.nexsis.append(endpoint)
                    else:
                        self.ws[template.partition("#")[2]] = endpoint
        self._recent: dict[tuple[str, str], tuple[Endpoint, dict[str, t.Any]] | Miss] = {}
        # Routes bucketed by their literal first segment; a route starting with a parameter is in
        # every bucket. Each bucket keeps spec order, so its first match is the table's first match.
        heads = {_head(e.template) for e in self.nexsis} - {None}
        self._param_first = [e for e in self.nexsis if _head(e.template) is None]
        self._by_head = {h: [e for e in self.nexsis if _head(e.template) in (h, None)] for h in heads}
        # Literal paths resolved once, by the same first-match search a request would make.
        self._static: dict[tuple[str, str], Endpoint] = {}
        for e in self.nexsis:
            if "{" not in e.template:
                hit = self._search(e.method, e.template)
                if isinstance(hit, tuple) and not hit[1]:
                    self._static[(e.method, e.template)] = hit[0]

    def allow(self, path: str) -> str | None:
        """The methods ``path`` (relative) really has, as ``Allow`` names them (GET implies HEAD).

        Read from the same typed routes as routing: a method is listed exactly when a request
        with it would find an operation.
        """
        methods = {endpoint.method for endpoint, _ in self._path_matches(path)}
        if not methods:
            return None
        ordered = [m.upper() for m in _METHODS if m.upper() in methods]
        if "GET" in ordered:
            ordered.append("HEAD")
        return ", ".join(ordered)

    def _path_matches(self, path: str) -> t.Iterator[tuple[Endpoint, dict[str, str]]]:
        """Endpoints whose route matches ``path``, in spec order (only those that can: by first segment)."""
        head = path[1:].split("/", 1)[0] if path.startswith("/") else None
        candidates = self._by_head.get(head, self._param_first) if head is not None else self.nexsis
        for endpoint in candidates:
            assert endpoint.regex is not None
            match = endpoint.regex.match(path)
            if match is not None:
                yield endpoint, match.groupdict()

    def _search(self, method: str, path: str) -> tuple[Endpoint, dict[str, t.Any]] | bool | None:
        """The first endpoint of ``method`` whose route matches; else True if another method's did."""
        partial = False
        for endpoint, values in self._path_matches(path):
            if endpoint.method == method:
                convertors = endpoint.convertors
                return endpoint, {k: convertors[k](v) if k in convertors else v for k, v in values.items()}
            partial = True
        return partial or None

    def match(self, method: str, path: str) -> tuple[Endpoint, dict[str, t.Any]] | Miss:
        """The NexSIS endpoint for ``method`` and ``path`` (relative to the prefix), or why none.

        Decisions are remembered (bounded): the table never changes, and clients repeat paths.
        The path parameters of a remembered decision are shared: read them, do not change them.
        """
        key = (method, path)
        hit = self._recent.get(key)
        if hit is None:
            hit = self._match(method, path)
            if len(self._recent) >= _RECENT:
                self._recent.clear()
            self._recent[key] = hit
        return hit

    def _match(self, method: str, path: str) -> tuple[Endpoint, dict[str, t.Any]] | Miss:
        route_method = "GET" if method == "HEAD" else method
        static = self._static.get((route_method, path))
        if static is not None:
            return static, {}
        hit = self._search(route_method, path)
        if isinstance(hit, tuple):
            return hit
        if hit:
            return Miss(405, self.allow(path))
        if path != "/":
            other = path.rstrip("/") if path.endswith("/") else path + "/"
            if next(self._path_matches(other), None) is not None:
                return Miss(307, redirect=other)
        return Miss(404)

    def ws_function(self, function: str | None) -> Endpoint | None:
        return self.ws.get(function) if function else None


_TABLE: EndpointTable | None = None


def table() -> EndpointTable:
    """The process's table (the specs are parsed once; the table is read-only)."""
    global _TABLE
    if _TABLE is None:
        _TABLE = EndpointTable()
    return _TABLE
