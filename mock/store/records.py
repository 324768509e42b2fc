"""Entity records of the simulated Moodle site.

Records are ``__slots__`` dataclasses: a benchmark site holds a million enrolments, and a slotted
record costs about a third of a dict-backed object. Field names follow Moodle's tables so that the
two APIs' shapes are a projection of one row, not two models kept in sync.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


@dataclass(slots=True)
class Category:
    id: int
    name: str
    parent: int = 0  # 0 = top level, as course_categories.parent


@dataclass(slots=True)
class Course:
    id: int
    shortname: str
    fullname: str
    idnumber: str = ""
    category: int = 1
    startdate: int = 0
    visible: int = 1
    timecreated: int = 0
    timemodified: int = 0


@dataclass(slots=True)
class User:
    id: int
    username: str
    idnumber: str = ""
    firstname: str = ""
    lastname: str = ""
    email: str = ""
    auth: str = "manual"
    siteadmin: bool = False
    timecreated: int = 0
    timemodified: int = 0


@dataclass(slots=True)
class Enrolment:
    """A user_enrolments row joined with its instance's plugin and the role it assigns."""

    id: int
    userid: int
    courseid: int
    plugin: str = "manual"
    role: str = "student"
    status: int = 0
    timestart: int = 0
    timeend: int = 0
    timecreated: int = 0
    # muprog: program id; meta: metalink instance id; otherwise 0
    instance: int = 0


@dataclass(slots=True)
class Group:
    id: int
    courseid: int
    name: str
    idnumber: str = ""
    description: str = ""
    descriptionformat: int = 1
    enrolmentkey: str = ""
    visibility: int = 0
    participation: bool = True
    timecreated: int = 0
    timemodified: int = 0
    members: set[int] = field(default_factory=set)


@dataclass(slots=True)
class Cohort:
    id: int
    name: str
    idnumber: str = ""
    contextid: int = 1
    members: list[int] = field(default_factory=list)  # insertion order, as cohort_members rows


@dataclass(slots=True)
class Source:
    id: int
    programid: int
    type: str  # manual, cohort, ...
    cohortids: list[int] = field(default_factory=list)  # cohort source only (tool_muprog_src_cohort)


@dataclass(slots=True)
class Program:
    id: int
    fullname: str
    idnumber: str = ""
    contextid: int = 1
    description: str = ""
    descriptionformat: int = 1
    presentationjson: str = "[]"
    publicaccess: bool = False
    archived: bool = False
    creategroups: bool = False
    timeallocationstart: int | None = None
    timeallocationend: int | None = None
    startdatejson: str = '{"type":"allocation"}'
    duedatejson: str = '{"type":"notset"}'
    enddatejson: str = '{"type":"notset"}'
    timecreated: int = 0
    courses: list[int] = field(default_factory=list)
    cohortids: list[int] = field(default_factory=list)  # visibility cohorts (tool_muprog_cohort)
    sources: dict[str, int] = field(default_factory=dict)  # type -> source id


@dataclass(slots=True)
class Allocation:
    id: int
    programid: int
    userid: int
    sourceid: int
    archived: bool = False
    timeallocated: int = 0
    timestart: int = 0
    timedue: int | None = None
    timeend: int | None = None
    timecompleted: int | None = None
    timecreated: int = 0
    timemodified: int = 0
    usermodified: int = 0


@dataclass(slots=True)
class Certification:
    id: int
    fullname: str
    idnumber: str = ""
    programid: int | None = None
    contextid: int = 1
    timecreated: int = 0


@dataclass(slots=True)
class CertAllocation:
    id: int
    certificationid: int
    userid: int
    status: int = 0
    timesuspended: int = 0
    allocationtype: int = 0
    currentprogramid: int | None = None
    isrecertification: int = 0
    graceperiodends: int = 0
    graceperiodendslocked: int = 0
    nextstartdate: int = 0
    timestart: int = 0
    timedue: int = 0
    timeexpiry: int = 0
    timecertified: int = 0
    revoked: int = 0
    timecreated: int = 0
    timemodified: int = 0
    usermodified: int = 0


@dataclass(slots=True)
class Department:
    id: int
    idnumber: str
    name: str = ""


@dataclass(slots=True)
class Position:
    id: int
    idnumber: str
    name: str = ""


@dataclass(slots=True)
class JobAssignment:
    id: int
    userid: int
    departmentid: int
    positionid: int
    tenantid: int = 1
    startdate: int = 0
    enddate: int = 0
    timecreated: int = 0
    timemodified: int = 0
    usermodified: int = 0


@dataclass(slots=True)
class ManagerLink:
    id: int
    userid: int
    managerid: int
    permissions: int = 0
    tenantid: int = 1
    timecreated: int = 0
    timemodified: int = 0
    usermodified: int = 0


@dataclass(slots=True)
class GradeItem:
    """grade_items row: one 'course' item per course, one 'category' item per grade category."""

    id: int
    courseid: int
    itemtype: str = "course"
    iteminstance: int = 0  # grade category id for category items
    grademax: float = 100.0
    grademin: float = 0.0


@dataclass(slots=True)
class GradeCategory:
    """A grade category and its category grade item (grade_items.itemtype = 'category')."""

    id: int
    courseid: int
    fullname: str
    itemid: int = 0


@dataclass(slots=True)
class Grade:
    """grade_grades row; `itemid` is the course item or a category item."""

    id: int
    itemid: int
    userid: int
    finalgrade: float | None = None
    rawgrade: float | None = None
    feedback: str | None = None
    overridden: int = 0
    locked: int = 0
    locktime: int = 0
    hidden: int = 0
    excluded: int = 0
    aggregationweight: float | None = None
    timecreated: int | None = None
    timemodified: int = 0
    usermodified: int | None = None


@dataclass(slots=True)
class Completion:
    id: int
    userid: int
    courseid: int
    timeenrolled: int = 0
    timestarted: int = 0
    timecompleted: int | None = None
    reaggregate: int = 0


@dataclass(slots=True)
class MetaLink:
    """An enrol instance of type 'meta' in `courseid` (the parent) linking `customint1` (the child)."""

    id: int
    courseid: int
    customint1: int
    customint2: int | None = None  # group id in the parent that synced users join
    sortorder: int = 0
    timecreated: int = 0
    timemodified: int = 0


@dataclass(slots=True)
class LogEntry:
    id: int
    date_created: str
    level: str
    message: str
    detail: str = ""
    params: str = ""
    request_method: str = ""
    request_url: str = ""
    request_body: str = ""
    response_body: str = ""
    response_status_code: int | None = None
    ip: str = "127.0.0.1"
    user_agent: str = "Unknown User Agent"


@dataclass(slots=True)
class WsToken:
    token: str
    userid: int
    capabilities: frozenset[str] | None = None  # None = every capability (site admin)
    functions: frozenset[str] | None = None  # None = every function the mock implements
    privatekey: str = ""
    name: str = ""


def to_dict(record: Any) -> dict[str, Any]:
    """Plain dict of a record (sets and frozensets become sorted lists) for export and fixtures."""
    out: dict[str, Any] = {}
    for f in fields(record):
        value = getattr(record, f.name)
        if isinstance(value, set | frozenset):
            value = sorted(value)
        elif isinstance(value, list):
            value = list(value)
        elif isinstance(value, dict):
            value = dict(value)
        out[f.name] = value
    return out
