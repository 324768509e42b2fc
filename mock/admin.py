"""Handlers of the admin API (mock/admin.yaml), one method per operationId.

They follow the same adapter seam as the API operations (``call(params, token, scope)`` returning
status, body and headers), so the admin API gets the same validation and error mapping for free.
"""

from __future__ import annotations

import typing as t
from pathlib import Path

from . import journal_query
from .fixtures import SECTIONS
from .middleware.faults import FaultError, FaultStore
from .middleware.journal import RequestJournal
from .result import Result

__all__ = ["SPEC_PATH", "STATE_VERSION", "AdminAPI"]

SPEC_PATH = Path(__file__).with_name("admin.yaml")
#: ``version`` of the state document (``GET``/``PUT /__admin/state``; admin.yaml's ``StateExport``).
STATE_VERSION = 1


def _error(status: int, code: str, message: str) -> Result:
    return Result(status, {"error": code, "message": message})


class AdminAPI:
    def __init__(self, service: t.Any, journal: RequestJournal, faults: FaultStore) -> None:
        self.service = service
        self.journal = journal
        self.faults = faults

    def adminHealth(self, params: dict, token: str | None, scope: dict) -> Result:
        return Result(200, {"status": "ok", "stats": self.service.stats(),
                                 "journal": len(self.journal), "faults": len(self.faults.list())})

    def adminTokens(self, params: dict, token: str | None, scope: dict) -> Result:
        return Result(200, self.service.tokens())

    def adminStats(self, params: dict, token: str | None, scope: dict) -> Result:
        return Result(200, self.service.stats())

    def adminReset(self, params: dict, token: str | None, scope: dict) -> Result:
        self.service.reset()
        if not params.get("keep_journal"):
            self.journal.clear()
        if not params.get("keep_faults"):
            self.faults.clear()
        return Result(200, {"status": "reset"})

    def adminExportState(self, params: dict, token: str | None, scope: dict) -> Result:
        return Result(200, {"version": STATE_VERSION, **self.service.export_state()})

    def adminImportState(self, params: dict, token: str | None, scope: dict) -> Result:
        """Only a complete export replaces the state: ``{}`` must not leave a site without tokens."""
        document = dict(params)
        if document.pop("version", None) != STATE_VERSION:
            return _error(400, "bad_request", f"not a state export: 'version' must be {STATE_VERSION}")
        missing = [name for name in SECTIONS if name not in document]
        if missing:
            return _error(400, "bad_request", "not a complete state export: missing section(s) "
                                              + ", ".join(missing))
        try:
            self.service.import_state(document)
        except (ValueError, KeyError, TypeError) as exc:
            return _error(400, "bad_request", f"not a state export: {exc}")
        return Result(200, {"status": "imported"})

    def listRequests(self, params: dict, token: str | None, scope: dict) -> Result:
        return self._find(params, lambda flt, limit: {
            "total": len(self.journal), "requests": journal_query.find(self.journal, flt, limit)})

    def findRequests(self, params: dict, token: str | None, scope: dict) -> Result:
        return self._find(params, lambda flt, limit: {
            "requests": journal_query.find(self.journal, flt, limit)})

    def countRequests(self, params: dict, token: str | None, scope: dict) -> Result:
        return self._find(params, lambda flt, limit: {"count": journal_query.count(self.journal, flt)})

    def listUnmatchedRequests(self, params: dict, token: str | None, scope: dict) -> Result:
        return Result(200, {"requests": journal_query.unmatched(self.journal, params.get("limit"))})

    def _find(self, params: dict,
              answer: t.Callable[[journal_query.RequestFilter, int | None], t.Any]) -> Result:
        try:
            flt = journal_query.RequestFilter.read(params)
        except journal_query.FilterError as exc:
            return _error(400, "bad_request", str(exc))
        return Result(200, answer(flt, params.get("limit")))

    def clearRequests(self, params: dict, token: str | None, scope: dict) -> Result:
        return Result(200, {"status": "cleared", "removed": self.journal.clear()})

    def listFaults(self, params: dict, token: str | None, scope: dict) -> Result:
        return Result(200, [rule.as_dict() for rule in self.faults.list()])

    def addFault(self, params: dict, token: str | None, scope: dict) -> Result:
        try:
            rule = self.faults.add(params)
        except FaultError as exc:
            return _error(400, "bad_request", str(exc))
        return Result(201, rule.as_dict())

    def clearFaults(self, params: dict, token: str | None, scope: dict) -> Result:
        return Result(200, {"status": "cleared", "removed": self.faults.clear()})

    def deleteFault(self, params: dict, token: str | None, scope: dict) -> Result:
        if not self.faults.delete(params["id"]):
            return _error(404, "not_found", f"no fault rule {params['id']}")
        return Result(200, {"status": "deleted"})
