"""The state's tables and the journalled primitives every change goes through.

Every mutation goes through the journalled primitives (`_put`, `_pop`, `_set`, ...). While an
operation runs, the journal records how to undo each change, so a failing operation is rolled back
change by change and `Service.call` stays atomic without copying the state. Outside a transaction
(fixture loading) nothing is journalled, which keeps loading a million enrolments cheap.
`memo` keeps large read-only listings while the state is unchanged.
"""

from __future__ import annotations

import typing as t
from collections.abc import Callable
from typing import Any

from nexsis_mock.store.records import (
    Allocation,
    Category,
    CertAllocation,
    Certification,
    Cohort,
    Completion,
    Course,
    Department,
    Enrolment,
    Grade,
    GradeCategory,
    GradeItem,
    Group,
    JobAssignment,
    LogEntry,
    ManagerLink,
    MetaLink,
    Position,
    Program,
    Source,
    User,
    WsToken,
)


def unique_shortname(shortname: str) -> bool:
    """Whether Moodle's create_course checks this short name for uniqueness: `!empty($shortname)`.

    PHP's `empty()` holds for "" and "0", so several courses may share those; the index keeps only
    the names Moodle keeps unique (a taken "" was a 400 the real site never gives).
    """
    return shortname not in ("", "0")


#: Moodle's standard role archetypes: shortname -> (id, display name).
ROLES: dict[str, tuple[int, str]] = {
    "manager": (1, "Manager"),
    "coursecreator": (2, "Course creator"),
    "editingteacher": (3, "Teacher"),
    "teacher": (4, "Non-editing teacher"),
    "student": (5, "Student"),
    "guest": (6, "Guest"),
    "user": (7, "Authenticated user"),
}
ROLE_BY_ID = {rid: short for short, (rid, _name) in ROLES.items()}

#: Enrolment plugins a fixture may use.
ENROL_PLUGINS = frozenset({"manual", "nexsis", "meta", "muprog", "cohort", "self", "guest", "database"})

TABLES = (
    "category",
    "course",
    "user",
    "enrolment",
    "group",
    "cohort",
    "program",
    "source",
    "allocation",
    "certification",
    "certallocation",
    "department",
    "position",
    "job",
    "manager",
    "gradeitem",
    "gradecategory",
    "grade",
    "completion",
    "metalink",
    "log",
)


class MemoRows(list):
    """A listing from ``State.memo``: a fresh list whose ``source`` is the memo's own list.

    ``source`` is the same object for exactly as long as the listing is valid (any change of the
    state drops it), so whoever turns the listing into bytes may keep the bytes with it
    (``nexsis_mock.middleware.dispatch``): a 1,000-row listing is 200 KB of JSON per answer.
    """

    __slots__ = ("source",)
    source: list[Any]


