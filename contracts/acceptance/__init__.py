"""Class 1: a valid request refused. Every documented way of calling an operation must be accepted.

schemathesis' `positive_data_acceptance` is the model: valid data must not be refused. It cannot
be used as is on generated cases, because a generated positive case names ids that do not exist
and is rightly answered 404 (or `invalidrecordunknown`). Here the valid request is the fixture
graph's anchor (ids that exist, rebuilt for each variant so victims and completion pairs are
fresh), sent once as the baseline and once per documented variant (`variants.RULES`).

Judgement, per operation:
- baseline accepted: every variant answered a refusal (NexSIS 4xx, 415 included; Moodle
  `invalidparameter` or `invalidtoken`) fails the variant's rule;
- baseline refused but a variant accepted: the baseline's form is what broke (the variant's
  `inverse` rule, reported on the baseline's request);
- nothing accepted: nothing is said (the ids may be wrong; the anchor's own checks speak).
Other answers (a 5xx, another Moodle error) are not a "refused valid request" and are left to the
rules that own them (`not_a_server_error` is applied here too).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

from nexsis_contracts.acceptance.variants import RULES, Request, Variant, variants_of
from nexsis_contracts.catalog import OperationInfo
from nexsis_contracts.results import OperationResult, outcome_of
from nexsis_contracts.run_context import RunContext
from nexsis_contracts.safety import RefusedRequest
from nexsis_openapi import codec
from nexsis_openapi.moodle import WS_PATH

__all__ = ["RULES", "check_acceptance"]

#: Writes whose anchor names no time although the body takes one: the baseline adds it (the graph's
#: START), so that every documented time form is tried on them too.
TIME_FIELDS = {
    "putCourse": "startdate",
    "putProgramAllocation": "startdate",
    "putCertificationAllocation": "startdate",
}

#: Moodle errorcodes that mean "this call was not understood" rather than "this record is wrong".
WS_REFUSALS = frozenset({"invalidparameter", "invalidtoken"})


def _baseline(run: RunContext, info: OperationInfo) -> Request | None:
    """The operation's success request as the suite sends it by default, ids freshly prepared."""
    graph = run.graph
    if graph is None:
        return None
    anchor = _fresh_completion(run) if info.operation_id == "addCourseCompletion" else graph.anchor(info)
    if anchor is None:
        return None
    if info.api == "moodle-ws":
        return Request("moodle-ws", "POST", {}, body=dict(anchor.body or {}), media="form", token_in="query")
    body = anchor.body
    if info.operation_id in TIME_FIELDS and isinstance(body, dict):
        from nexsis_contracts.graph import START

        body = {**body, TIME_FIELDS[info.operation_id]: START}
    media = "json" if body is not None else None
    return Request(
        "nexsis", info.method, dict(anchor.path_parameters), dict(anchor.query or {}), body, media, "bearer"
    )


def _fresh_completion(run: RunContext) -> Any:
    """A completion of a new user enrolled in the run's course: a completion keeps its first time,
    so each form needs a pair that has none yet."""
    from nexsis_contracts.graph import COMPLETION_TIME, Anchor
    from nexsis_contracts.graph.base import succeeded

    graph = run.graph
    assert graph is not None
    course = graph.course()
    user = graph.fresh_user() if course else None
    if not (course and user):
        return None
    if not succeeded(graph.call("PUT", f"/user/{user}/enrol/{course}", {"roleid": "student"})):
        return None
    return Anchor({"courseid": course, "userid": user, "timecompleted": COMPLETION_TIME})


