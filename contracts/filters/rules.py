"""The filter and paging rules, one small registered function per parameter, named for what broke."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import requests

from nexsis_contracts import calls
from nexsis_contracts.catalog import OperationInfo
from nexsis_contracts.results import OperationResult
from nexsis_contracts.run_context import RunContext
from nexsis_contracts.safety import RefusedRequest


class Probe:
    """The reads a rule makes (through the guarded session) and how it reports what broke."""

    def __init__(self, run: RunContext, info: OperationInfo, result: OperationResult) -> None:
        self.run, self.info, self.result = run, info, result
        assert run.graph is not None
        self.graph = run.graph
        self.rule = ""  # the rule running now (set by `run_rule`): what `fail` reports

    def run_rule(self, rule: Rule) -> None:
        """Run one rule under its own name: counted as run, and named by what it reports."""
        self.rule = rule.__name__
        self.result.checks_run.add(self.rule)
        rule(self)

    def get(self, path: str, query: dict[str, Any] | None = None) -> tuple[requests.Response | None, Any]:
        """A NexSIS read (`query`: its filter and paging parameters)."""
        try:
            resp = calls.nexsis(self.run, "GET", path, params=query)
        except (RefusedRequest, requests.RequestException):
            return None, None
        return self._seen(resp)

    def ws(self, function: str, **params: Any) -> tuple[requests.Response | None, Any]:
        try:
            resp = calls.ws(self.run, function, **params)
        except (RefusedRequest, requests.RequestException):
            return None, None
        return self._seen(resp)

    def _seen(self, resp: requests.Response) -> tuple[requests.Response | None, Any]:
        self.result.cases += 1
        self.result.observe(resp, validated=False)
        if not 200 <= resp.status_code < 300:
            return resp, None
        try:
            body = resp.json()
        except ValueError:
            return resp, None
        if isinstance(body, dict) and "exception" in body:
            return resp, None
        return resp, body

    def fail(self, title: str, message: str, response: requests.Response) -> None:
        """Report that the running rule broke (filed under its name, `self.rule`)."""
        title = f"{self.info.label}: {title}"
        self.run.record_failure(self.result, self.rule, title, message, response, None)


Rule = Callable[[Probe], None]
#: operationId -> its filter rules.
RULES: dict[str, list[Rule]] = {}


#: The page size of the paging rules: larger than the entries a site's own reads add between
#: two pages (one per read), so an ignored offset cannot hide inside that growth.
PAGE = 5


def rule(operation_id: str) -> Callable[[Rule], Rule]:
    """Register a rule for an operation; the function's name is the rule it reports (`Probe.run_rule`)."""

    def register(func: Rule) -> Rule:
        RULES.setdefault(operation_id, []).append(func)
        return func

    return register


def rows_of(body: Any) -> list[Any] | None:
    """A list answer as rows; a single object (the logs example shows one) as one row."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        return [body]
    return None


def key_of(row: Any, field: str = "id") -> str:
    if isinstance(row, dict) and row.get(field) is not None:
        return str(row[field])
    return json.dumps(row, sort_keys=True, default=str)


def values(rows: Any, field: str) -> set[str]:
    """`field`'s values, as text, over the object rows of a list answer: what a filter let through."""
    return {str(r.get(field)) for r in rows if isinstance(r, dict)} if isinstance(rows, list) else set()


def _same(a: Any, b: Any) -> bool:
    """Ids and names compared as a database with a case-insensitive collation would."""
    return str(a).strip().casefold() == str(b).strip().casefold()


# -- NexSIS logs ------------------------------------------------------------------------------------
@rule("getLogs")
def logs_limit_not_honoured(p: Probe) -> None:
    resp, body = p.get("/logs", {"limit": 2})
    rows = rows_of(body)
    if resp is not None and rows is not None and len(rows) > 2:
        p.fail(
            "limit does not bound the number of entries",
            f"GET /logs?limit=2 answered {len(rows)} entries; limit=2 allows at most 2",
            resp,
        )


@rule("getLogs")
def logs_pages_overlap(p: Probe) -> None:
    """Pages of five, not two: a site that logs its own reads (the mock does, as NexSIS logs every
    request) adds an entry per read, and the shift of one entry between two pages of two hid a
    whole ignored offset (the pages overlapped by one entry, which the growth allowed)."""
    size = PAGE
    _r1, first = p.get("/logs", {"limit": size, "offset": 0})
    resp, second = p.get("/logs", {"limit": size, "offset": size})
    _r3, window = p.get("/logs", {"limit": 3 * size, "offset": 0})
    a, b, c = rows_of(first), rows_of(second), rows_of(window)
    if resp is None or not a or not b or c is None or len(a) > size:
        return  # too few entries to page, or limit itself broken (its own rule says so)
    ids = [key_of(r) for r in c]
    top = key_of(a[0])
    if top not in ids:
        return  # the log moved on by more than a window meanwhile: nothing can be concluded
    grown = ids.index(top)  # entries written after the first page was read
    overlap = sorted({key_of(r) for r in a} & {key_of(r) for r in b})
    if len(overlap) > grown:
        p.fail(
            "consecutive pages overlap (offset not applied)",
            f"GET /logs?limit={size}&offset=0 and GET /logs?limit={size}&offset={size} share the entries "
            f"{', '.join(overlap)}; {grown} entries were written in between, so at most {grown} may repeat",
            resp,
        )


