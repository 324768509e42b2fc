"""Grades: course final grades (with letters and percentages) and category grades with overrides.

Letters use Moodle's default letter boundaries. A category grade that is locked cannot be
overridden (Moodle refuses to change locked grades).
"""

from __future__ import annotations

import math
from typing import Any

from nexsis_mock.handlers import Ctx, nexsis_op
from nexsis_mock.handlers.nexsis import (
    bad_request,
    conflict,
    find_course,
    find_user,
    flag,
    ident,
    iso,
    not_found,
    s,
    shorten,
)
from nexsis_mock.store.records import Course, Grade, GradeCategory, GradeItem

#: Moodle's default grade letters: lowest percentage -> letter.
LETTERS = [
    (93.0, "A"),
    (90.0, "A-"),
    (87.0, "B+"),
    (83.0, "B"),
    (80.0, "B-"),
    (77.0, "C+"),
    (73.0, "C"),
    (70.0, "C-"),
    (67.0, "D+"),
    (60.0, "D"),
    (0.0, "F"),
]


def letter(percent: float) -> str:
    for boundary, name in LETTERS:
        if percent >= boundary - 1e-9:
            return name
    return "F"


def _f5(value: float | None) -> str | None:
    return None if value is None else f"{value:.5f}"


def course_grade_row(ctx: Ctx, course: Course, item: GradeItem, grade: Grade) -> dict[str, Any]:
    user = ctx.state.users[grade.userid]
    final = grade.finalgrade or 0.0
    span = item.grademax - item.grademin
    percent = (final - item.grademin) / span if span else 0.0
    return {
        "userid": user.idnumber,
        "courseid": course.idnumber,
        "rawfinalgrade": round(final, 2),
        "rawgrademax": round(item.grademax, 2),
        "gradeletter": letter(percent * 100),
        "gradepercent": round(percent, 4),
        "feedback": grade.feedback or "",
        "timemodified": iso(grade.timemodified),
    }


def _course_grades(ctx: Ctx, course: Course) -> list[dict[str, Any]]:
    itemid = ctx.state.course_item.get(course.id)
    if itemid is None:
        return []
    item = ctx.state.grade_items[itemid]
    grades = ctx.state.grades.get(itemid, {})
    return [
        course_grade_row(ctx, course, item, grades[uid])
        for uid in sorted(grades)
        if grades[uid].finalgrade is not None
    ]


@nexsis_op("getUserGrades")
def get_user_grades(ctx: Ctx, params: dict[str, Any]) -> list[dict[str, Any]]:
    state = ctx.state
    user = find_user(ctx, params)
    rows = []
    for itemid in sorted(state.user_grade_items.get(user.id, ())):
        item = state.grade_items.get(itemid)
        if item is None or item.itemtype != "course":
            continue
        grade = state.grades[itemid][user.id]
        if grade.finalgrade is not None:
            rows.append(course_grade_row(ctx, state.courses[item.courseid], item, grade))
    rows.sort(key=lambda r: state.course_by_idnumber.get(r["courseid"], 0))
    return rows


def _int_param(params: dict[str, Any], name: str, minimum: int) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise bad_request(f"{name} must be an integer >= {minimum}")
    return value


@nexsis_op("getCourseGrades")
def get_course_grades(ctx: Ctx, params: dict[str, Any]) -> list[dict[str, Any]]:
    course = find_course(ctx, params)
    pagesize = _int_param(params, "pagesize", 1)
    page = _int_param(params, "page", 0) or 0
    rows = _course_grades(ctx, course)
    if pagesize:
        rows = rows[page * pagesize : (page + 1) * pagesize]
    return rows


def find_category(ctx: Ctx, course: Course, params: dict[str, Any]) -> GradeCategory:
    raw = ident(params, "catid")
    cat = ctx.state.grade_categories.get(int(raw)) if raw.isdigit() and len(raw) < 19 else None
    if cat is None or cat.courseid != course.id:
        raise not_found(f"Grade category {shorten(raw)!r} not found in course {shorten(course.idnumber)!r}")
    return cat


