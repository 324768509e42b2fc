"""The one place where the suite's requests leave the process.

`GuardedSession.send` is the choke point: it drops URL fragments (the WS operations' `#function`
keys), asks the guard, waits for the rate limiter, enforces the time budget, and records the exchange
(redacted) for the report. `guarded_schema` makes schemathesis use it for everything it sends,
including the probes its checks send on their own sessions (ignored_auth), which would otherwise
bypass any session passed to `case.call`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urldefrag, urlsplit

import requests

from nexsis_contracts.safety import Decision, Guard, Ledger, observe
from nexsis_openapi import redact, redact_text

if TYPE_CHECKING:
    from schemathesis.schemas import BaseSchema


class BudgetExhausted(Exception):
    """The run's --time-budget is spent; no further test request is sent (cleanup still is)."""


class RateLimiter:
    """Spaces requests evenly at `rate` per second across all worker threads."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        delay = slot - time.monotonic()
        if delay > 0:
            time.sleep(delay)


@dataclass
class Exchange:
    """One request/response pair as the report shows it: already redacted."""

    seq: int
    method: str
    url: str
    request_headers: dict[str, str]
    request_body: str
    status: int | None
    response_headers: dict[str, str]
    response_body: str
    elapsed: float
    api: str | None
    operation: str | None
    is_write: bool


@dataclass
class Recorder:
    secrets: tuple[str, ...]
    limit_body: int = 4000
    exchanges: list[Exchange] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(
        self,
        req: requests.PreparedRequest,
        resp: requests.Response | None,
        elapsed: float,
        decision: Decision | None,
    ) -> Exchange:
        body = req.body or b""
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
        with self._lock:
            ex = Exchange(
                seq=len(self.exchanges) + 1,
                method=str(req.method),
                url=redact_text(str(req.url), self.secrets),
                request_headers=redact(dict(req.headers), self.secrets),
                request_body=redact_text(text[: self.limit_body], self.secrets),
                status=resp.status_code if resp is not None else None,
                response_headers=redact(dict(resp.headers), self.secrets) if resp is not None else {},
                response_body=redact_text(resp.text[: self.limit_body], self.secrets)
                if resp is not None
                else "",
                elapsed=elapsed,
                api=decision.api if decision else None,
                operation=decision.operation.operation_id if decision and decision.operation else None,
                is_write=bool(decision and decision.is_write),
            )
            self.exchanges.append(ex)
        return ex


class GuardedSession(requests.Session):
    """A requests session whose every send passes the guard, the limiter and the budget."""

    def __init__(
        self,
        guard: Guard,
        recorder: Recorder,
        limiter: RateLimiter,
        deadline: float | None = None,
        timeout: float = 30.0,
    ) -> None:
        super().__init__()
        self.guard = guard
        self.recorder = recorder
        self.limiter = limiter
        self.deadline = deadline
        self.timeout = timeout
        self.enforce_budget = True  # False during cleanup: budget and stop requests no longer apply
        self.stop_requested: str | None = None  # "interrupted" / "terminated", set by the signal handlers
        self.trust_env = False  # a proxy from the environment must not see staging tokens

    @property
    def ledger(self) -> Ledger:
        return self.guard.ledger

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        url, _fragment = urldefrag(str(request.url))
        request.url = url
        decision = self.guard.check(str(request.method), url, request.body)
        if (
            decision.operation is not None
            and decision.operation.operation_id == "tool_muprog_source_cohort_add_cohort"
        ):
            decision.ids["_cohort_was_attached"] = self._cohort_attached(request, decision)
        if self.enforce_budget and self.stop_requested:
            raise KeyboardInterrupt(self.stop_requested)
        if self.enforce_budget and self.deadline is not None and time.monotonic() > self.deadline:
            raise BudgetExhausted("time budget exhausted")
        self.limiter.wait()
        kwargs.setdefault("timeout", self.timeout)
        start = time.monotonic()
        try:
            response = super().send(request, **kwargs)
        except requests.RequestException:
            self.recorder.record(request, None, time.monotonic() - start, decision)
            raise
        if kwargs.get("stream"):
            response.content  # noqa: B018 - read now so the recorder and checks see the body
        self.recorder.record(request, response, time.monotonic() - start, decision)
        if decision.is_write:
            try:
                body = response.json()
            except ValueError:
                body = None
            observe(
                self.guard.ledger,
                self.guard.catalog,
                decision,
                response.status_code,
                body,
                urlsplit(url).path,
            )
        return response

    def _cohort_attached(self, request: requests.PreparedRequest, decision: Decision) -> bool | None:
        """Read the program's cohorts first, so cleanup detaches only a cohort this run attached."""
        from nexsis_openapi import codec

        form = {
            "wsfunction": "tool_muprog_source_cohort_get_cohorts",
            "moodlewsrestformat": "json",
            "programid": decision.ids.get("programid"),
        }
        try:
            resp = self.post(
                str(request.url),
                data=codec.encode(form).encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            cohorts = resp.json()
        except (requests.RequestException, ValueError):
            return None
        if not isinstance(cohorts, list):
            return None
        return any(
            str(c.get("id")) == str(decision.ids.get("cohortid")) for c in cohorts if isinstance(c, dict)
        )


def guarded_schema(schema: BaseSchema, session: GuardedSession) -> BaseSchema:
    """Return `schema` re-classed so that its transport always sends through `session`.

    schemathesis resolves the transport through the schema's `transport` property; subclassing that
    property is the supported seam (a custom transport), and it also catches the probe requests
    that built-in checks send with a fresh session of their own.
    """
    from schemathesis.transport.requests import RequestsTransport

    base = schema.transport

    class _GuardedTransport(RequestsTransport):
        def send(self, case: Any, *, session: requests.Session | None = None, **kwargs: Any) -> Any:
            return super().send(case, session=sessionobj, **kwargs)

    sessionobj = session
    transport = _GuardedTransport()
    transport._copy_serializers_from(base)
    cls = type(schema)
    guarded_cls = type(f"Guarded{cls.__name__}", (cls,), {"transport": property(lambda self: transport)})
    schema.__class__ = guarded_cls
    return schema
