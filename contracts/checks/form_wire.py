"""negative_data_rejection for NexSIS form bodies, judged on the request as it went out.

schemathesis' built-in exempts only the mutations its own form serializer erases; with PHP bracket
notation every value is a string and `null`s vanish, so a body-only negative case is asserted here
only when the wire body is still invalid (see nexsis_contracts.wire).
"""

from __future__ import annotations

import schemathesis
from schemathesis import Case, CheckContext, Response

from nexsis_contracts.checks.common import is_effectively_negative, is_ws

#: What NexSIS answers invalid input with (its documented 4xx codes).
REJECTIONS = {400, 404, 409, 413, 415, 422}


@schemathesis.check
def form_negative_data_rejection(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """A form body that is invalid on the wire must be refused with a 4xx."""
    if is_ws(case) or not is_effectively_negative(case, response):
        return None
    if response.status_code in REJECTIONS or 400 <= response.status_code < 500:
        return True
    if response.status_code >= 500:
        return None  # not_a_server_error reports it
    raise AssertionError(
        f"Invalid form body was accepted with HTTP {response.status_code} (expected a 4xx rejection)"
    )
