"""Job assignments: a user's (department, position) pairs with dates."""

from __future__ import annotations

from typing import Any

from nexsis_mock.handlers import Ctx, nexsis_op
from nexsis_mock.handlers.nexsis import bad_request, find_user, ident, not_found, opt_time, shorten
from nexsis_mock.handlers.nexsis.programs import nexsis_actor
from nexsis_mock.store.records import JobAssignment


def _ids(ctx: Ctx, job: JobAssignment) -> dict[str, str]:
    state = ctx.state
    return {
        "userid": state.users[job.userid].idnumber,
        "positionid": state.positions[job.positionid].idnumber,
        "departmentid": state.departments[job.departmentid].idnumber,
    }


def job_row(ctx: Ctx, job: JobAssignment) -> dict[str, Any]:
    return {
        "id": str(job.id),
        "tenantid": str(job.tenantid),
        **_ids(ctx, job),
        "startdate": str(job.startdate),
        "enddate": str(job.enddate),
        "timecreated": str(job.timecreated),
        "timemodified": str(job.timemodified),
        "usermodified": 0,
    }


def job_put_row(ctx: Ctx, job: JobAssignment) -> dict[str, Any]:
    return {
        "id": str(job.id),
        "tenantid": str(job.tenantid),
        **_ids(ctx, job),
        "startdate": job.startdate,
        "enddate": job.enddate,
        "timecreated": str(job.timecreated),
        "timemodified": job.timemodified,
        "usermodified": str(job.usermodified),
    }


def _org(ctx: Ctx, params: dict[str, Any]) -> tuple[int, int]:
    state = ctx.state
    dept, pos = ident(params, "departmentid"), ident(params, "positionid")
    did, pid = state.department_by_idnumber.get(dept), state.position_by_idnumber.get(pos)
    if did is None:
        raise not_found(f"Department {shorten(dept)!r} not found")
    if pid is None:
        raise not_found(f"Position {shorten(pos)!r} not found")
    return did, pid


def _existing(ctx: Ctx, userid: int, did: int, pid: int) -> JobAssignment | None:
    for job in ctx.state.jobs_by_user.get(userid, {}).values():
        if job.departmentid == did and job.positionid == pid:
            return job
    return None


@nexsis_op("listJobAssignments")
def list_job_assignments(ctx: Ctx, params: dict[str, Any]) -> list[dict[str, Any]]:
    user = find_user(ctx, params)
    jobs = ctx.state.jobs_by_user.get(user.id, {})
    return [job_row(ctx, jobs[k]) for k in sorted(jobs)]


@nexsis_op("putJobAssignment", write=True)
def put_job_assignment(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    state = ctx.state
    user = find_user(ctx, params)
    did, pid = _org(ctx, params)
    start, end = opt_time(params, "startdate"), opt_time(params, "enddate")
    job = _existing(ctx, user.id, did, pid)
    startdate = start if start is not None else (job.startdate if job else 0)
    enddate = end if end is not None else (job.enddate if job else 0)
    if startdate and enddate and enddate < startdate:
        raise bad_request("enddate must not be before startdate")
    if job is None:
        job = JobAssignment(
            id=state.next_id("job"),
            userid=user.id,
            departmentid=did,
            positionid=pid,
            startdate=startdate,
            enddate=enddate,
            timecreated=ctx.now,
            timemodified=ctx.now,
            usermodified=nexsis_actor(ctx),
        )
        state.add_job(job)
    else:
        state.update(job, startdate=startdate)
        state.update(job, enddate=enddate)
        state.update(job, timemodified=ctx.now)
        state.update(job, usermodified=nexsis_actor(ctx))
    return job_put_row(ctx, job)


@nexsis_op("deleteJobAssignment", write=True)
def delete_job_assignment(ctx: Ctx, params: dict[str, Any]) -> None:
    user = find_user(ctx, params)
    did, pid = _org(ctx, params)
    job = _existing(ctx, user.id, did, pid)
    if job is None:
        raise not_found(f"User {shorten(user.idnumber)!r} has no job in that department and position")
    ctx.state.delete_job(job)
    return None
