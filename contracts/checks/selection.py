"""Which checks judge a case: chosen per API and per generation mode, one registered function each."""

from __future__ import annotations

from typing import Any

from nexsis_contracts.catalog import OperationInfo


def checks_for(
    case: Any, info: OperationInfo, response: Any = None, *, confirmed_auth: bool = False
) -> list[Any]:
    """The checks a case is judged by: what the spec promises, plus its API's envelope and wire rules."""
    from schemathesis.checks import not_a_server_error
    from schemathesis.core.parameters import ParameterLocation
    from schemathesis.specs.openapi import checks as st

    from nexsis_contracts.checks import form_wire, moodle_ws
    from nexsis_contracts.checks.common import nexsis_request_valid_on_wire

    common = [
        not_a_server_error,
        st.status_code_conformance,
        st.content_type_conformance,
        st.response_schema_conformance,
    ]
    if info.api == "moodle-ws":
        return [
            *common,
            moodle_ws.ws_exception_envelope,
            moodle_ws.ws_result_matches_function,
            moodle_ws.ws_negative_data_rejection,
        ]
    out = [*common, st.response_headers_conformance]
    negative = case.meta is not None and case.meta.generation.mode.is_negative
    if negative and (response is None or not nexsis_request_valid_on_wire(case, response)):
        form_body_negative = (case.media_type or "").endswith(
            "x-www-form-urlencoded"
        ) and case.meta.is_negative_at(ParameterLocation.BODY)
        out.append(
            form_wire.form_negative_data_rejection if form_body_negative else st.negative_data_rejection
        )
    if not confirmed_auth:
        out.append(st.ignored_auth)
    return out
