"""The endpoint table routes as Connexion's Starlette router did; the pipeline's error paths.

The mock's NexSIS routing (``nexsis_mock.endpoints.EndpointTable.match``) replaced Connexion's
router in issue 9; clients must not notice, so this module checks it against a plain Connexion
app built from the same specs (the reference the golden answers were recorded with):

1. Routing: for every operation of both specs (and of a small spec built to make registration
   order and parameter-first routes matter), for concrete paths with ordinary, odd and hostile
   path values and for paths that must not match, the table picks the operation Connexion's
   Starlette router picks (first full match, in registration order), or neither does.
2. Behaviour over HTTP is ``test_golden``'s (the same corpus, answers recorded before the rewrite).
3. Errors: an exception inside ``Service.call`` is a 500 ``internal_error`` naming it, response
   validation replaces a nonconforming answer by a 500 exactly when it is on, and an error after
   the answer started is re-raised, never answered twice.
"""

from __future__ import annotations

import asyncio
import copy
import gc
import re
import typing as t
import warnings
from collections.abc import Iterator

import httpx
import orjson
import pytest
from connexion import AsyncApp
from connexion.middleware.routing import RoutingMiddleware
from starlette.routing import Match, Mount, Router

from nexsis_mock.app import create_app
from nexsis_mock.domain import Result, Service
from nexsis_mock.endpoints import EndpointTable, Miss, table
from nexsis_openapi import load_spec

from .conftest import NX, WS
from .corpus import (
    COMPARED_HEADERS,
    JSON,
    NOW,
    WS_ADMIN,
    Answer,
    Case,
    _bearer,
    _ws,
)


def _service() -> Service:
    return Service.create(clock=lambda: NOW)


# ---------------------------------------------------------------------------------------------
# 1. Routing decisions
# ---------------------------------------------------------------------------------------------

#: (base path of the API, operationId), or None when no operation matches fully.
Decision = tuple[str, str] | None


def _routing_middleware(connexion_app: t.Any) -> RoutingMiddleware:
    middleware = connexion_app.middleware
    if middleware.middleware_stack is None:
        middleware.app, middleware.middleware_stack = middleware._build_middleware_stack()
    return next(mw for mw in middleware.middleware_stack if isinstance(mw, RoutingMiddleware))


def _walk(router: Router, scope: dict[str, t.Any], base: str) -> Decision:
    """Starlette's choice: the first route that matches fully wins; a Mount's inner router decides
    alone (no backtracking to later mounts); an inner router's default may be the next API's router."""
    for route in router.routes:
        match, child = route.matches(scope)
        if match is Match.FULL:
            if isinstance(route, Mount):
                return _walk(route.app, {**scope, **child}, route.path)
            operation_id = route.endpoint.operation_id
            return None if operation_id is None else (base, operation_id)
    default = getattr(router, "default", None)
    if isinstance(default, Router):
        return _walk(default, scope, base)
    return None


def connexion_decision(routing: RoutingMiddleware, method: str, path: str) -> Decision | str:
    """The decision of Connexion's router, or the name of the exception its routing raises."""
    scope = {"type": "http", "method": method, "path": path, "root_path": "", "path_params": {},
             "headers": [], "query_string": b""}
    try:
        return _walk(routing.router, scope, "")
    except Exception as exc:  # a convertor refusing what its regex accepted (float("+"))
        return type(exc).__name__


def router_decision(router: EndpointTable, base: str, method: str, rel_path: str) -> Decision | str:
    """The table's decision: NexSIS by path, web services by the function in the fragment."""
    try:
        if base == "":
            path, _, function = rel_path.partition("#")
            endpoint = router.ws_function(function) if path == WS and method == "POST" else None
            if endpoint is None or "#" in function or f"{WS}#{function}" != rel_path:
                return None
            return (base, endpoint.operation_id)
        hit = router.match(method, rel_path)
    except Exception as exc:
        return type(exc).__name__
    return None if isinstance(hit, Miss) else (base, hit[0].operation_id)


