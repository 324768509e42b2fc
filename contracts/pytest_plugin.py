"""pytest plugin: `pytest --nexsis-base-url URL` runs the suite, one test per operation and per API's
scenarios; under pytest-xdist (`pytest -n 4 --nexsis-base-url URL`) the operations split across workers.

Loaded by every pytest run of this repository (entry point pytest11), so at import it only defines
options and hooks; nothing is imported or collected unless --nexsis-base-url is given.

Each test runs its own operation when pytest runs it (`session_run.SessionRun`), so `-k` and `-m`
select what is generated and sent, not only what is reported. Markers: the API (`nexsis`,
`moodle_ws`), `read` / `write`, `scenario`; the operation's tags match `-k` too. Every process (each
xdist worker) has its own run, hence its own run prefix, and cleans up what it created at session
end; a worker hands its result to the controller (`workeroutput`), which merges them
(`reporting.json_report.merge`) and writes one set of reports to --nexsis-report-dir.
"""

from __future__ import annotations

from typing import Any

import pytest

MARKERS = {
    "nexsis": "a NexSIS operation or scenario (nexsis contract suite)",
    "moodle_ws": "a Moodle web-service function or scenario (nexsis contract suite)",
    "read": "an operation that only reads (nexsis contract suite)",
    "write": "an operation that changes state (nexsis contract suite)",
    "scenario": "a stateful scenario (nexsis contract suite)",
}
_PARTS = "_nexsis_parts"
_START_ERROR = "_nexsis_start_error"  # a worker's run could not start: the session exits 3


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nexsis", "nexsis contract suite")
    group.addoption("--nexsis-base-url", help="run the conformance suite against this Moodle site root")
    group.addoption("--nexsis-config", help="contracts.yaml (targets, sandbox ids, limits)")
    group.addoption("--nexsis-mode", choices=["read-only", "safe", "full"])
    group.addoption("--nexsis-force", action="store_true")
    group.addoption("--nexsis-only", action="append", choices=["nexsis", "moodle-ws"])
    group.addoption("--nexsis-operation", action="append", help="operationId/tag glob (repeatable)")
    group.addoption("--nexsis-max-examples", type=int)
    group.addoption("--nexsis-seed", type=int, help="generation seed (default: shared by all xdist workers)")
    group.addoption("--nexsis-report-dir")
    group.addoption("--nexsis-no-stateful", action="store_true")
    group.addoption(
        "--nexsis-require-success",
        action="store_true",
        help="fail an operation's test when no answer was a success (its success schema unverified)",
    )


def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")


