"""Drive schemathesis per operation, then the auth and stateful scenarios, then clean up.

Each operation is generated with schemathesis' own hypothesis strategies (positive, then negative),
sent with `case.call` through the guarded session, and judged with `case.validate_response` one check
at a time, so every failure is attributed to the rule it broke. Cleanup runs in `finally`: after
failures, after the time budget, and after SIGINT/SIGTERM.
"""

from __future__ import annotations

import signal
import threading
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import requests

from nexsis_contracts.catalog import Catalog, OperationInfo
from nexsis_contracts.checks.selection import checks_for
from nexsis_contracts.cleanup import cleanup
from nexsis_contracts.concurrency import serialize_ast_parse
from nexsis_contracts.config import ConfigError, Settings
from nexsis_contracts.dry_run import dry_run
from nexsis_contracts.evidence import connection_dropped, exchange_of, reproduction, request_of
from nexsis_contracts.preflight import preflight
from nexsis_contracts.results import FailureRecord, OperationResult, RunResult
from nexsis_contracts.rewrite import Rewriter, Skip
from nexsis_contracts.safety import Guard, Ledger, RefusedRequest
from nexsis_contracts.transport import BudgetExhausted, GuardedSession, RateLimiter, Recorder
from nexsis_openapi import redact_text

if TYPE_CHECKING:
    from nexsis_contracts.graph import FixtureGraph


class Terminated(BaseException):
    """SIGTERM, turned into an exception so `finally` blocks (cleanup) run."""


