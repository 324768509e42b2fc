"""The in-memory site: entity tables, the indexes that make every lookup O(1), and the cascades.

Every mutation goes through the journalled primitives (`_put`, `_pop`, `_set`, ...). While an
operation runs, the journal records how to undo each change, so a failing operation is rolled back
change by change and `Service.call` stays atomic without copying the state. Outside a transaction
(fixture loading) nothing is journalled, which keeps loading a million enrolments cheap.

Cascades mirror Moodle's: deleting a user drops enrolments, group and cohort memberships, program
and certification allocations, job assignments, manager links, grades and completions; deleting a
course drops its enrolments, groups, grade items, completions and metalinks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


class State:
    """All entities of one simulated site, with O(1) indexes by internal id and by idnumber."""

    def __init__(self) -> None:
        self._undo: list[Callable[[], None]] | None = None
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
        self.logs: list[LogEntry] = []
        self._deferred_logs = False
        self.nexsis_keys: list[str] = []
        self.ws_tokens: dict[str, WsToken] = {}

    # ------------------------------------------------------------------ journal primitives
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run a block atomically: on any exception every journalled change is undone."""
        if self._undo is not None:  # nested: the outer transaction owns the journal
            yield
            return
        self._undo = []
        try:
            yield
        except BaseException:
            undo, self._undo = self._undo, None
            for step in reversed(undo):
                step()
            self.version += 1  # what was derived from the undone changes is stale now
            raise
        self._undo = None

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
                old = d[key]
                self._undo.append(lambda: d.__setitem__(key, old))
            else:
                self._undo.append(lambda: d.pop(key, None))
        d[key] = value

    def _pop(self, d: dict, key: Any) -> Any:
        if key not in d:
            return None
        value = d.pop(key)
        self.version += 1
        if self._undo is not None:
            self._undo.append(lambda: d.__setitem__(key, value))
        return value

    def update(self, obj: Any, **fields: Any) -> None:
        """Set fields of a stored record, undoably: the way handlers change a record in place."""
        for name, value in fields.items():
            self._set(obj, name, value)

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
            self._undo.append(lambda: setattr(obj, name, old))
        setattr(obj, name, value)

    def _sadd(self, s: set, value: Any) -> None:
        if value in s:
            return
        s.add(value)
        self.version += 1
        if self._undo is not None:
            self._undo.append(lambda: s.discard(value))

    def _sdiscard(self, s: set, value: Any) -> None:
        if value not in s:
            return
        s.discard(value)
        self.version += 1
        if self._undo is not None:
            self._undo.append(lambda: s.add(value))

    def _lappend(self, lst: list, value: Any) -> None:
        lst.append(value)
        self.version += 1
        if self._undo is not None:
            self._undo.append(lst.pop)

    def _lremove(self, lst: list, value: Any) -> None:
        try:
            index = lst.index(value)
        except ValueError:
            return
        del lst[index]
        self.version += 1
        if self._undo is not None:
            self._undo.append(lambda: lst.insert(index, value))

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
            self._undo.append(lambda: setattr(self, "enrol_count", old))

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

    # ------------------------------------------------------------------ categories
    def category_path(self, catid: int) -> str:
        parts: list[str] = []
        seen: set[int] = set()
        while catid and catid in self.categories and catid not in seen:
            seen.add(catid)
            cat = self.categories[catid]
            parts.append(cat.name)
            catid = cat.parent
        return "/" + "/".join(reversed(parts))

    def ensure_category_path(self, path: str) -> int:
        """Category id for a '/A/B/C' path, creating missing levels as NexSIS does."""
        parent = 0
        catid = self.site.get("defaultcategory", 1)
        for name in [p for p in path.split("/") if p.strip()]:
            name = name.strip()
            catid = self.category_children.get((parent, name), 0)
            if not catid:
                catid = self.next_id("category")
                self.add_category(Category(id=catid, name=name, parent=parent))
            parent = catid
        return catid

    def add_category(self, cat: Category) -> None:
        self._put(self.categories, cat.id, cat)
        self._put(self.category_children, (cat.parent, cat.name), cat.id)
        self.bump_seq("category", cat.id)

    # ------------------------------------------------------------------ users
    def add_user(self, user: User) -> None:
        self._put(self.users, user.id, user)
        if user.idnumber:
            self._put(self.user_by_idnumber, user.idnumber, user.id)
        self._put(self.user_by_username, user.username, user.id)
        self.bump_seq("user", user.id)

    def update_user(self, user: User, **changes: Any) -> None:
        if "username" in changes and changes["username"] != user.username:
            self._pop(self.user_by_username, user.username)
            self._put(self.user_by_username, changes["username"], user.id)
        if "idnumber" in changes and changes["idnumber"] != user.idnumber:
            if user.idnumber:
                self._pop(self.user_by_idnumber, user.idnumber)
            if changes["idnumber"]:
                self._put(self.user_by_idnumber, changes["idnumber"], user.id)
        for name, value in changes.items():
            self._set(user, name, value)

    def delete_user(self, userid: int) -> None:
        user = self.users.get(userid)
        if user is None:
            return
        for courseid in list(self.enrol_by_user.get(userid, {})):
            self.unenrol(userid, courseid, None)
        for groupid in list(self.user_groups.get(userid, ())):
            self.remove_group_member(groupid, userid)
        for cohortid in list(self.user_cohorts.get(userid, ())):
            cohort = self.cohorts[cohortid]
            self._lremove(cohort.members, userid)
        self._pop(self.user_cohorts, userid)
        for alloc in list(self.alloc_by_user.get(userid, {}).values()):
            self.delete_allocation(alloc)
        for ca in list(self.certalloc_by_user.get(userid, {}).values()):
            self.delete_cert_allocation(ca)
        for job in list(self.jobs_by_user.get(userid, {}).values()):
            self.delete_job(job)
        for link in list(self.managers_by_user.get(userid, {}).values()):
            self.delete_manager_link(link)
        for managed in list(self.managed_by.get(userid, ())):
            theirs = self.managers_by_user.get(managed, {}).get(userid)
            if theirs is not None:
                self.delete_manager_link(theirs)
        for itemid in list(self.user_grade_items.get(userid, ())):
            self._pop(self.grades.get(itemid, {}), userid)
        self._pop(self.user_grade_items, userid)
        for courseid in list(self.user_completions.get(userid, ())):
            self._pop(self.completions.get(courseid, {}), userid)
        self._pop(self.user_completions, userid)
        for table in (
            self.enrol_by_user,
            self.user_groups,
            self.alloc_by_user,
            self.certalloc_by_user,
            self.jobs_by_user,
            self.managers_by_user,
            self.managed_by,
        ):
            self._pop(table, userid)
        self._pop(self.users, userid)
        if user.idnumber:
            self._pop(self.user_by_idnumber, user.idnumber)
        self._pop(self.user_by_username, user.username)
        for token, ws in list(self.ws_tokens.items()):
            if ws.userid == userid:
                self._pop(self.ws_tokens, token)

    # ------------------------------------------------------------------ courses
    def add_course(self, course: Course, gradeitem: int | None = None) -> None:
        """Add a course with its course grade item (id ``gradeitem``, as exported, or the next one)."""
        self._put(self.courses, course.id, course)
        if course.idnumber:
            self._put(self.course_by_idnumber, course.idnumber, course.id)
        self._put(self.course_by_shortname, course.shortname, course.id)
        self.bump_seq("course", course.id)
        if course.id not in self.course_item:
            itemid = self.next_id("gradeitem") if gradeitem is None else gradeitem
            self.add_grade_item(GradeItem(id=itemid, courseid=course.id, itemtype="course"))

    def update_course(self, course: Course, **changes: Any) -> None:
        if "shortname" in changes and changes["shortname"] != course.shortname:
            self._pop(self.course_by_shortname, course.shortname)
            self._put(self.course_by_shortname, changes["shortname"], course.id)
        if "idnumber" in changes and changes["idnumber"] != course.idnumber:
            if course.idnumber:
                self._pop(self.course_by_idnumber, course.idnumber)
            if changes["idnumber"]:
                self._put(self.course_by_idnumber, changes["idnumber"], course.id)
        for name, value in changes.items():
            self._set(course, name, value)

    def delete_course(self, courseid: int) -> None:
        course = self.courses.get(courseid)
        if course is None:
            return
        for link in list(self.meta_by_parent.get(courseid, {}).values()):
            self.delete_metalink(link)
        for link in list(self.meta_by_child.get(courseid, {}).values()):
            self.delete_metalink(link)
        for userid in list(self.enrol_by_course.get(courseid, {})):
            self.unenrol(userid, courseid, None)
        for group in list(self.groups_by_course.get(courseid, {}).values()):
            self.delete_group(group.id)
        for catid in list(self.gradecats_by_course.get(courseid, ())):
            cat = self.grade_categories[catid]
            self.delete_grade_item(cat.itemid)
            self._pop(self.grade_categories, catid)
        self._pop(self.gradecats_by_course, courseid)
        itemid = self.course_item.get(courseid)
        if itemid is not None:
            self.delete_grade_item(itemid)
        for userid in list(self.completions.get(courseid, {})):
            self._sdiscard(self.user_completions.get(userid, set()), courseid)
        self._pop(self.completions, courseid)
        for program in self.programs.values():
            if courseid in program.courses:
                self._lremove(program.courses, courseid)
        for table in (self.enrol_by_course, self.groups_by_course, self.meta_by_parent, self.meta_by_child):
            self._pop(table, courseid)
        self._pop(self.courses, courseid)
        if course.idnumber:
            self._pop(self.course_by_idnumber, course.idnumber)
        self._pop(self.course_by_shortname, course.shortname)

    # ------------------------------------------------------------------ enrolments
    def enrolments(self, userid: int, courseid: int) -> list[Enrolment]:
        return self.enrol_by_user.get(userid, {}).get(courseid, [])

    def is_enrolled(self, userid: int, courseid: int) -> bool:
        return bool(self.enrol_by_user.get(userid, {}).get(courseid))

    def enrol(
        self,
        userid: int,
        courseid: int,
        plugin: str = "manual",
        role: str = "student",
        *,
        instance: int = 0,
        status: int = 0,
        timestart: int = 0,
        timeend: int = 0,
        now: int = 0,
        enrolid: int | None = None,
    ) -> Enrolment:
        """Create or update the enrolment of one plugin instance (Moodle's enrol_user)."""
        pair = self.enrol_by_course.get(courseid, {}).get(userid)
        if pair is None:
            pair = []
            self._put(self._bucket(self.enrol_by_course, courseid, dict), userid, pair)
            self._put(self._bucket(self.enrol_by_user, userid, dict), courseid, pair)
        for existing in pair:
            if existing.plugin == plugin and existing.instance == instance:
                self._set(existing, "role", role)
                self._set(existing, "status", status)
                self._set(existing, "timestart", timestart)
                self._set(existing, "timeend", timeend)
                return existing
        if enrolid is None:
            enrolid = self.next_id("enrolment")
        else:
            self.bump_seq("enrolment", enrolid)
        enrolment = Enrolment(
            id=enrolid,
            userid=userid,
            courseid=courseid,
            plugin=plugin,
            role=role,
            status=status,
            timestart=timestart,
            timeend=timeend,
            timecreated=now,
            instance=instance,
        )
        self._lappend(pair, enrolment)
        self._count(1)
        if plugin != "meta" or self.meta_by_child.get(courseid):
            self._meta_sync_user(courseid, userid, now)
        return enrolment

    def unenrol(self, userid: int, courseid: int, plugin: str | None, instance: int | None = None) -> int:
        """Remove the user's enrolments in a course (one plugin's, or all); returns how many."""
        pair = self.enrol_by_course.get(courseid, {}).get(userid)
        if not pair:
            return 0
        removed = 0
        for enrolment in list(pair):
            if plugin is not None and enrolment.plugin != plugin:
                continue
            if instance is not None and enrolment.instance != instance:
                continue
            self._lremove(pair, enrolment)
            self._count(-1)
            removed += 1
        if not pair:
            self._pop(self.enrol_by_course[courseid], userid)
            self._pop(self.enrol_by_user[userid], courseid)
            # Moodle drops group memberships when the last enrolment goes
            for groupid in list(self.user_groups.get(userid, ())):
                group = self.groups.get(groupid)
                if group is not None and group.courseid == courseid:
                    self.remove_group_member(groupid, userid)
        if removed:
            self._meta_sync_user(courseid, userid, 0)
        return removed

    # ------------------------------------------------------------------ metalinks
    def _meta_sync_user(self, childid: int, userid: int, now: int, depth: int = 0) -> None:
        """Mirror a child-course enrolment into every parent linked to it (enrol_meta)."""
        links = self.meta_by_child.get(childid)
        if not links or depth > 20:
            return
        enrolled = self.is_enrolled(userid, childid)
        for parentid, link in list(links.items()):
            has = any(e.plugin == "meta" and e.instance == link.id for e in self.enrolments(userid, parentid))
            if enrolled and not has:
                role = next((e.role for e in self.enrolments(userid, childid)), "student")
                self.enrol(userid, parentid, "meta", role, instance=link.id, now=now)
                if link.customint2 and link.customint2 in self.groups:
                    self.add_group_member(link.customint2, userid)
            elif not enrolled and has:
                self.unenrol(userid, parentid, "meta", link.id)

    def would_cycle(self, parentid: int, childid: int) -> bool:
        """True if linking child into parent closes a loop (parent already feeds child)."""
        stack, seen = [parentid], set()
        while stack:
            course = stack.pop()
            if course == childid:
                return True
            if course in seen:
                continue
            seen.add(course)
            stack.extend(self.meta_by_child.get(course, {}).keys())
        return False

    def add_metalink(self, link: MetaLink, now: int, *, sync: bool = True) -> None:
        """Add a metalink; ``sync``: mirror the child's enrolments (not when loading an export)."""
        self._put(self.metalinks, link.id, link)
        self._put(self._bucket(self.meta_by_parent, link.courseid, dict), link.customint1, link)
        self._put(self._bucket(self.meta_by_child, link.customint1, dict), link.courseid, link)
        self.bump_seq("metalink", link.id)
        if not sync:
            return
        for userid in list(self.enrol_by_course.get(link.customint1, {})):
            self._meta_sync_user(link.customint1, userid, now)

    def delete_metalink(self, link: MetaLink) -> None:
        self._pop(self.metalinks, link.id)
        self._pop(self.meta_by_parent.get(link.courseid, {}), link.customint1)
        self._pop(self.meta_by_child.get(link.customint1, {}), link.courseid)
        for userid in list(self.enrol_by_course.get(link.courseid, {})):
            self.unenrol(userid, link.courseid, "meta", link.id)

    # ------------------------------------------------------------------ groups
    def add_group(self, group: Group) -> None:
        self._put(self.groups, group.id, group)
        self._put(self._bucket(self.groups_by_course, group.courseid, dict), group.id, group)
        self._put(self.group_by_name, (group.courseid, group.name), group.id)
        if group.idnumber:
            self._put(self.group_by_idnum, (group.courseid, group.idnumber), group.id)
        for userid in group.members:
            self._sadd(self._bucket(self.user_groups, userid, set), group.id)
        self.bump_seq("group", group.id)

    def group_by_idnumber(self, courseid: int, idnumber: str) -> Group | None:
        groupid = self.group_by_idnum.get((courseid, idnumber)) if idnumber else None
        return None if groupid is None else self.groups.get(groupid)

    def group_named(self, courseid: int, name: str) -> Group | None:
        groupid = self.group_by_name.get((courseid, name))
        return None if groupid is None else self.groups.get(groupid)

    def rename_group(self, group: Group, name: str) -> None:
        if self.group_by_name.get((group.courseid, group.name)) == group.id:
            self._pop(self.group_by_name, (group.courseid, group.name))
        self._set(group, "name", name)
        self._put(self.group_by_name, (group.courseid, name), group.id)

    def delete_group(self, groupid: int) -> None:
        group = self.groups.get(groupid)
        if group is None:
            return
        for userid in list(group.members):
            self.remove_group_member(groupid, userid)
        for link in self.meta_by_parent.get(group.courseid, {}).values():
            if link.customint2 == groupid:
                self._set(link, "customint2", None)
        self._pop(self.groups_by_course.get(group.courseid, {}), groupid)
        if self.group_by_name.get((group.courseid, group.name)) == groupid:
            self._pop(self.group_by_name, (group.courseid, group.name))
        if group.idnumber and self.group_by_idnum.get((group.courseid, group.idnumber)) == groupid:
            self._pop(self.group_by_idnum, (group.courseid, group.idnumber))
        self._pop(self.groups, groupid)

    def add_group_member(self, groupid: int, userid: int) -> None:
        group = self.groups[groupid]
        self._sadd(group.members, userid)
        self._sadd(self._bucket(self.user_groups, userid, set), groupid)

    def remove_group_member(self, groupid: int, userid: int) -> None:
        group = self.groups.get(groupid)
        if group is not None:
            self._sdiscard(group.members, userid)
        self._sdiscard(self.user_groups.get(userid, set()), groupid)

    # ------------------------------------------------------------------ cohorts
    def add_cohort(self, cohort: Cohort) -> None:
        self._put(self.cohorts, cohort.id, cohort)
        if cohort.idnumber:
            self._put(self.cohort_by_idnumber, cohort.idnumber, cohort.id)
        for userid in cohort.members:
            self._sadd(self._bucket(self.user_cohorts, userid, set), cohort.id)
        self.bump_seq("cohort", cohort.id)

    # ------------------------------------------------------------------ programs
    def add_program(self, program: Program) -> None:
        self._put(self.programs, program.id, program)
        if program.idnumber:
            self._put(self.program_by_idnumber, program.idnumber, program.id)
        self.bump_seq("program", program.id)

    def add_source(self, source: Source) -> None:
        self._put(self.sources, source.id, source)
        self._put(self.programs[source.programid].sources, source.type, source.id)
        self.bump_seq("source", source.id)

    def allocation(self, programid: int, userid: int) -> Allocation | None:
        return self.alloc_by_program.get(programid, {}).get(userid)

    def add_allocation(self, alloc: Allocation, now: int = 0, *, sync: bool = True) -> None:
        """Add an allocation; ``sync``: enrol its user in the program's courses (not for an export)."""
        self._put(self.allocations, alloc.id, alloc)
        self._put(self._bucket(self.alloc_by_program, alloc.programid, dict), alloc.userid, alloc)
        self._put(self._bucket(self.alloc_by_user, alloc.userid, dict), alloc.programid, alloc)
        self.bump_seq("allocation", alloc.id)
        if sync:
            self.sync_program_enrolments(alloc, now)

    def sync_program_enrolments(self, alloc: Allocation, now: int = 0) -> None:
        """enrol_muprog: an allocation enrols its user in the program's courses (suspended if archived)."""
        program = self.programs[alloc.programid]
        status = 1 if alloc.archived else 0
        for courseid in program.courses:
            if courseid in self.courses:
                self.enrol(
                    alloc.userid,
                    courseid,
                    "muprog",
                    "student",
                    instance=program.id,
                    status=status,
                    now=now or alloc.timecreated,
                )

    def delete_allocation(self, alloc: Allocation) -> None:
        self._pop(self.allocations, alloc.id)
        self._pop(self.alloc_by_program.get(alloc.programid, {}), alloc.userid)
        self._pop(self.alloc_by_user.get(alloc.userid, {}), alloc.programid)
        program = self.programs.get(alloc.programid)
        if program is not None:
            for courseid in program.courses:
                self.unenrol(alloc.userid, courseid, "muprog", program.id)

    def set_allocation_archived(self, alloc: Allocation, archived: bool, now: int) -> None:
        self._set(alloc, "archived", archived)
        self._set(alloc, "timemodified", now)
        self.sync_program_enrolments(alloc, now)

    # ------------------------------------------------------------------ certifications
    def add_certification(self, cert: Certification) -> None:
        self._put(self.certifications, cert.id, cert)
        if cert.idnumber:
            self._put(self.certification_by_idnumber, cert.idnumber, cert.id)
        self.bump_seq("certification", cert.id)

    def add_cert_allocation(self, ca: CertAllocation) -> None:
        self._put(self._bucket(self.certalloc_by_cert, ca.certificationid, dict), ca.userid, ca)
        self._put(self._bucket(self.certalloc_by_user, ca.userid, dict), ca.certificationid, ca)
        self.bump_seq("certallocation", ca.id)

    def delete_cert_allocation(self, ca: CertAllocation) -> None:
        self._pop(self.certalloc_by_cert.get(ca.certificationid, {}), ca.userid)
        self._pop(self.certalloc_by_user.get(ca.userid, {}), ca.certificationid)

    # ------------------------------------------------------------------ organisation
    def add_department(self, dept: Department) -> None:
        self._put(self.departments, dept.id, dept)
        self._put(self.department_by_idnumber, dept.idnumber, dept.id)
        self.bump_seq("department", dept.id)

    def add_position(self, pos: Position) -> None:
        self._put(self.positions, pos.id, pos)
        self._put(self.position_by_idnumber, pos.idnumber, pos.id)
        self.bump_seq("position", pos.id)

    def add_job(self, job: JobAssignment) -> None:
        self._put(self._bucket(self.jobs_by_user, job.userid, dict), job.id, job)
        self.bump_seq("job", job.id)

    def delete_job(self, job: JobAssignment) -> None:
        self._pop(self.jobs_by_user.get(job.userid, {}), job.id)

    def add_manager_link(self, link: ManagerLink) -> None:
        self._put(self._bucket(self.managers_by_user, link.userid, dict), link.managerid, link)
        self._sadd(self._bucket(self.managed_by, link.managerid, set), link.userid)
        self.bump_seq("manager", link.id)

    def delete_manager_link(self, link: ManagerLink) -> None:
        self._pop(self.managers_by_user.get(link.userid, {}), link.managerid)
        self._sdiscard(self.managed_by.get(link.managerid, set()), link.userid)

    # ------------------------------------------------------------------ grades
    def add_grade_item(self, item: GradeItem) -> None:
        self._put(self.grade_items, item.id, item)
        if item.itemtype == "course":
            self._put(self.course_item, item.courseid, item.id)
        self.bump_seq("gradeitem", item.id)

    def delete_grade_item(self, itemid: int) -> None:
        item = self._pop(self.grade_items, itemid)
        for userid in list(self.grades.get(itemid, {})):
            self._sdiscard(self.user_grade_items.get(userid, set()), itemid)
        self._pop(self.grades, itemid)
        if item is not None and item.itemtype == "course":
            self._pop(self.course_item, item.courseid)

    def add_grade_category(self, cat: GradeCategory) -> None:
        if not cat.itemid:
            cat.itemid = self.next_id("gradeitem")
        self.add_grade_item(
            GradeItem(id=cat.itemid, courseid=cat.courseid, itemtype="category", iteminstance=cat.id)
        )
        self._put(self.grade_categories, cat.id, cat)
        self._sadd(self._bucket(self.gradecats_by_course, cat.courseid, set), cat.id)
        self.bump_seq("gradecategory", cat.id)

    def put_grade(self, grade: Grade) -> None:
        self._put(self._bucket(self.grades, grade.itemid, dict), grade.userid, grade)
        self._sadd(self._bucket(self.user_grade_items, grade.userid, set), grade.itemid)
        self.bump_seq("grade", grade.id)

    # ------------------------------------------------------------------ completions
    def completion(self, courseid: int, userid: int) -> Completion | None:
        return self.completions.get(courseid, {}).get(userid)

    def add_completion(self, comp: Completion) -> None:
        self._put(self._bucket(self.completions, comp.courseid, dict), comp.userid, comp)
        self._sadd(self._bucket(self.user_completions, comp.userid, set), comp.courseid)
        self.bump_seq("completion", comp.id)

    # ------------------------------------------------------------------ logs
    def add_log(self, entry: LogEntry) -> None:
        # Every NexSIS request logs: a log entry does not count as a change for `memo` (no memoised
        # value is derived from the logs), or no listing would survive the next request.
        version = self.version
        if not isinstance(entry, LogEntry):
            self._deferred_logs = True
        self._lappend(self.logs, entry)
        self.version = version
        self.bump_seq("log", entry.id)

    def log_entries(self) -> list[LogEntry]:
        """The logs, oldest first, with entries deferred by the domain built now (in place).

        A deferred entry is anything with ``materialize()`` (see ``nexsis_mock.domain``); reads of
        the logs are rare, so one pass over them when something was deferred is cheap enough.
        """
        logs = self.logs
        if self._deferred_logs:
            for index, entry in enumerate(logs):
                if not isinstance(entry, LogEntry):
                    logs[index] = entry.materialize()
            self._deferred_logs = False
        return logs

    def trim_logs(self, keep: int) -> None:
        """Bound memory: keep the newest `keep` entries (called outside transactions)."""
        if len(self.logs) > keep + keep // 10:
            del self.logs[: len(self.logs) - keep]