class NexsisItem(pytest.Item):
    def __init__(self, *, api: str, operation: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api, self.operation = api, operation

    def _results(self) -> list[Any]:
        run = _session_run(self.config)
        if self.operation == "scenarios":
            return run.scenarios(self.api)
        result = run.operation(self.api, self.operation)
        return [result] if result is not None else []

    def runtest(self) -> None:
        results = self._results()
        if not results or all(r.verdict == "skip" for r in results):
            reasons = "; ".join(reason for r in results for reason in r.skipped)
            pytest.skip(f"{self.operation}: {reasons or 'no case could be sent'}")
        failures = [(r, f) for r in results for f in r.failures]
        if failures:
            from nexsis_contracts.reporting.terminal import reason

            lines = [
                f"{r.name} [{f.check}] {reason(f)}\n{f.request.get('method')} {f.request.get('url')}\n"
                f"-> HTTP {f.response.get('status')}\n{f.curl}\n\n{f.message}"
                for r, f in failures
            ]
            raise NexsisFailure("\n\n".join(lines))
        errors = [e for r in results for e in r.errors]
        if errors:
            raise NexsisFailure("; ".join(errors))
        for result in results:
            if result.verdict == "unverified":
                hint = f" (needs {result.anchor_missing})" if result.anchor_missing else ""
                message = f"{self.operation}: unverified: no success seen: success schema unverified{hint}"
                if self.config._nexsis_settings.require_success:  # type: ignore[attr-defined]  # option or limits
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
    seed = opt("nexsis_seed")
    workerinput = getattr(config, "workerinput", None)
    if seed is None and workerinput is not None:
        # Every xdist worker generates from the same seed: a case is the same whichever worker runs it.
        seed = int(str(workerinput["testrunuid"])[:8], 16) % 2**31
    return build_settings(
        base_url=opt("nexsis_base_url"),
        config_path=Path(opt("nexsis_config")) if opt("nexsis_config") else None,
        only=opt("nexsis_only"),
        operations=opt("nexsis_operation"),
        max_examples=opt("nexsis_max_examples"),
        seed=seed,
        mode=opt("nexsis_mode"),
        force=opt("nexsis_force"),
        report_dir=Path(opt("nexsis_report_dir")) if opt("nexsis_report_dir") else None,
        stateful=not opt("nexsis_no_stateful"),
        require_success=opt("nexsis_require_success"),
    )


def _session_run(config: pytest.Config) -> Any:
    """This process's run, started on its first test; a start failure fails every test with its reason."""
    run = getattr(config, "_nexsis_run", None)
    if run is None:
        from nexsis_contracts.preflight import Unreachable
        from nexsis_contracts.session_run import SessionRun

        run = SessionRun(config._nexsis_settings)  # type: ignore[attr-defined]
        config._nexsis_run = run  # type: ignore[attr-defined]
        try:
            run.start()
        except Unreachable as exc:
            run.start_error = f"nexsis-contracts: {exc}"  # exc starts with the API name ("nexsis: ...")
            if not hasattr(config, "workerinput"):
                # As `nexsis check`: a wrong --nexsis-base-url or a refused token is exit 3, not
                # a page of failed tests. (An xdist worker cannot end the session: its tests fail,
                # and the controller exits 3 in pytest_sessionfinish.)
                pytest.exit(run.start_error, returncode=3)
    error = getattr(run, "start_error", None)
    if error:
        raise NexsisFailure(error)
    return run


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
            item = NexsisItem.from_parent(
                session, name=f"{op.api}::{op.operation_id}", api=op.api, operation=op.operation_id
            )
            item.add_marker(op.api.replace("-", "_"))
            item.add_marker("write" if op.is_write else "read")
            item.extra_keyword_matches.update(op.tags)
            new.append(item)
    if settings.stateful and settings.mode != "read-only":
        for api in settings.specs:
            item = NexsisItem.from_parent(session, name=f"{api}::scenarios", api=api, operation="scenarios")
            item.add_marker(api.replace("-", "_"))
            item.add_marker("scenario")
            new.append(item)
    items.extend(new)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Per process: clean up its run; a worker hands the result over, the others write the reports.

    A worker whose run could not start (wrong --nexsis-base-url, refused token) cannot end the
    session itself; it hands its reason over and the controller makes the exit code 3, as
    `nexsis check` and a run without xdist do."""
    config = session.config
    if not config.getoption("nexsis_base_url"):
        return
    run = getattr(config, "_nexsis_run", None)
    parts = list(getattr(config, _PARTS, []))
    if run is not None:
        result = run.finish()
        if hasattr(config, "workeroutput"):
            from nexsis_contracts.reporting.json_report import render

            config.workeroutput["nexsis_run"] = render(result)
            if getattr(run, "start_error", None):
                config.workeroutput[_START_ERROR] = run.start_error
            return
        parts.append(result)
    if parts:
        _write_reports(config, parts)
    if getattr(config, _START_ERROR, None):
        session.exitstatus = 3


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist controller: keep each worker's result for the merged reports, and why its run could not start."""
    data = getattr(node, "workeroutput", {}).get("nexsis_run")
    if data:
        import json

        from nexsis_contracts.reporting.json_report import load

        parts = getattr(node.config, _PARTS, [])
        parts.append(load(json.loads(data)))
        setattr(node.config, _PARTS, parts)
    error = getattr(node, "workeroutput", {}).get(_START_ERROR)
    if error:
        setattr(node.config, _START_ERROR, error)


def _write_reports(config: pytest.Config, parts: list[Any]) -> None:
    directory = config.getoption("nexsis_report_dir")
    if not directory:
        return
    from pathlib import Path

    from nexsis_contracts.config import ConfigError
    from nexsis_contracts.reporting import write_reports
    from nexsis_contracts.reporting.json_report import merge

    try:
        secrets = _settings(config).secrets
    except ConfigError:
        secrets = ()
    write_reports(merge(parts) if len(parts) > 1 else parts[0], Path(directory), secrets)