def _reference_app(specs: dict[str, dict[str, t.Any]]) -> AsyncApp:
    """Connexion routing every operation of ``specs`` (base path -> spec) to one handler."""
    async def handler(*args: t.Any, **kwargs: t.Any) -> str:
        return "ok"

    app = AsyncApp(__name__)
    for base, spec in specs.items():
        app.add_api(copy.deepcopy(spec), base_path=base, resolver=lambda op_id: handler)
    return app


def _templates(spec: dict[str, t.Any]) -> list[tuple[str, list[str]]]:
    """Each path template (Connexion's route form) with the parameter names in it."""
    return [(path, re.findall(r"\{([^}]+)\}", path)) for path in spec["paths"]]


#: Path-parameter values, as the server hands them to routing (already percent-decoded).
VALUES = [
    "2", "C789", "TECH-231", "ava.adams", "0", "007", "-1", "1.5", "1e3", "+", "-", ".", "..", "",
    "a b", "a%20b", "%2F", "é", "日本語", "Ωmega", "a:b", "a;b", "a?b", "a#b", "{courseid}", "a\\b",
    "x" * 3000, "9" * 40, "group", "user", "enrol", "metalink", "completion", "ping", "a\x00b", "\t",
]

METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "OPTIONS", "TRACE")


def _concrete_paths(template: str, names: list[str]) -> Iterator[str]:
    def fill(value: str) -> str:
        out = template
        for name in names:
            out = out.replace("{" + name + "}", value)
        return out

    for value in VALUES:
        filled = fill(value)
        yield filled
        yield filled + "/"
        yield filled + "/extra"
        yield filled + "/" + value
        yield "/" + filled
        yield filled.rsplit("/", 1)[0]                      # prefix only
        yield filled.replace("/", "//", 1)
    if names:                                             # a slash inside a value: one segment too many
        yield fill("a/b")
        yield fill("2").upper()
        # each parameter alone made odd, the others ordinary
        for name in names:
            for odd in ("", "+", ".", "x" * 300, "é"):
                yield template.replace("{" + name + "}", odd).replace("{", "").replace("}", "")


def _decisions(reference: t.Any, base: str, rel_paths: t.Iterable[str]) -> tuple[int, list[str]]:
    routing = _routing_middleware(reference)
    router = table()
    checked, wrong = 0, []
    for rel in rel_paths:
        for method in METHODS:
            expected = connexion_decision(routing, method, base + rel)
            got = router_decision(router, base, method, rel)
            checked += 1
            if isinstance(expected, tuple) and expected[0] != base:
                wrong.append(f"{method} {base + rel!r}: Connexion routes it to API {expected[0]!r}")
            elif isinstance(expected, str) and got is None:
                continue  # a convertor error in Connexion's router; the fallback reproduces it exactly
            elif expected != got:
                wrong.append(f"{method} {(base + rel)[:120]!r}: Connexion {expected}, router {got}")
    return checked, wrong


@pytest.fixture(scope="module")
def plain_front() -> t.Any:
    """Connexion's router over both specs, where the mock mounted them."""
    return _reference_app({NX: load_spec("nexsis"), "": load_spec("moodle-ws")})


def test_table_holds_every_operation():
    ids = {(api, op["operationId"]) for api in ("nexsis", "moodle-ws")
           for item in load_spec(api)["paths"].values() for op in item.values()
           if isinstance(op, dict) and "operationId" in op}
    assert set(table().by_id) == ids
    assert len(table().nexsis) == 39 and len(table().ws) == 15


