"""Groups made and removed through `core_group_*`, checked item by item and through the NexSIS group list.

The web-service API has no group read, so where the site offers both APIs the run's own course is
read back through `GET /course/{courseid}/group`: a group made by `core_group_create_groups` (with an
idnumber) is listed there under `groupid` = that idnumber, and is gone after `core_group_delete_groups`.
"""

from __future__ import annotations

from typing import Any

from nexsis_contracts.effects.registry import Probe, effect
from nexsis_contracts.graph.base import as_int, json_of

CREATE = "core_group_create_groups"
DELETE = "core_group_delete_groups"


def _course(p: Probe) -> tuple[int, str | None]:
    """The WS course (internal id) and, when the graph learned it from NexSIS, its external id."""
    course = p.graph.ws_course()
    p.need(course, "a course (the run's NexSIS course, or a sandbox moodle-ws course)")
    assert course is not None
    external = None
    row = p.graph.completion() if p.graph.nexsis else None
    if isinstance(row, dict) and as_int(row.get("course")) == course:
        external = p.graph.course()
    return course, external


def _listed(p: Probe, external: str) -> dict[str, Any]:
    rows = json_of(p.nexsis("GET", f"/course/{external}/group"))
    return {str(r.get("groupid")): r for r in rows if isinstance(r, dict)} if isinstance(rows, list) else {}


def _create(p: Probe, course: int) -> tuple[list[dict[str, Any]], Any]:
    asked = []
    for _i in range(3):
        tag = p.fresh("group")
        asked.append(
            {"courseid": course, "name": f"{tag} ws", "description": "contract test", "idnumber": tag}
        )
    _resp, answer = p.ws(CREATE, groups=asked)
    return asked, answer


@effect("batch_creates_every_group", CREATE, api="moodle-ws")
def create_batch(p: Probe) -> None:
    course, external = _course(p)
    asked, answer = _create(p, course)
    p.need(not (isinstance(answer, dict) and "exception" in answer), f"{CREATE} answered {answer!r}")
    p.check(
        isinstance(answer, list) and len(answer) == len(asked),
        f"{CREATE} with 3 groups answered {len(answer) if isinstance(answer, list) else answer!r} groups",
    )
    for want, got in zip(asked, answer, strict=False):
        named = {k: got.get(k) for k in ("courseid", "name", "idnumber")} if isinstance(got, dict) else got
        p.check(
            named == {k: want[k] for k in ("courseid", "name", "idnumber")},
            f"{CREATE} answered {named!r} for the group asked as "
            f"{ {k: want[k] for k in ('courseid', 'name', 'idnumber')} }: answers name the ids asked for",
        )
    if external and p.selected("nexsis", "listCourseGroups"):
        listed = _listed(p, external)
        missing = [g["idnumber"] for g in asked if g["idnumber"] not in listed]
        p.check(
            not missing,
            f"{CREATE} made groups {[g['idnumber'] for g in asked]} in course {course}, but the NexSIS "
            f"list GET /course/{external}/group lacks {missing}",
        )


@effect("delete_removes", DELETE, api="moodle-ws", needs=(CREATE, "listCourseGroups"))
def delete_batch(p: Probe) -> None:
    course, external = _course(p)
    p.need(external, "the course's NexSIS id (the only read of groups)")
    assert external is not None
    asked, answer = _create(p, course)
    p.need(isinstance(answer, list) and len(answer) == 3, f"{CREATE} answered {answer!r}")
    ids = [as_int(g.get("id")) for g in answer if isinstance(g, dict)]
    p.ok(p.ws(DELETE, groupids=ids)[0], DELETE)
    listed = _listed(p, external)
    left = [g["idnumber"] for g in asked if g["idnumber"] in listed]
    p.check(
        not left,
        f"{DELETE} of groups {ids} answered success but GET /course/{external}/group still lists {left}",
    )
