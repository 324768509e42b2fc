"""Health check."""

from __future__ import annotations

from typing import Any

from nexsis_mock.handlers import Ctx, nexsis_op


@nexsis_op("ping")
def ping(ctx: Ctx, params: dict[str, Any]) -> dict[str, str]:
    return {"message": "pong"}