def send(run: RunContext, info: OperationInfo, req: Request) -> requests.Response | None:
    """Put one request on the wire through the guarded session; None if refused or unsendable."""
    settings = run.settings
    headers: dict[str, str] = {}
    params: dict[str, Any] = dict(req.query)
    data: bytes | None = None
    json_body: Any = None
    if req.api == "moodle-ws":
        url = settings.target("moodle-ws") + WS_PATH
        token = settings.tokens.get("moodle-ws") or ""
        form = {
            "wsfunction": info.operation_id,
            "moodlewsrestformat": "json",
            **(req.body or {}),
            **req.ws_extra_body,
        }
        if req.token_in == "body":
            form["wstoken"] = token
        else:
            params["wstoken"] = token
        params.update(req.ws_extra_query)
        data = codec.encode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    else:
        path = info.path
        for name, value in req.path.items():
            path = path.replace("{" + name + "}", quote(str(value), safe=""))
        url = settings.target("nexsis") + run.catalog.prefixes.get("nexsis", "") + path
        token = settings.tokens.get("nexsis") or ""
        if req.token_in == "query":
            params["token"] = token
        else:
            headers["Authorization"] = f"Bearer {token}"
        if req.media == "json":
            json_body = req.body
        elif req.media == "form":
            data = codec.encode(req.body or {}).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        return run.session.request(req.method, url, params=params, data=data, json=json_body, headers=headers)
    except (RefusedRequest, requests.RequestException):
        return None


def accepted(api: str, response: requests.Response) -> bool:
    return outcome_of(api, response) == "ok"


def refused(api: str, response: requests.Response) -> bool:
    """A refusal of the request itself: NexSIS 4xx (401, 404, 415 ...), Moodle's parameter/token errors."""
    if api == "nexsis":
        return 400 <= response.status_code < 500
    return outcome_of(api, response) in WS_REFUSALS


def check_acceptance(run: RunContext, info: OperationInfo, result: OperationResult) -> None:
    """Send the baseline and every documented variant of the operation; judge them as one group."""
    base = _baseline(run, info)
    if base is None:
        return
    first = send(run, info, base)
    if first is None:
        return
    _observe(run, info, result, first)
    tried: list[tuple[Variant, requests.Response]] = []
    for variant in variants_of(base, info.operation_id):
        fresh = _baseline(run, info)
        if fresh is None:
            continue
        response = send(run, info, variant.change(fresh))
        if response is None:
            continue
        result.checks_run.add(variant.rule)
        _observe(run, info, result, response)
        tried.append((variant, response))
    answer = _answer(first)
    if accepted(info.api, first):
        for variant, response in tried:
            if refused(info.api, response):
                run.record_failure(
                    result,
                    variant.rule,
                    f"{info.label} refused a documented form: {variant.what}",
                    f"{info.label} refused {variant.what}: {_answer(response)}; the same request "
                    f"({base.describe()}) was accepted: {answer}. The documentation allows both.",
                    response,
                    None,
                )
    elif refused(info.api, first):
        reported: set[str] = set()
        for variant, response in tried:
            if variant.inverse and variant.inverse not in reported and accepted(info.api, response):
                reported.add(variant.inverse)
                result.checks_run.add(variant.inverse)
                run.record_failure(
                    result,
                    variant.inverse,
                    f"{info.label} refused the default documented form ({base.describe()})",
                    f"{info.label} refused {base.describe()}: {answer}; the same request with "
                    f"{variant.what} was accepted: {_answer(response)}. The documentation allows both.",
                    first,
                    None,
                )


def _observe(
    run: RunContext, info: OperationInfo, result: OperationResult, response: requests.Response
) -> None:
    result.cases += 1
    result.observe(response, validated=False)
    if response.status_code >= 500:
        result.checks_run.add("not_a_server_error")
        run.record_failure(
            result,
            "not_a_server_error",
            f"Server error {response.status_code} on a documented form of a valid request",
            f"{info.label} answered HTTP {response.status_code} to a valid request",
            response,
            None,
        )


def _answer(response: requests.Response) -> str:
    text = f"HTTP {response.status_code}"
    outcome = outcome_of("moodle-ws", response) if "server.php" in str(response.request.url) else ""
    if outcome and outcome != "ok":
        text += f" with errorcode {outcome}"
    return text