@rule("getLogs")
def logs_level_filter_ignored(p: Probe) -> None:
    _r, body = p.get("/logs", {"limit": 50})
    counts: dict[str, int] = {}
    for r in rows_of(body) or []:
        level = str(r.get("level", "")).casefold() if isinstance(r, dict) else ""
        if level in ("fatal", "error", "warning", "info"):
            counts[level] = counts.get(level, 0) + 1
    if not counts:
        return
    wanted = min(counts, key=lambda lv: counts[lv])  # the rarest level: its filter excludes the most
    resp, filtered = p.get("/logs", {"limit": 50, "level": wanted})
    others = sorted(
        {
            str(r.get("level"))
            for r in rows_of(filtered) or []
            if isinstance(r, dict) and not _same(r.get("level"), wanted)
        }
    )
    if resp is not None and others:
        p.fail(
            "level filter not applied",
            f"GET /logs?level={wanted} answered entries of level {', '.join(others)}",
            resp,
        )


# -- NexSIS grades and enrolments ------------------------------------------------------------------------
@rule("getCourseGrades")
def pagesize_not_honoured(p: Probe) -> None:
    courses = [*p.graph.sandbox("nexsis", "course"), p.graph.course()]
    for course in [c for c in courses if c]:
        resp, body = p.get(f"/course/{course}/grade", {"pagesize": 1})
        rows = rows_of(body)
        if resp is not None and rows is not None and len(rows) > 1:
            p.fail(
                "pagesize does not bound the number of grades",
                f"GET /course/{course}/grade?pagesize=1 answered {len(rows)} grades; at most 1 was asked for",
                resp,
            )
            return


@rule("getCategoryGrades")
def userid_filter_ignored(p: Probe) -> None:
    cat = p.graph.category()
    if not cat:
        return
    course, catid = cat[0], cat[1]
    _r, body = p.get(f"/course/{course}/categorygrade/{catid}")
    users = [
        r.get("user_idnumber") for r in rows_of(body) or [] if isinstance(r, dict) and r.get("user_idnumber")
    ]
    if not users:
        return
    wanted = str(users[0])
    resp, filtered = p.get(f"/course/{course}/categorygrade/{catid}", {"userid[]": [wanted]})
    others = sorted(
        values(rows_of(filtered), "user_idnumber")
        - {u for u in map(str, users) if _same(u, wanted)}
    )
    if resp is not None and others:
        p.fail(
            "userid[] filter not applied",
            f"GET /course/{course}/categorygrade/{catid}?userid[]={wanted} answered grades of "
            f"{', '.join(others)}",
            resp,
        )


@rule("listUserEnrolments")
def plugin_filter_ignored(p: Probe) -> None:
    """The run's user is enrolled in its course by one plugin (the course's list says which): asked
    for another plugin, the user's list must not show that course."""
    user, course = p.graph.user(), p.graph.course()
    if not (user and course):
        return
    _r, body = p.get(f"/course/{course}/enrol")
    plugins = {
        str(r.get("enrol")).casefold()
        for r in rows_of(body) or []
        if isinstance(r, dict) and _same(r.get("idnumber"), user) and r.get("enrol")
    }
    if not plugins:
        return
    other = next(x for x in ("manual", "self", "cohort") if x not in plugins)
    resp, listed = p.get(f"/user/{user}/enrol", {"plugin": other})
    if resp is not None and any(
        isinstance(r, dict) and _same(r.get("courseid"), course) for r in rows_of(listed) or []
    ):
        p.fail(
            "plugin filter not applied",
            f"GET /user/{user}/enrol?plugin={other} lists course {course}, where the user is enrolled "
            f"only by {', '.join(sorted(plugins))} (GET /course/{course}/enrol)",
            resp,
        )


# -- Moodle WS ------------------------------------------------------------------------------------------
@rule("tool_muprog_get_program_allocations")
def userids_filter_ignored(p: Probe) -> None:
    program = p.graph.ws_program()
    if not program:
        return
    _r, body = p.ws("tool_muprog_get_program_allocations", programid=program)
    allocated = values(body, "userid")
    known = [str(u) for u in [*p.graph.sandbox("moodle-ws", "user"), p.graph.ws_user()] if u]
    # A real user not allocated (the answer must then be empty), else one of two allocated users.
    wanted = next((u for u in known if u not in allocated), None)
    if wanted is None and len(allocated) >= 2:
        wanted = sorted(allocated)[0]
    if wanted is None:
        return
    resp, rows = p.ws("tool_muprog_get_program_allocations", programid=program, userids=[int(wanted)])
    others = sorted(values(rows, "userid") - {wanted})
    wrong = sorted(values(rows, "programid") - {str(program)})
    if resp is not None and (others or wrong):
        found = (
            f"allocations of users {', '.join(others)}" if others else f"rows of programs {', '.join(wrong)}"
        )
        p.fail(
            "userids filter not applied",
            f"tool_muprog_get_program_allocations(programid={program}, userids=[{wanted}]) answered {found}",
            resp,
        )


@rule("tool_muprog_get_programs")
def fieldvalues_filter_ignored(p: Probe) -> None:
    program = p.graph.ws_program()
    filters = [("archived", "0")] + ([("id", str(program))] if program else [])
    for field, value in filters:
        resp, rows = p.ws("tool_muprog_get_programs", fieldvalues=[{"field": field, "value": value}])
        bad = [r for r in rows or [] if isinstance(r, dict) and field in r and not _matches(r[field], value)]
        if resp is not None and bad:
            p.fail(
                f"fieldvalues {field} not applied",
                f"tool_muprog_get_programs(fieldvalues=[{{field: {field}, value: {value}}}]) answered "
                f"programs with {field} {', '.join(sorted({str(r[field]) for r in bad}))}",
                resp,
            )


def _matches(actual: Any, wanted: str) -> bool:
    if isinstance(actual, bool):
        return actual == (wanted == "1")
    return _same(actual, wanted)
