"""What the stateful scenarios share: the plain client, the bodies they write, judging a step's answer."""

from __future__ import annotations

from typing import Any

import requests

from nexsis_contracts import calls
from nexsis_contracts.results import OperationResult
from nexsis_contracts.run_context import RunContext


class StepFailed(AssertionError):
    def __init__(self, rule: str, message: str, response: Any | None) -> None:
        super().__init__(message)
        self.rule, self.response = rule, response


class Client:
    """Plain NexSIS/WS calls through the guarded session, for fixtures and scenarios."""

    def __init__(self, run: RunContext) -> None:
        self.run = run

    def nexsis(self, method: str, path: str, json: Any = None) -> requests.Response:
        return calls.nexsis(self.run, method, path, json)

    def ws(self, function: str, **params: Any) -> Any:
        return calls.ws(self.run, function, **params)


def scenario_result(run: RunContext, api: str, name: str, label: str) -> OperationResult:
    """A scenario's result, in the run's results from the start (a skip or an error is reported too)."""
    result = OperationResult(api=api, name=name, kind="scenario", label=label)
    run.result.results.append(result)
    return result


def course_body(cid: str) -> dict[str, Any]:
    return {
        "fullname": f"Contract course {cid}",
        "shortname": cid,
        "startdate": "2026-01-05T08:00:00+00:00",
        "categorypath": "/Contract tests",
    }


def user_body(uid: str) -> dict[str, Any]:
    return {
        "username": uid.lower(),
        "firstname": "Contract",
        "lastname": uid,
        "email": f"{uid.lower()}@example.invalid",
    }


def judge(run: RunContext, result: OperationResult, api: str, operation_id: str, response: Any) -> None:
    """Run the operation's schemathesis checks on a scenario response."""
    schema = run.schemas.get(api)
    info = run.catalog.find(api, operation_id)
    if schema is None or info is None:
        return
    from urllib.parse import urlsplit

    from schemathesis.core.failures import FailureGroup

    operation = schema.find_operation_by_id(operation_id)
    params: dict[str, Any] = {}
    if api == "nexsis":
        hit = run.catalog.match_nexsis(str(response.request.method), urlsplit(str(response.request.url)).path)
        params = hit[1] if hit else {}
    case = operation.Case(path_parameters=params)
    for check in run.checks_for(case, info):
        if check.__name__ in (
            "ignored_auth",
            "negative_data_rejection",
            "form_negative_data_rejection",
            "ws_negative_data_rejection",
        ):
            continue
        try:
            case.validate_response(response, checks=[check])
        except FailureGroup as group:
            for failure in group.exceptions:
                run.record_failure(
                    result,
                    check.__name__,
                    f"{operation_id}: {failure.title}",
                    failure.message,
                    response,
                    None,
                )
        except AssertionError as exc:
            run.record_failure(result, check.__name__, str(exc), str(exc), response, None)
        except Exception as exc:
            result.errors.append(f"{check.__name__}: {type(exc).__name__}: {exc}"[:300])
