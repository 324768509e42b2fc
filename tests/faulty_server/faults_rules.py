"""Reads the filter and cross-API rules need, served like the mock, each with the fault its rule exists for.

Without these operations the rules `plugin_filter_ignored` (listUserEnrolments),
`fieldvalues_filter_ignored` (tool_muprog_get_programs), `pagesize_not_honoured` (getCourseGrades)
and `userid_filter_ignored` (getCategoryGrades), and the cross-API reads of `core_group_*`
(`batch_creates_every_group`, `delete_removes` through listCourseGroups) could only be shown not
to raise a false alarm; here each one has a planted fault that makes a well-formed, schema-valid
answer which only a second read that knows what it asked for can see through. `app.py` calls
`nexsis` and `ws_call` before its own routes; with no fault on they answer as the mock does.

Enrolments are the ones `links.py` keeps (enrolled through NexSIS: plugin `nexsis`, role student).
Grades: the seed course has three graded users and one grade category (`SEED_GRADES`); a user
enrolled later is listed, not graded yet.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.faulty_server.faults_enrolments import stale
from tests.faulty_server.faults_groups import made_here

FAULTS_RULES = {
    # class 5: filters and paging not honoured
    "enrol_plugin_ignored": "GET /user/{id}/enrol ignores plugin: every enrolment is listed",
    "programs_fieldvalues_ignored": "tool_muprog_get_programs ignores fieldvalues: every program is answered",
    "grades_pagesize_ignored": "GET /course/{id}/grade ignores pagesize: every grade on one page",
    "category_userid_ignored": "GET /course/{id}/categorygrade/{cat} ignores userid[]: every user's grade",
    # core_group_* read back through the NexSIS group list:
    # class 2: a write that does not take effect (seen through the other API)
    "ws_groups_not_in_nexsis": "GET /course/{id}/group lists no group made by core_group_create_groups",
    "ws_group_delete_stale": "GET /course/{id}/group still lists groups core_group_delete_groups removed",
}

_SEGMENT = "[^/]+"
#: The faulty site's programs (ids 1 and 2, as `app._ws_call` allocates to), as Moodle answers them.
PROGRAMS = {
    number: {
        "id": number,
        "contextid": 1,
        "fullname": f"Program {name}",
        "idnumber": f"PRG-{number}",
        "description": f"<p>Program {name} (seed data)</p>",
        "descriptionformat": 1,
        "presentationjson": "[]",
        "publicaccess": False,
        "archived": False,
        "creategroups": False,
        "timeallocationstart": None,
        "timeallocationend": None,
        "startdatejson": '{"type":"allocation"}',
        "duedatejson": '{"type":"notset"}',
        "enddatejson": '{"type":"notset"}',
        "timecreated": 1795402458,
        "sources": ["cohort", "manual"],
        "cohortids": [],
    }
    for number, name in ((1, "One"), (2, "Two"))
}
#: Graded users of the seed course (a sandbox course of the tests), and its one grade category.
SEED_COURSE, SEED_CATEGORY = "SEED-C1", "1"
SEED_GRADES = (("SEED-U1", "72.50000"), ("SEED-G2", "64.00000"), ("SEED-G3", None))
_PROGRAM_FIELDS = {"id", "contextid", "fullname", "idnumber", "publicaccess", "public", "archived"}
_INT = re.compile(r"^\s*[+-]?[0-9]+\s*$")


def _err(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


def nexsis(st: Any, request: Request, path: str) -> Response | None:
    """The enrolment lists (`GET /user/{id}/enrol`, `GET /course/{id}/enrol`), else None."""
    if request.method != "GET":
        return None
    m = re.fullmatch(f"/user/({_SEGMENT})/enrol", path)
    if m:
        return _user_enrolments(st, unquote(m.group(1)), request.query_params.get("plugin"))
    m = re.fullmatch(f"/course/({_SEGMENT})/enrol", path)
    if m:
        return _course_enrolments(st, unquote(m.group(1)))
    m = re.fullmatch(f"/course/({_SEGMENT})/group", path)
    if m:
        return _course_groups(st, unquote(m.group(1)))
    m = re.fullmatch(f"/course/({_SEGMENT})/grade", path)
    if m:
        return _course_grades(st, unquote(m.group(1)), request)
    m = re.fullmatch(f"/course/({_SEGMENT})/categorygrade/({_SEGMENT})", path)
    if m:
        return _category_grades(st, unquote(m.group(1)), unquote(m.group(2)), request)
    return None


def _stale(st: Any) -> dict[int, dict[str, Any]]:
    """Groups core_group_delete_groups removed while `ws_group_delete_stale` was on (a stale cache)."""
    stale: dict[int, dict[str, Any]] = vars(st).setdefault("nexsis_stale_groups", {})
    return stale


def _course_groups(st: Any, course: str) -> Response:
    """The course's groups, those made through the web services included (one Moodle table), each
    named by its idnumber, as the mock lists them."""
    if course not in st.courses:
        return _err(404, "not_found", f"No course {course}.")
    internal = st.internal.get(("course", course))
    groups = {**st.groups, **_stale(st)} if "ws_group_delete_stale" in st.faults else st.groups
    if "ws_groups_not_in_nexsis" in st.faults:  # only the groups made through NexSIS
        groups = {k: g for k, g in groups.items() if k in made_here(st)}
    rows = [
        {"groupid": g["idnumber"], "name": g["name"], "description": g["description"]}
        for _gid, g in sorted(groups.items())
        if internal is not None and g["courseid"] == internal
    ]
    return JSONResponse(rows)


def _grades(st: Any, course: str) -> list[tuple[str, str | None]]:
    """(user idnumber, final grade) of a course: the seed course's graded users, then every user
    enrolled meanwhile (not graded yet)."""
    seeded = list(SEED_GRADES) if course == SEED_COURSE else []
    known = {user for user, _grade in seeded}
    enrolled = sorted(u for (u, c) in st.enrolments if c == course and u not in known and u in st.users)
    return seeded + [(user, None) for user in enrolled]


def _course_grades(st: Any, course: str, request: Request) -> Response:
    if course not in st.courses:
        return _err(404, "not_found", f"No course {course}.")
    q = request.query_params
    size, page = q.get("pagesize"), q.get("page", "0")
    if (size is not None and not (size.isdigit() and int(size) >= 1)) or not page.isdigit():
        return _err(400, "invalid_parameter", "pagesize >= 1 and page >= 0 are integers.")
    rows = [
        {
            "userid": user,
            "courseid": course,
            "rawfinalgrade": grade,
            "rawgrademax": "100.00000",
            "gradeletter": None if grade is None else "B",
            "gradepercent": None if grade is None else f"{float(grade) / 100:.4f}",
            "feedback": None,
            "timemodified": None if grade is None else "2026-11-02T08:00:00+00:00",
        }
        for user, grade in _grades(st, course)
    ]
    if size is not None and "grades_pagesize_ignored" not in st.faults:
        rows = rows[int(page) * int(size) : (int(page) + 1) * int(size)]
    return JSONResponse(rows)


def _category_grades(st: Any, course: str, category: str, request: Request) -> Response:
    if course not in st.courses:
        return _err(404, "not_found", f"No course {course}.")
    if (course, category) != (SEED_COURSE, SEED_CATEGORY):
        return _err(404, "not_found", f"No grade category {category} in course {course}.")
    users = request.query_params.getlist("userid[]")
    if any(not u.strip() for u in users):
        return _err(400, "invalid_parameter", "userid[] items cannot be empty")
    if "category_userid_ignored" in st.faults:
        users = []
    rows = [
        _category_row(number, user, grade)
        for number, (user, grade) in enumerate(_grades(st, course), start=1)
        if not users or user in users
    ]
    return JSONResponse(rows)


def _category_row(number: int, user: str, grade: str | None) -> dict[str, Any]:
    """A `grade_grades` row of the category's grade item, with the user's external id."""
    return {
        "gradeid": str(500 + number),
        "categoryid": SEED_CATEGORY,
        "user_idnumber": user,
        "itemid": "41",
        "internal_userid": str(300 + number),
        "rawgrade": None,
        "rawgrademax": "100.00000",
        "rawgrademin": "0.00000",
        "rawscaleid": None,
        "usermodified": None,
        "finalgrade": grade,
        "hidden": "0",
        "locked": "0",
        "locktime": "0",
        "exported": "0",
        "overridden": "0",
        "excluded": "0",
        "feedback": None,
        "feedbackformat": "0",
        "information": None,
        "informationformat": "0",
        "timecreated": None,
        "timemodified": "1793606400" if grade is not None else None,
        "aggregationstatus": "used" if grade is not None else "novalue",
        "aggregationweight": "1.00000" if grade is not None else None,
    }


def _user_enrolments(st: Any, user: str, plugin: str | None) -> Response:
    if user not in st.users:
        return _err(404, "not_found", f"No user {user}.")
    if plugin is not None and not plugin.strip():
        return _err(400, "invalid_parameter", "plugin cannot be empty")
    if "enrol_plugin_ignored" in st.faults:
        plugin = None
    if "enrol_not_in_user_list" in st.faults:  # faults_enrolments.py
        return JSONResponse([])
    rows = []
    for (who, course), _when in sorted(st.enrolments.items()):
        if who != user or course not in st.courses or (plugin is not None and plugin != "nexsis"):
            continue
        record = st.courses[course]
        rows.append(
            {
                "courseid": course,
                "fullname": record.get("fullname", ""),
                "shortname": record.get("shortname", ""),
                "startdate": record.get("startdate", 0),
                "roles": ["student"],
            }
        )
    return JSONResponse(rows)


def _course_enrolments(st: Any, course: str) -> Response:
    if course not in st.courses:
        return _err(404, "not_found", f"No course {course}.")
    rows = []
    listed = {k: (when, st.users.get(k[0])) for k, when in st.enrolments.items()}
    if "user_delete_keeps_enrolments" in st.faults:  # faults_enrolments.py
        listed = {**stale(st), **listed}
    for number, ((who, where), (when, user)) in enumerate(sorted(listed.items()), start=1):
        if where != course or user is None:
            continue
        rows.append(
            {
                "userenrol_id": str(number),
                "enrol": "nexsis",
                "enrolstatus": "0",
                "enrolstartdate": str(when),
                "enrolenddate": "0",
                "firstname": user.get("firstname", ""),
                "lastname": user.get("lastname", ""),
                "email": user.get("email", ""),
                "idnumber": who,
                "role": "Student",
            }
        )
    return JSONResponse(rows)


def ws_call(
    st: Any, function: str, p: dict[str, Any], invalid: Response, *, can_view: bool
) -> Response | None:
    """tool_muprog_get_programs (`invalid`: the site's invalidparameter answer; a token without
    tool/muprog:view gets `[]`, as on a real site), else None. A group delete is only noted (with
    its fault on) and left to `app._ws_call`."""
    if function == "core_group_delete_groups" and "ws_group_delete_stale" in st.faults:
        _stale(st).update({g: dict(st.groups[g]) for g in p["groupids"] if g in st.groups})
    if function != "tool_muprog_get_programs":
        return None
    criteria: dict[str, str] = {}
    for item in p["fieldvalues"]:
        field, value = item["field"], item["value"]
        if field not in _PROGRAM_FIELDS or field in criteria:
            return invalid
        criteria["publicaccess" if field == "public" else field] = value
    if "programs_fieldvalues_ignored" in st.faults:
        criteria = {}
    if not can_view:
        return JSONResponse([])
    rows = [row for row in PROGRAMS.values() if all(_matches(row[f], v) for f, v in criteria.items())]
    return JSONResponse(rows)


def _matches(column: Any, value: str) -> bool:
    """A column compared with the bound text as PostgreSQL would (integers and booleans cast)."""
    if isinstance(column, int):  # bool too
        return bool(_INT.match(value)) and int(value.strip()) == int(column)
    return str(column) == value
