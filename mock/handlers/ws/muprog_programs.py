"""tool_muprog_get_programs: search programs by field values, filtered by tool/muprog:view."""

from __future__ import annotations

import re
from typing import Any

from nexsis_mock.handlers import Ctx, MoodleError, ws_function
from nexsis_mock.handlers.ws import has_capability, invalid_parameter
from nexsis_mock.store.records import Program

#: Fields the plugin accepts; `public` is the legacy name of `publicaccess` (still answered).
_FIELDS = {"id", "contextid", "fullname", "idnumber", "publicaccess", "public", "archived", "tenantid"}
_INT_FIELDS = {
    "id": 2**63 - 1,
    "contextid": 2**63 - 1,
    "publicaccess": 32767,
    "public": 32767,
    "archived": 32767,
}
_PG_INT_RE = re.compile(r"^\s*[+-]?[0-9]+\s*$")


def _db_error() -> MoodleError:
    return MoodleError("dml_read_exception", "dmlreadexception", "Error reading from database")


def _column(program: Program, field: str) -> Any:
    if field in ("public", "publicaccess"):
        return int(program.publicaccess)
    if field == "archived":
        return int(program.archived)
    return getattr(program, field)


def _int_value(field: str, value: str) -> int:
    """PostgreSQL casts the bound string to the column type; what it cannot cast is a DB error."""
    if not _PG_INT_RE.match(value):
        raise _db_error()
    number = int(value.strip())
    if abs(number) > _INT_FIELDS[field]:
        raise _db_error()
    return number


def program_row(ctx: Ctx, program: Program) -> dict[str, Any]:
    state = ctx.state
    sources = sorted(state.sources[sid].type for sid in program.sources.values())
    return {
        "id": program.id,
        "contextid": program.contextid,
        "fullname": program.fullname,
        "idnumber": program.idnumber,
        "description": program.description,
        "descriptionformat": program.descriptionformat,
        "presentationjson": program.presentationjson,
        "publicaccess": bool(program.publicaccess),
        "archived": bool(program.archived),
        "creategroups": bool(program.creategroups),
        "timeallocationstart": program.timeallocationstart,
        "timeallocationend": program.timeallocationend,
        "startdatejson": program.startdatejson,
        "duedatejson": program.duedatejson,
        "enddatejson": program.enddatejson,
        "timecreated": program.timecreated,
        "sources": sources,
        "cohortids": [] if program.publicaccess else sorted(program.cohortids),
    }


@ws_function("tool_muprog_get_programs")
def get_programs(ctx: Ctx, params: dict[str, Any]) -> list[dict[str, Any]]:
    criteria: dict[str, Any] = {}
    for item in params["fieldvalues"]:
        field, value = item["field"], item["value"]
        if field not in _FIELDS or field == "tenantid":  # tenantid only with multi-tenancy active
            raise invalid_parameter()
        if field in criteria:
            raise invalid_parameter()
        if value is None:
            raise invalid_parameter()
        criteria[field] = value
    state = ctx.state
    candidates: list[Program]
    if "id" in criteria:
        number = _int_value("id", criteria["id"])
        program = state.programs.get(number)
        candidates = [program] if program else []
    elif "idnumber" in criteria:
        pid = state.program_by_idnumber.get(criteria["idnumber"])
        candidates = [state.programs[pid]] if pid else []
    else:
        candidates = sorted(state.programs.values(), key=lambda p: p.id)
    typed = {f: (_int_value(f, v) if f in _INT_FIELDS else v) for f, v in criteria.items()}
    results = []
    for program in candidates:
        if all(_column(program, f) == v for f, v in typed.items()) and has_capability(
            ctx, "tool/muprog:view"
        ):
            results.append(program_row(ctx, program))
    return results