class Run:
    """One `nexsis check` run: shared state of all workers."""

    def __init__(
        self, settings: Settings, progress: Callable[[str, OperationResult | None], None] | None = None
    ):
        self.settings = settings
        self.catalog = Catalog()
        self.ledger = Ledger(prefix=settings.id_prefix)
        self.guard = Guard(settings, self.catalog, self.ledger)
        self.recorder = Recorder(secrets=settings.secrets)
        deadline = time.monotonic() + settings.time_budget if settings.time_budget else None
        self.session = GuardedSession(
            self.guard,
            self.recorder,
            RateLimiter(settings.rate_limit),
            deadline=deadline,
            timeout=settings.request_timeout,
        )
        self.rewriter = Rewriter(settings, self.ledger)
        self.result = RunResult(settings_summary=self._summary())
        self.progress = progress or (lambda _msg, _res: None)
        self.schemas: dict[str, Any] = {}
        self.auth_confirmed: set[str] = set()
        self.first_positive: dict[str, Any] = {}
        self.first_success: dict[str, Any] = {}  # WS: a positive case the full token ran successfully
        self.graph: FixtureGraph | None = None  # once the target answered the preflight
        self._lock = threading.Lock()

    def _summary(self) -> dict[str, Any]:
        s = self.settings
        return {
            "base_url": s.base_url,
            "specs": list(s.specs),
            "mode": s.mode,
            "seed": s.seed,
            "max_examples": s.max_examples,
            "workers": s.workers,
            "rate_limit": s.rate_limit,
            "time_budget": s.time_budget,
            "id_prefix": s.id_prefix,
            "operations": list(s.operations),
            "dry_run": s.dry_run,
            "require_success": s.require_success,
        }

    # -- auth placement -------------------------------------------------------------------------
    def auth_kwargs(self, api: str, how: str = "default") -> dict[str, Any]:
        if api == "nexsis":
            token = self.settings.tokens.get("nexsis") or ""
            if how == "query":
                return {"params": {"token": token}}
            return {"headers": {"Authorization": f"Bearer {token}"}}
        return {"params": {"wstoken": self.settings.tokens.get("moodle-ws") or ""}}

    # -- entry point ------------------------------------------------------------------------------
    def execute(self) -> RunResult:
        from nexsis_contracts import schemas

        start = time.monotonic()
        previous = (
            signal.getsignal(signal.SIGTERM)
            if threading.current_thread() is threading.main_thread()
            else None
        )

        def on_term(_signum: int, _frame: Any) -> None:
            self.session.stop_requested = "terminated"
            raise Terminated()

        def on_int(_signum: int, _frame: Any) -> None:
            # Also remembered: an exception raised where Python cannot propagate it (a gc callback
            # inside hypothesis) is swallowed, so the next request raises it again (GuardedSession).
            self.session.stop_requested = "interrupted"
            raise KeyboardInterrupt()

        previous_int = None
        if previous is not None:
            signal.signal(signal.SIGTERM, on_term)
            previous_int = signal.signal(signal.SIGINT, on_int)
        try:
            for api in self.settings.specs:
                self.schemas[api] = schemas.load_schema(api, self.settings, self.session)
            work = [
                (api, op, info)
                for api in self.settings.specs
                for op, info in schemas.selected_operations(
                    self.schemas[api], api, self.settings, self.catalog
                )
            ]
            if not work:
                raise ConfigError("no operation matches --only/--operation")
            if self.settings.dry_run:
                self._dry_run(work)
                return self.result
            self._preflight()
            from nexsis_contracts.graph import FixtureGraph

            # Built lazily: each operation's anchor creates what it needs right before it is sent.
            self.graph = FixtureGraph(self)
            self.rewriter.graph = self.graph
            if self.settings.workers > 1:
                serialize_ast_parse()
                with ThreadPoolExecutor(self.settings.workers) as pool:
                    list(pool.map(lambda item: self._operation(*item), work))
            else:
                for item in work:
                    self._operation(*item)
            if self.settings.stateful:
                from nexsis_contracts.effects import run_effects
                from nexsis_contracts.scenarios import run_scenarios

                run_effects(self)  # serially, after the pool: verdicts independent of --workers
                run_scenarios(self)
        except BudgetExhausted:
            self.result.budget_exhausted = True
        except (KeyboardInterrupt, Terminated):
            self.result.interrupted = True
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
            if previous_int is not None:
                signal.signal(signal.SIGINT, previous_int)
            self.cleanup()
            self.result.refusals = [str(r) for r in self.guard.refusals]
            self.result.requests = len(self.recorder.exchanges)
            self.result.duration = time.monotonic() - start
        return self.result

    def _preflight(self) -> None:
        """Exit 3 with a hint for an unreachable target, a wrong --base-url or a refused token."""
        preflight(self)

    # -- per operation ------------------------------------------------------------------------------
    def _operation(self, api: str, operation: Any, info: OperationInfo) -> OperationResult:
        result = OperationResult(api=api, name=info.operation_id, label=info.label)
        with self._lock:
            self.result.results.append(result)
        started = time.monotonic()
        self.progress(f"{info.operation_id}: generating", None)
        try:
            from schemathesis import GenerationMode

            self._anchor(operation, info, result)
            self._acceptance(info, result)
            self._filters(info, result)
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                self._fuzz(operation, info, result, mode)
            self._auth_probes(info, result)
        except (RefusedRequest, Skip):  # pragma: no cover - handled per case
            pass
        except (BudgetExhausted, requests.RequestException):
            raise
        except Exception as exc:
            # One operation's engine failure (a generation error, a bug) must not end the run and
            # its cleanup: it is reported as this operation's error verdict.
            message = f"{type(exc).__name__}: {exc}".splitlines()[0]
            result.errors.append(redact_text(f"internal error: {message}", self.settings.secrets)[:300])
        finally:
            result.duration = time.monotonic() - started
            self.progress(f"{info.operation_id}: {result.verdict}", result)
        return result

    def _fuzz(self, operation: Any, info: OperationInfo, result: OperationResult, mode: Any) -> None:
        from hypothesis import HealthCheck, Phase, Verbosity, given, seed
        from hypothesis import settings as hsettings

        from nexsis_contracts.phases import explicit_cases

        # schemathesis' examples and coverage phases first (its generators, this loop: see phases.py).
        for case in explicit_cases(operation, mode, max(1, self.settings.max_examples // 2)):
            self.run_case(case, info, result)
        strategy = operation.as_strategy(generation_mode=mode)

        @hsettings(
            max_examples=self.settings.max_examples,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            verbosity=Verbosity.quiet,
            report_multiple_bugs=False,
        )
        @given(case=strategy)
        def test(case: Any) -> None:
            self.run_case(case, info, result)

        seed(self.settings.seed ^ zlib.crc32(f"{info.api}:{info.operation_id}:{mode.value}".encode()))(test)()

    def _anchor(self, operation: Any, info: OperationInfo, result: OperationResult) -> None:
        """Send the operation's success request first (ids from the fixture graph), fully checked."""
        if self.graph is None:
            return
        anchor = self.graph.anchor(info)
        if anchor is None:
            result.anchor_missing = self.graph.needs(info)
            return
        kwargs: dict[str, Any] = {"path_parameters": anchor.path_parameters, "query": anchor.query}
        if anchor.body is not None:
            kwargs.update(body=anchor.body, media_type=anchor.media_type)
        self.run_case(operation.Case(**kwargs), info, result, rewrite=False)

    def _acceptance(self, info: OperationInfo, result: OperationResult) -> None:
        """Class 1 (a valid request refused): the anchor in every documented form (acceptance/)."""
        if self.graph is not None:
            from nexsis_contracts.acceptance import check_acceptance

            check_acceptance(self, info, result)

    def _filters(self, info: OperationInfo, result: OperationResult) -> None:
        """Class 5 (filters and paging honoured): the operation's filter rules (filters/)."""
        if self.graph is not None:
            from nexsis_contracts.filters import check_filters

            check_filters(self, info, result)

    def run_case(self, case: Any, info: OperationInfo, result: OperationResult, rewrite: bool = True) -> Any:
        if rewrite:
            try:
                self.rewriter.apply(case, info)
            except Skip as skip:
                result.skipped[str(skip)] += 1
                return None
        kwargs = self.auth_kwargs(info.api)
        try:
            response = case.call(session=self.session, **kwargs)
        except RefusedRequest:
            result.refused += 1
            return None
        except requests.ConnectionError as exc:
            sent = getattr(exc, "request", None)
            if connection_dropped(exc) and isinstance(sent, requests.PreparedRequest):
                # The server took the request and closed the connection without answering: it crashed.
                self.record_dropped(result, exc)
            else:
                result.errors.append(
                    f"{type(exc).__name__}: {redact_text(str(exc), self.settings.secrets)[:300]}"
                )
            return None
        except requests.RequestException as exc:
            # A request the HTTP client cannot form (an illegal header value) says nothing of the server.
            result.skipped[f"not sendable: {type(exc).__name__}"] += 1
            return None
        result.cases += 1
        outcome = result.observe(response, validated=True)
        if case.meta is None or not case.meta.generation.mode.is_negative:
            self.first_positive.setdefault(info.operation_id, case)
            if info.api == "moodle-ws" and outcome == "ok":
                self.first_success.setdefault(info.operation_id, case)
        self.validate(case, response, info, result, kwargs)
        return response

    def checks_for(self, case: Any, info: OperationInfo, response: Any = None) -> list[Any]:
        return checks_for(case, info, response, confirmed_auth=info.operation_id in self.auth_confirmed)

    def validate(
        self, case: Any, response: Any, info: OperationInfo, result: OperationResult, kwargs: dict[str, Any]
    ) -> None:
        from schemathesis.core.failures import FailureGroup

        for check in self.checks_for(case, info, response):
            name = check.__name__
            result.checks_run.add(name)
            try:
                case.validate_response(
                    response,
                    checks=[check],
                    headers=kwargs.get("headers"),
                    transport_kwargs={"session": self.session, **kwargs},
                )
            except FailureGroup as group:
                for failure in group.exceptions:
                    self.record_failure(
                        result,
                        name,
                        getattr(failure, "title", name),
                        getattr(failure, "message", str(failure)),
                        response,
                        case,
                    )
            except RefusedRequest:
                result.refused += 1
            except AssertionError as exc:
                self.record_failure(result, name, str(exc).split("\n")[0], str(exc), response, case)
            except Exception as exc:
                result.errors.append(f"{name}: {type(exc).__name__}: {exc}"[:300])
            else:
                if name == "ignored_auth" and 200 <= response.status_code < 300:
                    self.auth_confirmed.add(info.operation_id)

    def record_failure(
        self, result: OperationResult, check: str, title: str, message: str, response: Any, case: Any | None
    ) -> None:
        secrets = self.settings.secrets
        request, resp = exchange_of(response, secrets)
        # Built from the request as sent, tokens as "$NEXSIS_TOKEN" (contracts/evidence.py).
        curl = reproduction(response.request, self.settings.token_variables)
        result.add_failure(
            FailureRecord(
                check=check,
                title=redact_text(title, secrets),
                message=redact_text(message, secrets)[:3000],
                request=request,
                response=resp,
                curl=redact_text(curl, secrets),
            )
        )

    def record_dropped(self, result: OperationResult, exc: requests.ConnectionError) -> None:
        secrets = self.settings.secrets
        request = request_of(exc.request, secrets)
        message = (
            f"The server closed the connection without answering ({type(exc).__name__}: "
            f"{redact_text(str(exc), secrets)[:200]}); a crash, like an HTTP 500"
        )
        result.add_failure(
            FailureRecord(
                check="not_a_server_error",
                title="Connection dropped without a response",
                message=message,
                request=request,
                response={"status": None, "headers": {}, "body": ""},
                curl=redact_text(reproduction(exc.request, self.settings.token_variables), secrets),
            )
        )

    # -- auth ----------------------------------------------------------------------------------------
    def _auth_probes(self, info: OperationInfo, result: OperationResult) -> None:
        from nexsis_contracts.auth import probe_operation

        case = self.first_positive.get(info.operation_id)
        if case is not None:
            probe_operation(self, case, info, result)

    # -- dry run and cleanup: modules of their own --------------------------------------------------
    def _dry_run(self, work: list[tuple[str, Any, OperationInfo]]) -> None:
        dry_run(self, work)

    def cleanup(self) -> None:
        """Undo what the run created; runs even after Ctrl-C (a second Ctrl-C is ignored meanwhile)."""
        cleanup(self)
