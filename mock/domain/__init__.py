"""The mock's domain: ``Service.call(api, operation_id, params, token) -> Result``.

``service`` holds the ``Service`` (one simulated site), ``dispatch`` what running one operation
means, ``request_log`` NexSIS's own request log, ``functions`` what the site knows of Moodle
functions beyond the spec. The server layer only ever sees ``Service`` and ``Result``
(docs/CONVENTIONS.md, ARCHITECTURE.md).
"""

from __future__ import annotations

from nexsis_mock.result import Result

from .service import API_NEXSIS, API_WS, Service

__all__ = ["API_NEXSIS", "API_WS", "Result", "Service"]
