"""The suite's checks applied to live traffic: which operation an exchange is, and what it broke.

Nothing here sends a request. An exchange is matched to its operation the way the servers route it
(NexSIS by method and path, Moodle by the ``wsfunction`` of the bracket-decoded, merged query and
form body), turned into a schemathesis ``Case`` and ``Response``, and judged by the checks
``nexsis check`` uses for positive traffic (`checks.selection.checks_for` with authentication taken
as confirmed: schemathesis' ``ignored_auth`` sends probes, which a proxy must never do). One rule is
passive and lives here: an answer of success to a request that carried no credentials at all.
A web-service answer in XML is first read into the JSON value it stands for (`proxy/moodle_xml.py`)
and then judged the same way; a call Moodle refuses answered with a result is an advisory note
(`proxy/advisory.py`), not a violation.
"""

from __future__ import annotations

import copy
import gzip
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from requests.structures import CaseInsensitiveDict

from nexsis_contracts.catalog import Catalog, OperationInfo
from nexsis_contracts.checks.common import is_envelope
from nexsis_contracts.proxy.advisory import Note, invalid_request_accepted
from nexsis_contracts.proxy.exchange import Exchange
from nexsis_openapi import codec, load_spec

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


@dataclass
class Violation:
    rule: str  # the check that fired (the suite's check names), or upstream_timeout / upstream_error
    reason: str  # one line
    message: str  # the check's full message


@dataclass
class Verdict:
    api: str | None
    operation: str | None  # operationId or wsfunction; None when the exchange is no known operation
    label: str = ""
    violations: list[Violation] = field(default_factory=list)
    not_judged: str | None = None  # why no check could look at it (unknown path, XML format...)
    response: Any = None  # the schemathesis Response judged (for outcome counting)
    notes: list[Note] = field(default_factory=list)  # advisory, never violations (proxy/advisory.py)


class Judge:
    """Loads both specs once; `judge` is synchronous, run one exchange at a time in the judging process."""

    def __init__(self, upstream: str) -> None:
        import schemathesis

        self.catalog = Catalog()
        self.upstream = upstream.rstrip("/")
        self.schemas: dict[str, Any] = {}
        for api in ("nexsis", "moodle-ws"):
            raw = copy.deepcopy(load_spec(api))
            server = ((raw.get("servers") or [{"url": "/"}])[0].get("url") or "/").rstrip("/")
            raw["servers"] = [{"url": server or "/"}]
            schema: Any = schemathesis.openapi.from_dict(raw)
            schema.config.update(base_url=self.upstream + server)
            self.schemas[api] = schema

    def route(self, ex: Exchange) -> tuple[OperationInfo | None, dict[str, Any], str | None]:
        return route(self.catalog, ex)

    # -- judging ------------------------------------------------------------------------------------
    def judge(self, ex: Exchange) -> Verdict:
        if ex.error is not None:
            rule = "upstream_timeout" if ex.error.startswith("timeout") else "upstream_error"
            info, _params, _why = self.route(ex)
            return Verdict(
                info.api if info else None,
                info.operation_id if info else None,
                info.label if info else "",
                [Violation(rule, ex.error, f"{ex.method} {ex.target}: {ex.error}")],
            )
        info, params, why = self.route(ex)
        verdict = Verdict(
            info.api if info else None, info.operation_id if info else None, info.label if info else ""
        )
        if info is None or why is not None:
            verdict.not_judged = why
            return verdict
        if not ex.response_complete:
            verdict.not_judged = "answer too large to check"
            return verdict
        body = _decoded(ex)
        if body is None:
            verdict.not_judged = f"content-encoding {ex.header('content-encoding', True)!r}"
            return verdict
        case = self._case(info, params, ex)
        if info.api == "moodle-ws" and is_xml_call(params):
            body, problem = _as_json(case, body)
            if problem is not None:
                verdict.violations.append(problem)
                return verdict
            response = _response(ex, body, content_type=JSON)
        else:
            response = _response(ex, body)
        verdict.response = response
        from nexsis_contracts.checks.selection import checks_for

        checks = checks_for(case, info, response, confirmed_auth=True)
        if not _all_pass(checks, case, response, ex):  # then each on its own, to name the rule
            for check in checks:
                verdict.violations.extend(_run_check(check, case, response, ex))
        unauthenticated = _unauthenticated_success(info, params, ex, response)
        if unauthenticated:
            verdict.violations.append(unauthenticated)
        if info.api == "moodle-ws":
            try:
                answer = response.json()
            except ValueError:
                return verdict
            note = invalid_request_accepted(info.operation_id, params, ex.status or 0, answer)
            if note is not None:
                verdict.notes.append(note)
        return verdict

    def _case(self, info: OperationInfo, params: dict[str, Any], ex: Exchange) -> Any:
        operation = self.schemas[info.api].find_operation_by_id(info.operation_id)
        media = ex.header("content-type").split(";")[0].strip() or None
        kwargs: dict[str, Any] = {"headers": dict(ex.request_headers)}
        if info.api == "nexsis":
            kwargs["path_parameters"] = params
            kwargs["query"] = dict(parse_qsl(urlsplit(ex.target).query, keep_blank_values=True))
            if ex.request_body and media:
                kwargs["media_type"] = media
                kwargs["body"] = _parsed_body(ex.request_body, media)
        else:
            kwargs["media_type"] = FORM
            kwargs["body"] = params
        return operation.Case(**kwargs)