class Tables:
    """All entities of one simulated site, with O(1) indexes by internal id and by idnumber."""

    def __init__(self) -> None:
        # The open transaction's undo steps, each (function, *arguments): a tuple, not a closure
        # (a closure and its cells were several allocations per change, on every write).
        self._undo: list[tuple[Any, ...]] | None = None
        self._transaction = _Transaction(self)
        # Bumped by every change made through the primitives below and by every rollback, so a
        # value derived from the state at one version is still right while the version is unchanged
        # (see `memo`).
        self.version = 0
        self._memo: dict[Any, Any] = {}
        self._memo_version = 0
        self._memo_size = 0
        self.seq: dict[str, int] = dict.fromkeys(TABLES, 1)
        self.site: dict[str, Any] = {}
        self.categories: dict[int, Category] = {}
        self.category_children: dict[tuple[int, str], int] = {}  # (parent, name) -> id
        self.courses: dict[int, Course] = {}
        self.course_by_idnumber: dict[str, int] = {}
        self.course_by_shortname: dict[str, int] = {}
        self.users: dict[int, User] = {}
        self.user_by_idnumber: dict[str, int] = {}
        self.user_by_username: dict[str, int] = {}
        # enrolments: the per-course and per-user maps share one list per (course, user) pair
        self.enrol_by_course: dict[int, dict[int, list[Enrolment]]] = {}
        self.enrol_by_user: dict[int, dict[int, list[Enrolment]]] = {}
        self.enrol_count = 0
        self.groups: dict[int, Group] = {}
        self.groups_by_course: dict[int, dict[int, Group]] = {}
        # (course, name) and (course, idnumber) -> group id: both are unique per course and looked
        # up on every create and every NexSIS group call; scanning a course's groups made
        # core_group_create_groups slow down with every group it created.
        self.group_by_name: dict[tuple[int, str], int] = {}
        self.group_by_idnum: dict[tuple[int, str], int] = {}
        self.user_groups: dict[int, set[int]] = {}
        self.cohorts: dict[int, Cohort] = {}
        self.cohort_by_idnumber: dict[str, int] = {}
        self.user_cohorts: dict[int, set[int]] = {}
        self.programs: dict[int, Program] = {}
        self.program_by_idnumber: dict[str, int] = {}
        self.sources: dict[int, Source] = {}
        self.allocations: dict[int, Allocation] = {}
        self.alloc_by_program: dict[int, dict[int, Allocation]] = {}
        self.alloc_by_user: dict[int, dict[int, Allocation]] = {}
        self.certifications: dict[int, Certification] = {}
        self.certification_by_idnumber: dict[str, int] = {}
        self.certalloc_by_cert: dict[int, dict[int, CertAllocation]] = {}
        self.certalloc_by_user: dict[int, dict[int, CertAllocation]] = {}
        self.departments: dict[int, Department] = {}
        self.department_by_idnumber: dict[str, int] = {}
        self.positions: dict[int, Position] = {}
        self.position_by_idnumber: dict[str, int] = {}
        self.jobs_by_user: dict[int, dict[int, JobAssignment]] = {}
        self.managers_by_user: dict[int, dict[int, ManagerLink]] = {}  # user -> manager -> link
        self.managed_by: dict[int, set[int]] = {}  # manager -> users
        self.grade_items: dict[int, GradeItem] = {}
        self.course_item: dict[int, int] = {}  # course -> its course grade item
        self.grade_categories: dict[int, GradeCategory] = {}
        self.gradecats_by_course: dict[int, set[int]] = {}
        self.grades: dict[int, dict[int, Grade]] = {}  # item -> user -> grade
        self.user_grade_items: dict[int, set[int]] = {}
        self.completions: dict[int, dict[int, Completion]] = {}  # course -> user -> completion
        self.user_completions: dict[int, set[int]] = {}
        self.metalinks: dict[int, MetaLink] = {}
        self.meta_by_parent: dict[int, dict[int, MetaLink]] = {}  # parent -> child -> link
        self.meta_by_child: dict[int, dict[int, MetaLink]] = {}  # child -> parent -> link
        self.logs: list[LogEntry | tuple[Any, ...]] = []  # tuples: deferred (State.add_deferred_log)
        self._deferred_logs = False
        self._build_log: Callable[[tuple[Any, ...]], LogEntry] | None = None  # see State.add_deferred_log
        self.nexsis_keys: list[str] = []
        self.ws_tokens: dict[str, WsToken] = {}

    # ------------------------------------------------------------------ journal primitives
    def transaction(self) -> _Transaction:
        """``with state.transaction():`` runs a block atomically: on any exception every
        journalled change is undone. Nested, the outer transaction owns the journal."""
        return self._transaction

    #: Most rows kept by `memo` at one time (a 1,000-enrolment listing is 1,000 rows).
    MEMO_MAX_ROWS = 50_000

    def memo(self, key: Any, build: Callable[[], list[Any]]) -> list[Any]:
        """``build()``, reused while the state is unchanged: for large read-only listings.

        Not for anything derived from ``logs``: appending a log entry leaves ``version`` alone.

        Valid because every change goes through the primitives (which bump ``version``) and a
        rollback bumps it too; a value is never kept while uncommitted changes exist. The cache is
        dropped on the first read after any change and when it would hold more than
        ``MEMO_MAX_ROWS`` rows, so it costs at most that much memory whatever the site's size.
        Callers get a fresh list (the rows themselves are shared: do not mutate them).
        """
        if self._memo_version != self.version:
            self._memo, self._memo_version, self._memo_size = {}, self.version, 0
        rows = self._memo.get(key)
        if rows is None:
            rows = build()
            if self._undo:  # built from uncommitted changes: not for anyone else
                return rows
            if self._memo_size + len(rows) > self.MEMO_MAX_ROWS:
                self._memo, self._memo_size = {}, 0
            self._memo[key] = rows
            self._memo_size += len(rows)
        out = MemoRows(rows)
        out.source = rows
        return out

    def _put(self, d: dict, key: Any, value: Any) -> None:
        self.version += 1
        if self._undo is not None:
            if key in d:
                self._undo.append((dict.__setitem__, d, key, d[key]))
            else:
                self._undo.append((dict.pop, d, key, None))
        d[key] = value

    def _pop(self, d: dict, key: Any) -> Any:
        if key not in d:
            return None
        value = d.pop(key)
        self.version += 1
        if self._undo is not None:
            self._undo.append((dict.__setitem__, d, key, value))
        return value

    def update(self, obj: Any, **fields: Any) -> None:
        """Set fields of a stored record, undoably: the way handlers change a record in place."""
        self._set_fields(obj, fields)

    def append_to(self, lst: list, value: Any) -> None:
        """Append to a list held by a stored record, undoably."""
        self._lappend(lst, value)

    def remove_from(self, lst: list, value: Any) -> None:
        """Remove the first ``value`` from a list held by a stored record, undoably."""
        self._lremove(lst, value)

    def _set(self, obj: Any, name: str, value: Any) -> None:
        old = getattr(obj, name)
        if old == value and type(old) is type(value):
            return
        self.version += 1
        if self._undo is not None:
            self._undo.append((setattr, obj, name, old))
        setattr(obj, name, value)

    def _set_fields(self, obj: Any, fields: dict[str, Any]) -> None:
        """``_set`` for each field in order, in one loop (a PUT sets five fields of a record)."""
        undo = self._undo
        for name, value in fields.items():
            old = getattr(obj, name)
            if old == value and type(old) is type(value):
                continue
            self.version += 1
            if undo is not None:
                undo.append((setattr, obj, name, old))
            setattr(obj, name, value)

    def _sadd(self, s: set, value: Any) -> None:
        if value in s:
            return
        s.add(value)
        self.version += 1
        if self._undo is not None:
            self._undo.append((set.discard, s, value))

    def _sdiscard(self, s: set, value: Any) -> None:
        if value not in s:
            return
        s.discard(value)
        self.version += 1
        if self._undo is not None:
            self._undo.append((set.add, s, value))

    def _lappend(self, lst: list, value: Any) -> None:
        lst.append(value)
        self.version += 1
        if self._undo is not None:
            self._undo.append((list.pop, lst))

    def _lremove(self, lst: list, value: Any) -> None:
        try:
            index = lst.index(value)
        except ValueError:
            return
        del lst[index]
        self.version += 1
        if self._undo is not None:
            self._undo.append((list.insert, lst, index, value))

    def _bucket(self, d: dict, key: Any, factory: Callable[[], Any]) -> Any:
        bucket = d.get(key)
        if bucket is None:
            bucket = factory()
            self._put(d, key, bucket)
        return bucket

    def _count(self, delta: int) -> None:
        old = self.enrol_count
        self.enrol_count = old + delta
        self.version += 1
        if self._undo is not None:
            self._undo.append((setattr, self, "enrol_count", old))

    def next_id(self, table: str) -> int:
        """Moodle ids come from sequences: never reused, even after a delete."""
        value = self.seq[table]
        self._put_seq(table, value + 1)
        return value

    def bump_seq(self, table: str, used: int) -> None:
        if used >= self.seq[table]:
            self._put_seq(table, used + 1)

    def _put_seq(self, table: str, value: int) -> None:
        # No memoised value shows a sequence counter (the record that takes the id is a change of
        # its own), and every NexSIS request draws a log id: not a change for `memo`.
        version = self.version
        self._put(self.seq, table, value)
        self.version = version


class _Transaction:
    """``Tables.transaction()``: one reusable context manager per state (no generator per write)."""

    __slots__ = ("depth", "tables")

    def __init__(self, tables: Tables) -> None:
        self.tables = tables
        self.depth = 0

    def __enter__(self) -> None:
        self.depth += 1
        if self.depth == 1:
            self.tables._undo = []

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: t.Any) -> None:
        self.depth -= 1
        if self.depth:
            return  # nested: the outer transaction owns the journal
        tables = self.tables
        undo, tables._undo = tables._undo, None
        if kind is not None and undo is not None:
            for step in reversed(undo):
                step[0](*step[1:])
            tables.version += 1  # what was derived from the undone changes is stale now
