"""pytest plugin: `pytest --nexsis-base-url URL` runs the suite, one test per operation and scenario.

Loaded by every pytest run of this repository (entry point pytest11), so at import it only defines
options and hooks; nothing is imported or collected unless --nexsis-base-url is given. The suite runs
once (on the first of its tests) and each test reports its own operation's verdict, so `-k getUser`
selects what is generated, too.
"""

from __future__ import annotations

from typing import Any

import pytest

SCENARIOS = {"nexsis": ["scenario_nexsis_lifecycle"], "moodle-ws": ["scenario_muprog_allocation"]}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nexsis", "nexsis contract suite")
    group.addoption("--nexsis-base-url", help="run the conformance suite against this Moodle site root")
    group.addoption("--nexsis-config", help="contracts.yaml (targets, sandbox ids, limits)")
    group.addoption("--nexsis-mode", choices=["read-only", "safe", "full"])
    group.addoption("--nexsis-force", action="store_true")
    group.addoption("--nexsis-only", action="append", choices=["nexsis", "moodle-ws"])
    group.addoption("--nexsis-operation", action="append", help="operationId/tag glob (repeatable)")
    group.addoption("--nexsis-max-examples", type=int)
    group.addoption("--nexsis-seed", type=int)
    group.addoption("--nexsis-report-dir")
    group.addoption("--nexsis-no-stateful", action="store_true")
    group.addoption(
        "--nexsis-require-success",
        action="store_true",
        help="fail an operation's test when no answer was a success (its success schema unverified)",
    )


class NexsisItem(pytest.Item):
    def __init__(self, *, api: str, operation: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api, self.operation = api, operation

    def runtest(self) -> None:
        run = _suite(self.config)
        result = next((r for r in run.results if r.api == self.api and r.name == self.operation), None)
        if result is None or result.verdict == "skip":
            reasons = "; ".join(result.skipped) if result else "not run"
            pytest.skip(f"{self.operation}: {reasons or 'no case could be sent'}")
        if result.failures:
            from nexsis_contracts.reporting.terminal import reason

            lines = [
                f"[{f.check}] {reason(f)}\n{f.request.get('method')} {f.request.get('url')}\n"
                f"-> HTTP {f.response.get('status')}\n{f.curl}\n\n{f.message}"
                for f in result.failures
            ]
            raise NexsisFailure("\n\n".join(lines))
        if result.errors:
            raise NexsisFailure("; ".join(result.errors))
        if result.verdict == "unverified":
            hint = f" (needs {result.anchor_missing})" if result.anchor_missing else ""
            message = f"{self.operation}: unverified: no success seen: success schema unverified{hint}"
            if self.config.getoption("nexsis_require_success"):
                raise NexsisFailure(message)
            pytest.skip(message)  # not a failure, but never shown as passed

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if isinstance(excinfo.value, NexsisFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style))

    def reportinfo(self) -> tuple[str, int, str]:
        return f"nexsis:{self.api}", 0, f"{self.api}::{self.operation}"


class NexsisFailure(AssertionError):
    pass


def _settings(config: pytest.Config) -> Any:
    from pathlib import Path

    from nexsis_contracts.config import build_settings

    opt = config.getoption
    return build_settings(
        base_url=opt("nexsis_base_url"),
        config_path=Path(opt("nexsis_config")) if opt("nexsis_config") else None,
        only=opt("nexsis_only"),
        operations=opt("nexsis_operation"),
        max_examples=opt("nexsis_max_examples"),
        seed=opt("nexsis_seed"),
        mode=opt("nexsis_mode"),
        force=opt("nexsis_force"),
        report_dir=Path(opt("nexsis_report_dir")) if opt("nexsis_report_dir") else None,
        stateful=not opt("nexsis_no_stateful"),
        require_success=opt("nexsis_require_success"),
    )


def _suite(config: pytest.Config) -> Any:
    cached = getattr(config, "_nexsis_run", None)
    if cached is None:
        from nexsis_contracts.reporting import write_reports
        from nexsis_contracts.runner import Run

        settings = config._nexsis_settings  # type: ignore[attr-defined]
        cached = Run(settings).execute()
        if settings.report_dir:
            write_reports(cached, settings.report_dir, settings.secrets)
        config._nexsis_run = cached  # type: ignore[attr-defined]
    return cached


@pytest.hookimpl(tryfirst=True)  # before -k/-m deselection, so those select among these tests too
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[Any]) -> None:
    if not config.getoption("nexsis_base_url"):
        return
    from nexsis_contracts.catalog import Catalog
    from nexsis_contracts.config import ConfigError

    try:
        settings = _settings(config)
    except ConfigError as exc:
        raise pytest.UsageError(f"nexsis: {exc}") from None
    config._nexsis_settings = settings  # type: ignore[attr-defined]
    new = []
    for op in Catalog(settings.specs).operations:
        if op.matches(settings.operations):
            new.append(
                NexsisItem.from_parent(
                    session, name=f"{op.api}::{op.operation_id}", api=op.api, operation=op.operation_id
                )
            )
    if settings.stateful and settings.mode != "read-only":
        for api in settings.specs:
            for name in SCENARIOS[api]:
                new.append(NexsisItem.from_parent(session, name=f"{api}::{name}", api=api, operation=name))
    items.extend(new)