def _parsed_body(raw: bytes, media: str) -> Any:
    try:
        if media.endswith("json"):
            import orjson

            return orjson.loads(raw)
        if media == FORM:
            return codec.decode(raw)
    except (ValueError, codec.CodecError):
        pass
    return raw.decode("utf-8", "replace")


def _decoded(ex: Exchange) -> bytes | None:
    encoding = ex.header("content-encoding", True).strip().lower()
    if encoding in ("", "identity"):
        return ex.response_body
    try:
        if encoding == "gzip":
            return gzip.decompress(ex.response_body)
        if encoding == "deflate":
            return zlib.decompress(ex.response_body)
    except (OSError, zlib.error):
        return None
    return None


def _prepared(ex: Exchange) -> requests.PreparedRequest:
    """The request as it went out (nothing re-serialized): checks read URL, headers and body."""
    prepared = requests.PreparedRequest()
    prepared.method = ex.method
    prepared.url = ex.url
    prepared.headers = CaseInsensitiveDict(dict(ex.request_headers))
    prepared.body = ex.request_body or None
    return prepared


def is_xml_call(params: dict[str, Any]) -> bool:
    """Moodle answers in XML unless the call asks for JSON (``REST_FORMATS``: anything else is XML)."""
    return params.get("moodlewsrestformat") != "json"


def _as_json(case: Any, body: bytes) -> tuple[bytes, Violation | None]:
    """An XML answer as the JSON body it stands for (`proxy/moodle_xml.py`), or why it is none."""
    import orjson

    from nexsis_contracts.checks.moodle_ws import result_validator
    from nexsis_contracts.proxy import moodle_xml

    validator = result_validator(case)
    try:
        read = moodle_xml.read(body, validator.schema if validator is not None else {})
    except moodle_xml.NotMoodleXml as exc:
        reason = f"XML answer is not Moodle's: {exc}"[:200]
        return b"", Violation("ws_xml_response", reason, reason)
    return orjson.dumps(read.value), None


def _response(ex: Exchange, body: bytes, content_type: str | None = None) -> Any:
    """The answer for the checks; `content_type` stands in for the wire's (an XML answer read as JSON)."""
    from schemathesis import Response

    headers: dict[str, list[str]] = {}
    for key, value in ex.response_headers:
        if key.lower() == "content-type" and content_type is not None:
            continue
        if key.lower() != "content-encoding":  # the body handed over is already decoded
            headers.setdefault(key.lower(), []).append(value)
    if content_type is not None:
        headers["content-type"] = [content_type]
    return Response(
        status_code=ex.status or 0,
        headers=headers,
        content=body,
        request=_prepared(ex),
        elapsed=ex.elapsed,
        verify=True,
    )


