"""Anchors: for every operation one request expected to succeed, with what it needs made right before it."""

from __future__ import annotations

from typing import Any, ClassVar

import requests

from nexsis_contracts.catalog import OperationInfo
from nexsis_contracts.graph.base import COMPLETION_TIME, START, Anchor, succeeded
from nexsis_contracts.graph.ws import WsRecords
from nexsis_contracts.safety import RefusedRequest


class FixtureGraph(WsRecords):
    """Lazily built, memoized records of the run, and the anchors/victims derived from them."""

    # -- what an operation needs, for the report when its anchor could not be prepared --------------
    NEEDS: ClassVar[dict[str, str]] = {
        "getCategoryGrades": "a sandbox nexsis course and category (grade category id) in --config",
        "overrideCategoryGrade": "a sandbox nexsis course and category in --config, and a mode that writes",
        "getCertificationAllocation": "a sandbox nexsis certification in --config",
        "putCertificationAllocation": "a sandbox nexsis certification in --config",
        "deleteCertificationAllocation": "a sandbox nexsis certification in --config",
        "putJobAssignment": "sandbox nexsis departments and positions in --config",
        "deleteJobAssignment": "sandbox nexsis departments and positions in --config",
        "getProgramAllocation": "a sandbox nexsis program in --config (full mode: a discoverable program)",
        "putProgramAllocation": "a sandbox nexsis program in --config (full mode: a discoverable program)",
        "deleteProgramAllocation": "a sandbox nexsis program in --config (full mode: a discoverable program)",
        "tool_muprog_source_cohort_add_cohort": "a sandbox moodle-ws cohort not attached to the program",
        "tool_muprog_source_cohort_delete_cohort": "a sandbox moodle-ws cohort not attached to the program",
    }

    def needs(self, info: OperationInfo) -> str:
        if not self.writes and info.is_write:
            return "a mode that writes (read-only mode sends none)"
        if info.operation_id in self.NEEDS:
            return self.NEEDS[info.operation_id]
        if info.operation_id.startswith("tool_muprog_"):
            return "a sandbox moodle-ws program (or a NexSIS program allocation) and users the run owns"
        if info.api == "moodle-ws":
            return "a course the run owns (through NexSIS) or sandbox moodle-ws courses and users"
        if not self.writes:
            return "sandbox ids of existing, related records in --config (read-only mode creates none)"
        return "the records it needs could not be created (see the setup requests in the report)"

    # -- anchors ------------------------------------------------------------------------------------------
    def anchor(self, info: OperationInfo) -> Anchor | None:
        """The operation's success request, with whatever it needs created right before it."""
        build = getattr(self, f"_anchor_{info.operation_id}", None)
        if build is None:
            return None
        try:
            return build()
        except (RefusedRequest, requests.RequestException):
            return None

    # Victim-based operations also serve the fuzz share of destructive cases.
    DESTRUCTIVE: ClassVar[frozenset[str]] = frozenset(
        {
            "deleteCourse",
            "deleteUser",
            "unenrolUser",
            "deleteCourseGroup",
            "removeGroupMember",
            "deleteMetalink",
            "deleteProgramAllocation",
            "deleteCertificationAllocation",
            "deleteJobAssignment",
            "deleteManager",
            "tool_muprog_delete_program_allocations",
            "tool_muprog_update_program_allocation",
            "tool_muprog_archive_program_allocation",
            "tool_muprog_restore_program_allocation",
            "tool_muprog_source_cohort_delete_cohort",
            "core_group_delete_groups",
            "core_group_delete_group_members",
        }
    )

    @staticmethod
    def _a(
        path: dict[str, Any] | None = None, body: Any = None, query: dict[str, Any] | None = None
    ) -> Anchor:
        return Anchor(path or {}, query, body, "application/json" if body is not None else None)

    @staticmethod
    def _w(**body: Any) -> Anchor:
        return Anchor({}, None, body, "application/x-www-form-urlencoded")

    # NexSIS
    def _anchor_ping(self) -> Anchor:
        return self._a()

    def _anchor_getLogs(self) -> Anchor:
        return self._a(query={"limit": 5})

    def _anchor_getCourse(self) -> Anchor | None:
        c = self.course()
        return self._a({"courseid": c}) if c else None

    def _anchor_putCourse(self) -> Anchor | None:
        c = self.course()
        return (
            self._a({"courseid": c}, {"fullname": f"Contract course {c} (updated)"})
            if c and self.writes
            else None
        )

    def _anchor_deleteCourse(self) -> Anchor | None:
        c = self._put_course(self.fresh("D")) if self.writes else None
        return self._a({"courseid": c}) if c else None

    def _anchor_listCourseEnrolments(self) -> Anchor | None:
        c = self.course()
        if c and self.writes:
            self.user()
        return self._a({"courseid": c}) if c else None

    def _anchor_getCategoryGrades(self) -> Anchor | None:
        cat = self.category()
        return self._a({"courseid": cat[0], "catid": cat[1]}) if cat else None

    def _anchor_overrideCategoryGrade(self) -> Anchor | None:
        cat = self.category()
        if not cat or not cat[3]:
            return None
        course, catid, grade, user = cat
        return self._a({"courseid": course, "catid": catid, "userid": user, "grade": grade})

    def _anchor_getUser(self) -> Anchor | None:
        u = self.user()
        return self._a({"userid": u}) if u else None

    def _anchor_putUser(self) -> Anchor | None:
        u = self.user()
        return self._a({"userid": u}, {"firstname": "Contract-updated"}) if u and self.writes else None

    def _anchor_deleteUser(self) -> Anchor | None:
        u = self.fresh_user()
        return self._a({"userid": u}) if u else None

    def _anchor_listUserEnrolments(self) -> Anchor | None:
        u = self.user()
        return self._a({"userid": u}) if u else None

    def _anchor_enrolUser(self) -> Anchor | None:
        u, c = self.user(), self.course()
        return (
            self._a({"userid": u, "courseid": c}, {"roleid": "student"}) if u and c and self.writes else None
        )

    def _anchor_unenrolUser(self) -> Anchor | None:
        u, c = self.fresh_user(), self.course()
        if not (u and c) or not succeeded(self.call("PUT", f"/user/{u}/enrol/{c}", {"roleid": "student"})):
            return None
        return self._a({"userid": u, "courseid": c})

    def _anchor_listCourseGroups(self) -> Anchor | None:
        c = self.course()
        if c and self.writes:
            self.group()
        return self._a({"courseid": c}) if c else None

    def _anchor_getCourseGroup(self) -> Anchor | None:
        g = self.group()
        return self._a({"courseid": self.course(), "groupid": g}) if g else None

    def _anchor_putCourseGroup(self) -> Anchor | None:
        g = self.group()
        return self._a({"courseid": self.course(), "groupid": g}, {"description": "updated"}) if g else None

    def _victim_group(self, member: str | None = None) -> str | None:
        c = self.course()
        if not c or not self.writes:
            return None
        gid = self.fresh("H")
        if not succeeded(
            self.call("PUT", f"/course/{c}/group/{gid}", {"name": gid, "description": "victim"})
        ):
            return None
        if member and not succeeded(self.call("PUT", f"/course/{c}/group/{gid}/user/{member}")):
            return None
        return gid

    def _anchor_deleteCourseGroup(self) -> Anchor | None:
        g = self._victim_group()
        return self._a({"courseid": self.course(), "groupid": g}) if g else None

    def _anchor_addGroupMember(self) -> Anchor | None:
        g, u = self.group(), self.user()
        return self._a({"courseid": self.course(), "groupid": g, "userid": u}) if g and u else None

    def _anchor_removeGroupMember(self) -> Anchor | None:
        u = self.user()
        g = self._victim_group(u) if u else None
        return self._a({"courseid": self.course(), "groupid": g, "userid": u}) if g else None

    def _anchor_getCourseCompletion(self) -> Anchor | None:
        if not self.completion():
            return None
        return self._a({"courseid": self.course(), "userid": self.user()})

    def _anchor_addCourseCompletion(self) -> Anchor | None:
        c, u = self.course(), self.user()
        if not (c and u and self.writes):
            return None
        return self._a({"courseid": c, "userid": u, "timecompleted": COMPLETION_TIME})

    def _anchor_getUserGrades(self) -> Anchor | None:
        u = self.user()
        return self._a({"userid": u}) if u else None

    def _anchor_getCourseGrades(self) -> Anchor | None:
        c = self.course()
        return self._a({"courseid": c}) if c else None

    def _anchor_getMetalink(self) -> Anchor | None:
        link = self.metalink()
        return self._a({"parentid": link[0], "childid": link[1]}) if link else None

    def _anchor_putMetalink(self) -> Anchor | None:
        link = self.metalink()
        return self._a({"parentid": link[0], "childid": link[1]}, {}) if link else None

    def _anchor_deleteMetalink(self) -> Anchor | None:
        parent = self.course2()
        child = self._put_course(self.fresh("D")) if parent else None
        if not child or not succeeded(self.call("PUT", f"/course/{parent}/metalink/{child}", {})):
            return None
        return self._a({"parentid": parent, "childid": child})

    def _anchor_getProgramAllocation(self) -> Anchor | None:
        pa = self.program_allocation()
        return self._a({"programid": pa[0], "userid": pa[1]}) if pa else None

    def _anchor_putProgramAllocation(self) -> Anchor | None:
        pa = self.program_allocation()
        return self._a({"programid": pa[0], "userid": pa[1]}, {"status": "0"}) if pa else None

    def _anchor_deleteProgramAllocation(self) -> Anchor | None:
        p, u = self.program(), self.fresh_user()
        if not (p and u) or not succeeded(self.call("PUT", f"/program/{p}/user/{u}", {})):
            return None
        return self._a({"programid": p, "userid": u})

    def _anchor_getCertificationAllocation(self) -> Anchor | None:
        ca = self.certification_allocation()
        return self._a({"certificationid": ca[0], "userid": ca[1]}) if ca else None

    def _anchor_putCertificationAllocation(self) -> Anchor | None:
        ca = self.certification_allocation()
        return self._a({"certificationid": ca[0], "userid": ca[1]}, {"suspendstatus": "0"}) if ca else None

    def _anchor_deleteCertificationAllocation(self) -> Anchor | None:
        cert, u = self.certification(), self.fresh_user()
        if not (cert and u) or not succeeded(self.call("PUT", f"/certification/{cert}/user/{u}", {})):
            return None
        return self._a({"certificationid": cert, "userid": u})

    def _anchor_listJobAssignments(self) -> Anchor | None:
        u = self.user()
        if u and self.writes:
            self.job()
        return self._a({"userid": u}) if u else None

    def _anchor_putJobAssignment(self) -> Anchor | None:
        u, org = self.user(), self.org()
        if not (u and org and self.writes):
            return None
        return self._a({"userid": u}, {"departmentid": org[0], "positionid": org[1], "startdate": START})

    def _anchor_deleteJobAssignment(self) -> Anchor | None:
        org, u = self.org(), None
        if org:
            u = self.fresh_user()
        if not (org and u) or not succeeded(self._put_job(u, org)):
            return None
        return self._a({"userid": u, "departmentid": org[0], "positionid": org[1]})

    def _anchor_listManagers(self) -> Anchor | None:
        u = self.user()
        if u and self.writes:
            self.manager()
        return self._a({"userid": u}) if u else None

    def _anchor_putManager(self) -> Anchor | None:
        m = self.manager()
        return self._a({"userid": m[0], "managerid": m[1]}, self._manager_body()) if m else None

    def _anchor_deleteManager(self) -> Anchor | None:
        boss, u = self.user2(), self.fresh_user()
        if not (boss and u) or not succeeded(
            self.call("PUT", f"/organisation/user/{u}/manager/{boss}", self._manager_body())
        ):
            return None
        return self._a({"userid": u, "managerid": boss})

    # Moodle WS
    def _anchor_core_webservice_get_site_info(self) -> Anchor:
        return self._w()

    def _anchor_tool_muprog_get_programs(self) -> Anchor:
        p = self.ws_program()
        field_value = {"field": "id", "value": str(p)} if p else {"field": "archived", "value": "0"}
        return self._w(fieldvalues=[field_value])

    def _anchor_tool_muprog_get_program_allocations(self) -> Anchor | None:
        p = self.ws_program()
        return self._w(programid=p) if p else None

    def _anchor_tool_muprog_source_manual_allocate_users(self) -> Anchor | None:
        p = self.ws_program()
        u = self.fresh_ws_user() if p and self.writes else None
        return self._w(programid=p, userids=[u]) if u else None

    def _anchor_tool_muprog_delete_program_allocations(self) -> Anchor | None:
        p = self.ws_program()
        u = self.ws_allocated_victim(p) if p and self.writes else None
        return self._w(programid=p, userids=[u]) if u else None

    def _anchor_tool_muprog_update_program_allocation(self) -> Anchor | None:
        p = self.ws_program()
        u = self.ws_allocated_victim(p) if p and self.writes else None
        return self._w(programid=p, userid=u, allocationdates={"timedue": 1798761600}) if u else None

    def _anchor_tool_muprog_archive_program_allocation(self) -> Anchor | None:
        p = self.ws_program()
        u = self.ws_allocated_victim(p) if p and self.writes else None
        return self._w(programid=p, userid=u) if u else None

    def _anchor_tool_muprog_restore_program_allocation(self) -> Anchor | None:
        p = self.ws_program()
        u = self.ws_allocated_victim(p, archived=True) if p and self.writes else None
        return self._w(programid=p, userid=u) if u else None

    def _anchor_tool_muprog_source_cohort_get_cohorts(self) -> Anchor | None:
        p = self.ws_program()
        return self._w(programid=p) if p else None

    def _anchor_tool_muprog_source_cohort_add_cohort(self) -> Anchor | None:
        p = self.ws_program()
        c = self.ws_cohort(p) if p and self.writes else None
        return self._w(programid=p, cohortid=c) if c else None

    def _anchor_tool_muprog_source_cohort_delete_cohort(self) -> Anchor | None:
        p = self.ws_program()
        c = self.ws_cohort(p) if p and self.writes else None
        if not c:
            return None
        # Attached through the guarded session, so cleanup detaches it if the delete does not.
        resp, _body = self.ws_call("tool_muprog_source_cohort_add_cohort", programid=p, cohortid=c)
        return self._w(programid=p, cohortid=c) if succeeded(resp) else None

    def _anchor_core_group_create_groups(self) -> Anchor | None:
        c = self.ws_course()
        if c is None or not self.writes:
            return None
        name = f"{self.prefix} group {next(self._counter)}"
        return self._w(groups=[{"courseid": c, "name": name, "description": "contract test"}])

    def _anchor_core_group_delete_groups(self) -> Anchor | None:
        g = self._create_ws_group() if self.writes else None
        return self._w(groupids=[g]) if g else None

    def _anchor_core_group_add_group_members(self) -> Anchor | None:
        g, u = self.ws_group(), self.ws_user()
        return self._w(members=[{"groupid": g, "userid": u}]) if g and u and self.writes else None

    def _anchor_core_group_delete_group_members(self) -> Anchor | None:
        g = self._create_ws_group() if self.writes else None
        u = self.ws_user()
        if not (g and u):
            return None
        self.ws_call("core_group_add_group_members", members=[{"groupid": g, "userid": u}])
        return self._w(members=[{"groupid": g, "userid": u}])
