"""Memberships and links between records: enrolments (with enrol_meta and enrol_muprog syncing),
metalinks, groups, cohorts, program and certification allocations, organisation, grades, completions.

Each operation keeps every index of the relation in step, through the journalled primitives of
`Tables`, so a rolled-back operation leaves no half-updated index.
"""

from __future__ import annotations

from nexsis_mock.store.records import (
    Allocation,
    CertAllocation,
    Certification,
    Cohort,
    Completion,
    Department,
    Enrolment,
    Grade,
    GradeCategory,
    GradeItem,
    Group,
    JobAssignment,
    ManagerLink,
    MetaLink,
    Position,
    Program,
    Source,
)
from nexsis_mock.store.tables import Tables


class Memberships(Tables):
    """The relations of a site's records, above the tables."""

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