def test_nexsis_routing_matches_connexion(plain_front):
    rel_paths = {"", "/", "//", "/ping/", "/PING", "/logs/x", "/course", "/user", "/organisation/user",
                 "/enrol/nexsis/api/index.php/ping", "/program/1/user", "/certification//user/2"}
    for template, names in _templates(load_spec("nexsis")):
        rel_paths.update(_concrete_paths(template, names))
    checked, wrong = _decisions(plain_front, NX, sorted(rel_paths))
    assert not wrong, "\n".join(wrong[:30])
    # every operation was reached at least once by its own template
    decisions = [router_decision(table(), NX, m, p) for p in rel_paths for m in METHODS]
    reached = {d[1] for d in decisions if isinstance(d, tuple)}
    assert reached == {op["operationId"] for item in load_spec("nexsis")["paths"].values()
                                for op in item.values() if isinstance(op, dict) and "operationId" in op}
    assert checked > 10_000


def test_ws_routing_matches_connexion(plain_front):
    functions = [p.split("#", 1)[1] for p in load_spec("moodle-ws")["paths"]]
    rel_paths = {WS, WS + "#", WS + "/", "/webservice/rest", "/webservice/rest/server.php#unknown_function",
                 "/", "", "/webservice/rest/server.php%23core_group_create_groups"}
    for function in functions:
        routed = f"{WS}#{function}"
        rel_paths |= {routed, routed + "/", routed + "/x", routed + "#", routed + " ", routed.upper(),
                      routed[:-1], f"{WS}#{function}{function}", "/" + routed, routed.replace("/", "//", 1),
                      f"/webservice/rest/server_php#{function}", f"{WS}?#{function}"}
    checked, wrong = _decisions(plain_front, "", sorted(rel_paths))
    assert not wrong, "\n".join(wrong[:30])
    assert checked > 1000
    for function in functions:
        assert router_decision(table(), "", "POST", f"{WS}#{function}") == ("", function)


#: Overlapping routes, in an order where the first registered is not the most specific, with a
#: parameter as first segment, typed convertors and a literal root: what the real specs happen
#: not to exercise, so a router that reorders, or that buckets parameter-first routes wrongly,
#: is caught here.
OVERLAP_SPEC: dict[str, t.Any] = {
    "openapi": "3.0.3",
    "info": {"title": "overlap", "version": "1"},
    "paths": {
        "/": {"get": {"operationId": "root"}},
        "/items/{a}": {"get": {"operationId": "itemAny"}, "put": {"operationId": "itemPut"}},
        "/items/special": {"get": {"operationId": "itemSpecial"}, "post": {"operationId": "itemSpecialPost"}},
        "/{kind}/special": {"get": {"operationId": "kindSpecial"}, "delete": {"operationId": "kindDelete"}},
        "/{kind}/{id}/deep": {"get": {"operationId": "kindDeep"}},
        "/things/{n}": {"get": {"operationId": "thingInt", "x-type": "integer"}},
        "/things/{s}/x": {"get": {"operationId": "thingStrX"}},
        "/things/{s}": {"get": {"operationId": "thingStr"}},
        "/num/{f}": {"get": {"operationId": "numFloat", "x-type": "number"}},
        "/a.b/{x}": {"get": {"operationId": "dotted"}},
        "/items/{a}/sub/{b}": {"get": {"operationId": "itemSub"}},
        "/items/x/sub/{b}": {"get": {"operationId": "itemXSub"}},
    },
}


def _overlap_spec() -> dict[str, t.Any]:
    spec: dict[str, t.Any] = {"openapi": OVERLAP_SPEC["openapi"], "info": OVERLAP_SPEC["info"], "paths": {}}
    for path, item in OVERLAP_SPEC["paths"].items():
        spec["paths"][path] = {}
        for method, op in item.items():
            params = [{"name": name, "in": "path", "required": True,
                       "schema": {"type": op.get("x-type", "string")}}
                      for name in re.findall(r"\{([^}]+)\}", path)]
            spec["paths"][path][method] = {"operationId": op["operationId"], "parameters": params,
                                           "responses": {"200": {"description": "ok"}}}
    return spec


