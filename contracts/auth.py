"""Auth probes, replayed from one accepted case of each operation.

Every operation must refuse a missing token, a wrong token and a token in a place the API does not
read; NexSIS must accept both documented forms (Bearer header and `token` query); a Moodle token
whose user lacks the function's capability must be refused. "Refused" means HTTP 401/403 for NexSIS
and an exception envelope for Moodle (which always answers HTTP 200). The places chosen as "wrong"
are ones no implementation reads (a custom header; for Moodle, an Authorization header), so a
correct site cannot trip them.
"""

from __future__ import annotations

from typing import Any

import requests

from nexsis_contracts.catalog import OperationInfo
from nexsis_contracts.results import OperationResult
from nexsis_contracts.run_context import RunContext
from nexsis_contracts.safety import RefusedRequest

WRONG_TOKEN = "nexsis-contracts-invalid-token-0000"


def _send(run: RunContext, case: Any, **kwargs: Any) -> Any | None:
    try:
        return case.call(session=run.session, **kwargs)
    except (RefusedRequest, requests.RequestException):
        return None


def _envelope(response: Any) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) and "exception" in body else None


#: Functions that filter by capability instead of refusing (moodle-ws-facts.md: a token without
#: tool/muprog:view gets [] from get_programs).
CAPABILITY_FILTERED = frozenset({"tool_muprog_get_programs"})


def _capability_checked(info: OperationInfo) -> bool:
    """MOODLE_WS_NOCAP_TOKEN is a user without the tool/muprog capabilities (like the recorded site's
    `wsnocap`); only functions that require one of those must refuse it. core_group_* functions say
    nothing here: deleting a group that does not exist succeeds for anyone."""
    return info.operation_id not in CAPABILITY_FILTERED and any(
        c.startswith("tool/muprog:") for c in info.capabilities
    )


def probe_operation(run: RunContext, case: Any, info: OperationInfo, result: OperationResult) -> None:
    if info.api == "nexsis":
        _nexsis(run, case, info, result)
    else:
        _ws(run, case, info, result)


def _nexsis(run: RunContext, case: Any, info: OperationInfo, result: OperationResult) -> None:
    token = run.settings.tokens.get("nexsis") or ""
    variants = {
        "auth_missing_token": {},
        "auth_wrong_token": {"headers": {"Authorization": f"Bearer {WRONG_TOKEN}"}},
        "auth_wrong_token_query": {"params": {"token": WRONG_TOKEN}},
        "auth_token_wrong_place": {"headers": {"X-NexSIS-Token": token}},
    }
    for check, kwargs in variants.items():
        response = _send(run, case, **kwargs)
        if response is None:
            continue
        result.checks_run.add(check)
        result.observe(response, validated=False)
        if response.status_code not in (401, 403):
            run.record_failure(
                result,
                check,
                f"{check.replace('_', ' ')} was not refused",
                f"{info.operation_id} answered HTTP {response.status_code} to a request "
                "without a valid token where the API reads it; expected 401",
                response,
                None,
            )
    # Both documented forms must be accepted: the query form answers as the Bearer form did.
    response = _send(run, case, params={"token": token})
    if response is not None:
        result.checks_run.add("auth_query_token_accepted")
        result.observe(response, validated=False)
        if response.status_code in (401, 403):
            run.record_failure(
                result,
                "auth_query_token_accepted",
                "token in the query was refused",
                f"{info.operation_id} refused the valid token sent as ?token= "
                f"(HTTP {response.status_code}); the documentation allows it",
                response,
                None,
            )


def _ws(run: RunContext, case: Any, info: OperationInfo, result: OperationResult) -> None:
    token = run.settings.tokens.get("moodle-ws") or ""
    variants = {
        "auth_missing_token": {},
        "auth_wrong_token": {"params": {"wstoken": WRONG_TOKEN}},
        "auth_token_wrong_place": {"headers": {"Authorization": f"Bearer {token}"}},
    }
    for check, kwargs in variants.items():
        response = _send(run, case, **kwargs)
        if response is None:
            continue
        result.checks_run.add(check)
        result.observe(response, validated=False)
        if response.status_code == 200 and _envelope(response) is None:
            run.record_failure(
                result,
                check,
                f"{check.replace('_', ' ')} was not refused",
                f"{info.operation_id} answered a result without a valid wstoken; expected "
                "the exception envelope (errorcode invalidtoken)",
                response,
                None,
            )
    nocap = run.settings.tokens.get("moodle-ws-nocap")
    success = run.first_success.get(info.operation_id)
    if nocap and success is not None and _capability_checked(info):
        # Replayed only from a case the full token ran successfully: its ids exist, so the one thing
        # left to refuse is the capability (Moodle checks parameters and records first).
        response = _send(run, success, params={"wstoken": nocap})
        if response is not None:
            result.checks_run.add("auth_capability_required")
            result.observe(response, validated=False)
            if response.status_code == 200 and _envelope(response) is None:
                caps = ", ".join(info.capabilities) or "its capability"
                run.record_failure(
                    result,
                    "auth_capability_required",
                    "token without capability was not refused",
                    f"{info.operation_id} ran for a user without {caps}; expected an "
                    "exception envelope (nopermissions)",
                    response,
                    None,
                )