def _all_pass(checks: list[Any], case: Any, response: Any, ex: Exchange) -> bool:
    """All checks in one schemathesis call: most exchanges pass, and each call has a fixed cost
    (its check context and configuration) several times that of the checks themselves."""
    from schemathesis.core.failures import FailureGroup

    try:
        case.validate_response(response, checks=checks, headers=dict(ex.request_headers))
    except (FailureGroup, AssertionError):
        return False
    return True


def _run_check(check: Any, case: Any, response: Any, ex: Exchange) -> list[Violation]:
    from schemathesis.core.failures import FailureGroup

    name = check.__name__
    try:
        case.validate_response(response, checks=[check], headers=dict(ex.request_headers))
    except FailureGroup as group:
        return [
            _violation(name, str(getattr(f, "title", name)), str(getattr(f, "message", f)))
            for f in group.exceptions
        ]
    except AssertionError as exc:
        return [Violation(name, _line(str(exc)), str(exc))]
    return []


def _violation(rule: str, title: str, message: str) -> Violation:
    """Reason: the failure's title with the first line of its message (what differed)."""
    detail = _line(message)
    reason = title if not detail or detail == title else f"{title}: {detail}"
    if title.startswith("Custom check failed") and detail:
        reason = detail
    return Violation(rule, _line(reason), message)


def _line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0][:200]


def _unauthenticated_success(
    info: OperationInfo, params: dict[str, Any], ex: Exchange, response: Any
) -> Violation | None:
    """Passive ``ignored_auth``: both specs require credentials on every operation."""
    if info.api == "nexsis":
        query = dict(parse_qsl(urlsplit(ex.target).query, keep_blank_values=True))
        if ex.header("authorization") or query.get("token"):
            return None
        if not 200 <= (ex.status or 0) < 300:
            return None
        return Violation(
            "ignored_auth",
            f"HTTP {ex.status} to a request without credentials",
            "The request carried no Authorization header and no token parameter, and "
            f"was answered with HTTP {ex.status}; the spec requires a token",
        )
    if params.get("wstoken") or ex.status != 200:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    if is_envelope(body):
        return None
    return Violation(
        "ignored_auth",
        "result to a call without wstoken",
        f"{info.operation_id} was called without wstoken and answered with a result, "
        "not Moodle's invalidtoken exception",
    )


def ws_params(ex: Exchange) -> dict[str, Any]:
    """``array_merge($_GET, $_POST)``: Moodle reads the query, then the form body over it."""
    query = urlsplit(ex.target).query
    params = dict(codec.decode(query)) if query else {}
    media = ex.header("content-type").split(";")[0].strip().lower()
    if ex.request_body and media == FORM:
        params.update(codec.decode(ex.request_body))
    return params


def route(catalog: Catalog, ex: Exchange) -> tuple[OperationInfo | None, dict[str, Any], str | None]:
    """(operation, its parameters, why it cannot be judged): routed the way the servers route it."""
    path = urlsplit(ex.target).path
    if catalog.is_ws_path(path):
        if not ex.request_complete:
            return None, {}, "request body too large to read its function"
        try:
            params = ws_params(ex)
        except codec.CodecError as exc:
            return None, {}, f"parameters not decodable: {exc}"[:120]
        function = params.get("wsfunction")
        info = catalog.ws_functions.get(function) if isinstance(function, str) else None
        if info is None:
            return None, params, f"function {str(function)[:60]!r} not in the spec"
        return info, params, None
    found = catalog.match_nexsis(ex.method, path)
    if found is None:
        return None, {}, "no operation of either spec"
    return found[0], found[1], None