def test_registration_order_and_parameter_first_routes_match_starlette():
    app = _reference_app({"/api": _overlap_spec(), "/api/v2": _overlap_spec()})
    router = EndpointTable({"nexsis": _overlap_spec()})
    routing = _routing_middleware(app)
    rel_paths = {"", "/", "//", "/items/special", "/items/special/", "/items/other", "/items/x/sub/1",
                 "/items/y/sub/1", "/things/12", "/things/-3", "/things/abc", "/things/12/x", "/things/",
                 "/num/1.5", "/num/+", "/num/.", "/num/", "/num/x", "/a.b/1", "/aXb/1", "/foo/special",
                 "/items/special/deep", "/items/1/deep", "/special", "/x/special/", "/api/items/1",
                 "/v2/items/special", "/things/007", "/things/1e3"}
    wrong = []
    for base in ("/api", "/api/v2"):
        for rel in sorted(rel_paths):
            for method in METHODS:
                expected = connexion_decision(routing, method, base + rel)
                got = router_decision(router, base, method, rel)
                if isinstance(expected, str) and got is None:
                    continue
                if isinstance(expected, tuple) and expected[0] != base:
                    continue  # /api/v2/... is the more specific API's (Connexion mounts it first)
                if expected != got:
                    wrong.append(f"{method} {base + rel}: Connexion {expected}, router {got}")
    assert not wrong, "\n".join(wrong)
    # the cases that make order matter really are decided by order
    assert router_decision(router, "/api", "GET", "/items/special") == ("/api", "itemAny")
    assert router_decision(router, "/api", "POST", "/items/special") == ("/api", "itemSpecialPost")
    assert router_decision(router, "/api", "GET", "/foo/special") == ("/api", "kindSpecial")
    assert router_decision(router, "/api", "GET", "/things/12") == ("/api", "thingInt")
    assert router_decision(router, "/api", "GET", "/things/abc") == ("/api", "thingStr")
    assert router_decision(router, "/api", "GET", "/items/x/sub/1") == ("/api", "itemSub")


# ---------------------------------------------------------------------------------------------
# 3. Errors in the pipeline
# ---------------------------------------------------------------------------------------------

#: (operation that fails, request that reaches it)
FAILING: list[tuple[str, Case]] = [
    ("getUser", Case("getUser", "GET", NX + "/user/S1001", _bearer())),
    ("putCourse", Case("putCourse", "PUT", NX + "/course/C789", {**_bearer(), **JSON}, b'{"fullname": "X"}')),
    ("core_group_add_group_members",
     _ws("ws-json", f"wstoken={WS_ADMIN}&moodlewsrestformat=json&wsfunction=core_group_add_group_members"
                    "&members[0][groupid]=1&members[0][userid]=14".encode())),
    ("core_webservice_get_site_info",
     _ws("ws-xml", f"wstoken={WS_ADMIN}&wsfunction=core_webservice_get_site_info".encode())),
]


class InjectedFailure(RuntimeError):
    pass


@pytest.fixture(scope="module", params=[True, False], ids=["validated", "unvalidated"])
def app(request: pytest.FixtureRequest) -> t.Any:
    """A mock served in-process (ASGI), with and without response validation, for the error paths."""
    return create_app(_service(), validate_responses=request.param)


def _replace(monkeypatch: pytest.MonkeyPatch, service: Service, operation: str,
             answer: t.Callable[[], Result]) -> None:
    """``service.call`` with ``answer()`` in place of the domain for one operation."""
    real_call = service.call

    def call(api: str, operation_id: str, *args: t.Any, **kwargs: t.Any) -> t.Any:
        if operation_id == operation:
            return answer()
        return real_call(api, operation_id, *args, **kwargs)

    monkeypatch.setattr(service, "call", call)


def _fail(monkeypatch: pytest.MonkeyPatch, service: Service, operation: str) -> None:
    def boom() -> Result:
        raise InjectedFailure(f"injected failure in {operation}")

    _replace(monkeypatch, service, operation, boom)


