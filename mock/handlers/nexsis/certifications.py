"""Certification allocations. A certification with a program allocates its user to that program
through the program's `mucertify` source, as tool_mucertify does."""

from __future__ import annotations

from typing import Any

from nexsis_mock.handlers import Ctx, nexsis_op
from nexsis_mock.handlers.nexsis import find_user, flag, ident, not_found, opt_time, s, shorten
from nexsis_mock.handlers.nexsis.programs import nexsis_actor, source_of
from nexsis_mock.store.records import Allocation, CertAllocation, Certification


def find_certification(ctx: Ctx, params: dict[str, Any]) -> Certification:
    idnumber = ident(params, "certificationid")
    cid = ctx.state.certification_by_idnumber.get(idnumber)
    if cid is None:
        raise not_found(f"Certification {shorten(idnumber)!r} not found")
    return ctx.state.certifications[cid]


def cert_row(ca: CertAllocation) -> dict[str, Any]:
    return {
        "certificationid": str(ca.certificationid),
        "userid": str(ca.userid),
        "status": str(ca.status),
        "timesuspended": str(ca.timesuspended),
        "allocationtype": str(ca.allocationtype),
        "currentprogramid": s(ca.currentprogramid),
        "isrecertification": str(ca.isrecertification),
        "graceperiodends": ca.graceperiodends,
        "graceperiodendslocked": ca.graceperiodendslocked,
        "nextstartdate": ca.nextstartdate,
        "id": str(ca.id),
        "timecreated": str(ca.timecreated),
        "timemodified": ca.timemodified,
        "usermodified": str(ca.usermodified),
    }


def _find(ctx: Ctx, params: dict[str, Any]) -> tuple[Certification, Any, CertAllocation | None]:
    cert = find_certification(ctx, params)
    user = find_user(ctx, params)
    return cert, user, ctx.state.certalloc_by_cert.get(cert.id, {}).get(user.id)


@nexsis_op("getCertificationAllocation")
def get_certification_allocation(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    cert, user, ca = _find(ctx, params)
    if ca is None:
        raise not_found(
            f"User {shorten(user.idnumber)!r} is not allocated to certification {shorten(cert.idnumber)!r}"
        )
    return cert_row(ca)


@nexsis_op("putCertificationAllocation", write=True)
def put_certification_allocation(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    state = ctx.state
    cert, user, ca = _find(ctx, params)
    dates = {name: opt_time(params, name) for name in ("startdate", "duedate", "expirydate", "certifieddate")}
    suspend = flag(params, "suspendstatus") if params.get("suspendstatus") not in (None, "") else None
    revoke = (
        flag(params, "revokedcertification") if params.get("revokedcertification") not in (None, "") else None
    )
    if ca is None:
        ca = CertAllocation(
            id=state.next_id("certallocation"),
            certificationid=cert.id,
            userid=user.id,
            currentprogramid=cert.programid,
            timecreated=ctx.now,
            timemodified=ctx.now,
            usermodified=nexsis_actor(ctx),
            timestart=dates["startdate"] or ctx.now,
        )
        state.add_cert_allocation(ca)
        program = state.programs.get(cert.programid) if cert.programid else None
        if program is not None and state.allocation(program.id, user.id) is None:
            alloc = Allocation(
                id=state.next_id("allocation"),
                programid=program.id,
                userid=user.id,
                sourceid=source_of(ctx, program, "mucertify"),
                timeallocated=ctx.now,
                timestart=ca.timestart,
                timedue=dates["duedate"],
                timeend=dates["expirydate"],
                timecreated=ctx.now,
                timemodified=ctx.now,
                usermodified=nexsis_actor(ctx),
            )
            state.add_allocation(alloc, ctx.now)
    for field, name in (
        ("timestart", "startdate"),
        ("timedue", "duedate"),
        ("timeexpiry", "expirydate"),
        ("timecertified", "certifieddate"),
    ):
        if dates[name] is not None:
            state.update(ca, **{field: dates[name]})
    if suspend is not None:
        state.update(ca, status=1 if suspend else 0)
        state.update(ca, timesuspended=ctx.now if suspend else 0)
    if revoke is not None:
        state.update(ca, revoked=int(revoke))
    state.update(ca, timemodified=ctx.now)
    state.update(ca, usermodified=nexsis_actor(ctx))
    return cert_row(ca)


@nexsis_op("deleteCertificationAllocation", write=True)
def delete_certification_allocation(ctx: Ctx, params: dict[str, Any]) -> None:
    state = ctx.state
    cert, user, ca = _find(ctx, params)
    if ca is None:
        raise not_found(
            f"User {shorten(user.idnumber)!r} is not allocated to certification {shorten(cert.idnumber)!r}"
        )
    state.delete_cert_allocation(ca)
    if cert.programid:
        alloc = state.allocation(cert.programid, user.id)
        source = state.sources.get(alloc.sourceid) if alloc else None
        if alloc is not None and source is not None and source.type == "mucertify":
            state.delete_allocation(alloc)
    return None