def category_row(ctx: Ctx, cat: GradeCategory, grade: Grade, *, override: bool = False) -> dict[str, Any]:
    state = ctx.state
    item = state.grade_items[cat.itemid]
    user = state.users[grade.userid]
    row: dict[str, Any] = {"user_idnumber": user.idnumber}
    if override:
        row["id"] = str(grade.id)
    row.update(
        {
            "itemid": str(item.id),
            "internal_userid": str(user.id),
            "rawgrade": _f5(grade.rawgrade),
            "rawgrademax": _f5(item.grademax),
            "rawgrademin": _f5(item.grademin),
            "rawscaleid": None,
            "usermodified": s(grade.usermodified),
            "finalgrade": _f5(grade.finalgrade),
            "hidden": str(grade.hidden),
            "locked": str(grade.locked),
            "locktime": str(grade.locktime),
            "exported": "0",
            "overridden": str(grade.overridden),
            "excluded": str(grade.excluded),
            "feedback": grade.feedback,
            "feedbackformat": "0",
            "information": None,
            "informationformat": "0",
            "timecreated": s(grade.timecreated),
            "timemodified": str(grade.timemodified),
            "aggregationstatus": "used" if grade.finalgrade is not None else "unknown",
            "aggregationweight": _f5(grade.aggregationweight),
        }
    )
    if not override:
        row["gradeid"] = str(grade.id)
        row["categoryid"] = str(cat.id)
    return row


@nexsis_op("getCategoryGrades")
def get_category_grades(ctx: Ctx, params: dict[str, Any]) -> list[dict[str, Any]]:
    state = ctx.state
    course = find_course(ctx, params)
    cat = find_category(ctx, course, params)
    grades = state.grades.get(cat.itemid, {})
    wanted = params.get("userid")
    if wanted is not None:
        if isinstance(wanted, str):
            wanted = [wanted]
        if not isinstance(wanted, list) or not all(isinstance(w, str | int) for w in wanted):
            raise bad_request("userid[] must be a list of user identifiers")
        uids = {uid for w in wanted if (uid := state.user_by_idnumber.get(str(w))) is not None}
        chosen = [grades[u] for u in sorted(uids) if u in grades]
    else:
        chosen = [grades[u] for u in sorted(grades)]
    return [category_row(ctx, cat, g) for g in chosen]


@nexsis_op("overrideCategoryGrade", write=True)
def override_category_grade(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    state = ctx.state
    course = find_course(ctx, params)
    cat = find_category(ctx, course, params)
    user = find_user(ctx, params)
    raw = params.get("grade")
    try:
        value = float(raw) if raw is not None and not isinstance(raw, bool) else math.nan
    except (TypeError, ValueError):
        value = math.nan
    item = state.grade_items[cat.itemid]
    if not math.isfinite(value) or not item.grademin <= value <= item.grademax:
        raise bad_request(
            f"grade must be a number between {item.grademin:g} and {item.grademax:g}, not {shorten(raw)!r}"
        )
    if not state.is_enrolled(user.id, course.id):
        raise conflict(
            f"User {shorten(user.idnumber)!r} is not enrolled in course {shorten(course.idnumber)!r}"
        )
    lock = flag(params, "lock")
    grade = state.grades.get(cat.itemid, {}).get(user.id)
    if grade is None:
        grade = Grade(id=state.next_id("grade"), itemid=cat.itemid, userid=user.id, timecreated=None)
        state.put_grade(grade)
    elif grade.locked:
        raise conflict(f"The grade of user {shorten(user.idnumber)!r} in category {cat.id} is locked")
    state.update(grade, finalgrade=value)
    state.update(grade, overridden=ctx.now)
    state.update(grade, timemodified=ctx.now)
    if lock:
        state.update(grade, locked=ctx.now)
        state.update(grade, locktime=ctx.now)
    return category_row(ctx, cat, grade, override=True)