async def _asgi_answer(app: t.Any, case: Case) -> Answer:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock.test") as client:
        response = await client.request(case.method, case.url, headers=case.headers, content=case.body)
    headers = {k: response.headers[k] for k in COMPARED_HEADERS if k in response.headers}
    return Answer(response.status_code, headers, response.content)


@pytest.mark.parametrize(("operation", "case"), FAILING, ids=[op for op, _ in FAILING])
def test_exception_in_service_call_is_an_internal_error(app: t.Any, monkeypatch: pytest.MonkeyPatch,
                                                        operation: str, case: Case):
    _fail(monkeypatch, app.service, operation)
    answer = asyncio.run(_asgi_answer(app, case))
    assert answer.status == 500, answer.describe()
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    expected = {"error": "internal_error", "message": f"injected failure in {operation}"}
    assert orjson.loads(answer.body) == expected


#: (operation, a body its response schema refuses, request that reaches it)
NONCONFORMING: list[tuple[str, t.Any, Case]] = [
    ("getUser", {"userid": 5, "unexpected": True}, FAILING[0][1]),
    ("core_group_add_group_members", {"not": "null"}, FAILING[2][1]),
    ("core_webservice_get_site_info", [1, 2], FAILING[3][1]),
]


@pytest.mark.parametrize(("operation", "body", "case"), NONCONFORMING, ids=[op for op, _, _ in NONCONFORMING])
def test_nonconforming_answer_replaced_exactly_when_validating(app: t.Any, monkeypatch: pytest.MonkeyPatch,
                                                               operation: str, body: t.Any, case: Case):
    """Response validation replaces an answer its schema refuses by a 500, and only when it is on."""
    _replace(monkeypatch, app.service, operation, lambda: Result(200, body))
    answer = asyncio.run(_asgi_answer(app, case))
    if app.validate_responses:
        assert answer.status == 500, answer.describe()
        error = orjson.loads(answer.body)
        assert error["error"] == "internal_error" and "does not conform" in error["message"]
    else:
        assert answer.status == 200, answer.describe()
        if answer.headers["content-type"].startswith("application/json"):
            assert orjson.loads(answer.body) == body  # passed through as the domain answered
        else:
            assert answer.body.count(b"<VALUE>") == len(body)  # [1, 2] in Moodle's XML


class _BrokenClient:
    """An ASGI ``send`` whose connection breaks once the answer has started."""

    def __init__(self) -> None:
        self.starts = 0

    async def __call__(self, message: dict[str, t.Any]) -> None:
        if message["type"] == "http.response.start":
            self.starts += 1
            return
        raise ConnectionResetError("client went away")


def _scope(case: Case) -> dict[str, t.Any]:
    path, _, query = case.url.partition("?")
    headers = [(k.encode(), v.encode()) for k, v in case.headers.items()]
    if case.body is not None:
        headers.append((b"content-length", str(len(case.body)).encode()))
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": case.method,
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query.encode(),
            "root_path": "", "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}


async def _run_broken(app: t.Any, case: Case) -> tuple[BaseException | None, int]:
    body = case.body or b""
    sent = False

    async def receive() -> dict[str, t.Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    client = _BrokenClient()
    try:
        await app(_scope(case), receive, client)
    except BaseException as exc:
        return exc, client.starts
    return None, client.starts


def _broken_outcome(app: t.Any, case: Case) -> tuple[type[BaseException] | None, int]:
    with warnings.catch_warnings():
        error, starts = asyncio.run(_run_broken(app, case))
        kind = None if error is None else type(error)
        del error
        gc.collect()
    return kind, starts


@pytest.mark.parametrize("case", [c for _, c in FAILING], ids=[op for op, _ in FAILING])
def test_error_after_answer_started_is_not_answered_again(app: t.Any, case: Case):
    error, starts = _broken_outcome(app, case)
    # the client's own error is re-raised: no second answer on a connection that broke mid-answer
    assert error is ConnectionResetError and starts == 1
