"""The in-memory site: ``State``, the records and their relations, with Moodle's cascades.

The layers: `tables` (entity tables, indexes, the undo journal and its primitives), `memberships`
(enrolments, groups, allocations, grades...: each relation with its indexes), and here the
records that everything hangs from (categories, users, courses), their cascades and the logs.
Cascades mirror Moodle's: deleting a user drops enrolments, group and cohort memberships, program
and certification allocations, job assignments, manager links, grades and completions; deleting a
course drops its enrolments, groups, grade items, completions and metalinks.
"""

from __future__ import annotations

import typing as t
from collections.abc import Callable
from typing import Any

from nexsis_mock.store.memberships import Memberships
from nexsis_mock.store.records import Category, Course, GradeItem, LogEntry, User
from nexsis_mock.store.tables import ENROL_PLUGINS, ROLE_BY_ID, ROLES, TABLES, MemoRows, unique_shortname

__all__ = ["ENROL_PLUGINS", "ROLES", "ROLE_BY_ID", "TABLES", "MemoRows", "State"]


class State(Memberships):
    """One simulated site: every table and relation, the cascades, the NexSIS logs."""

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
        self._set_fields(user, changes)

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
        if unique_shortname(course.shortname):
            self._put(self.course_by_shortname, course.shortname, course.id)
        self.bump_seq("course", course.id)
        if course.id not in self.course_item:
            itemid = self.next_id("gradeitem") if gradeitem is None else gradeitem
            self.add_grade_item(GradeItem(id=itemid, courseid=course.id, itemtype="course"))

    def update_course(self, course: Course, **changes: Any) -> None:
        if "shortname" in changes and changes["shortname"] != course.shortname:
            if unique_shortname(course.shortname):
                self._pop(self.course_by_shortname, course.shortname)
            if unique_shortname(changes["shortname"]):
                self._put(self.course_by_shortname, changes["shortname"], course.id)
        if "idnumber" in changes and changes["idnumber"] != course.idnumber:
            if course.idnumber:
                self._pop(self.course_by_idnumber, course.idnumber)
            if changes["idnumber"]:
                self._put(self.course_by_idnumber, changes["idnumber"], course.id)
        self._set_fields(course, changes)

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
        if unique_shortname(course.shortname):
            self._pop(self.course_by_shortname, course.shortname)


    # ------------------------------------------------------------------ logs
    def add_log(self, entry: LogEntry) -> None:
        # Every NexSIS request logs: a log entry does not count as a change for `memo` (no memoised
        # value is derived from the logs), or no listing would survive the next request.
        version = self.version
        self._lappend(self.logs, entry)
        self.version = version
        self.bump_seq("log", entry.id)

    def add_deferred_log(self, inputs: tuple[Any, ...], build: Callable[[tuple[Any, ...]], LogEntry]) -> None:
        """A log entry kept as its inputs (log id first) until read, then ``build(inputs)``.

        One tuple per entry instead of the two objects (entry and inputs) it was: up to
        ``MAX_LOGS`` of them are kept, and every full collection of the cyclic GC walks them.
        """
        version = self.version
        self._deferred_logs = True
        self._build_log = build
        self._lappend(self.logs, inputs)
        self.version = version
        self.bump_seq("log", inputs[0])

    def add_request_log(self, inputs: tuple[Any, ...], build: Callable[[tuple[Any, ...]], LogEntry]) -> None:
        """``add_deferred_log`` under the next log id (``next_id("log")``), in one step: every
        NexSIS request adds one. ``inputs`` are the entry's inputs after its id."""
        seq = self.seq
        log_id = seq["log"]
        version = self.version
        self._put(seq, "log", log_id + 1)  # not a change for `memo` (see _put_seq, add_log)
        self._deferred_logs = True
        self._build_log = build
        self._lappend(self.logs, (log_id, *inputs))
        self.version = version

    def log_entries(self) -> list[LogEntry]:
        """The logs, oldest first, with entries deferred by the domain built now (in place).

        Reads of the logs are rare, so one pass over them when something was deferred is cheap
        enough.
        """
        logs = self.logs
        if self._deferred_logs:
            build = self._build_log
            assert build is not None  # set with the first deferred entry
            for index, entry in enumerate(logs):
                if not isinstance(entry, LogEntry):
                    logs[index] = build(entry)
            self._deferred_logs = False
        return t.cast(list[LogEntry], logs)  # every entry is built now

    def trim_logs(self, keep: int) -> None:
        """Bound memory: keep the newest `keep` entries (called outside transactions)."""
        if len(self.logs) > keep + keep // 10:
            del self.logs[: len(self.logs) - keep]
