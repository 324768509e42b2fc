"""Group names and idnumbers are unique per course and found by index, through both APIs."""

from __future__ import annotations


def _ws_course_id(svc, idnumber: str) -> int:
    return svc.state.course_by_idnumber[idnumber]


def test_rename_frees_the_old_name_and_takes_the_new(nx, ws, svc) -> None:
    assert nx("putCourseGroup", courseid="C789", groupid="GX1", name="Alpha team").status == 200
    assert nx("putCourseGroup", courseid="C789", groupid="GX2", name="Alpha team").status == 400
    assert nx("putCourseGroup", courseid="C789", groupid="GX1", name="Beta team").status == 200
    assert nx("putCourseGroup", courseid="C789", groupid="GX2", name="Alpha team").status == 200
    cid = _ws_course_id(svc, "C789")
    dup = ws("core_group_create_groups", groups=[{"courseid": cid, "name": "Beta team",
                                                  "description": ""}])
    assert dup.body["errorcode"] == "invalidparameter"
    made = ws("core_group_create_groups", groups=[{"courseid": cid, "name": "Gamma team",
                                                   "description": "", "idnumber": "GX3"}])
    assert made.body[0]["name"] == "Gamma team"
    assert nx("getCourseGroup", courseid="C789", groupid="GX3").body["name"] == "Gamma team"


def test_delete_frees_name_and_idnumber(nx, ws, svc) -> None:
    assert nx("putCourseGroup", courseid="C789", groupid="GD1", name="Doomed").status == 200
    assert nx("deleteCourseGroup", courseid="C789", groupid="GD1").status == 200
    assert nx("getCourseGroup", courseid="C789", groupid="GD1").status == 404
    cid = _ws_course_id(svc, "C789")
    again = ws("core_group_create_groups", groups=[{"courseid": cid, "name": "Doomed",
                                                    "description": "", "idnumber": "GD1"}])
    assert again.body[0]["idnumber"] == "GD1"


def test_a_failed_batch_leaves_no_index_entry(ws, nx, svc) -> None:
    cid = _ws_course_id(svc, "C789")
    result = ws("core_group_create_groups", groups=[
        {"courseid": cid, "name": "First of batch", "description": "", "idnumber": "GB1"},
        {"courseid": cid, "name": "First of batch", "description": ""},  # duplicate: whole call fails
    ])
    assert result.body["errorcode"] == "invalidparameter"
    assert nx("getCourseGroup", courseid="C789", groupid="GB1").status == 404
    ok = ws("core_group_create_groups", groups=[{"courseid": cid, "name": "First of batch",
                                                 "description": ""}])
    assert ok.body[0]["name"] == "First of batch"


def test_an_empty_group_name_is_a_name(nx) -> None:
    """groups_create_group refuses no empty name (ERRATA E29); it is unique like any other name."""
    made = nx("putCourseGroup", courseid="C789", groupid="GE1", name="")
    assert made.status == 200 and made.body["name"] == "", made.body
    assert nx("putCourseGroup", courseid="C789", groupid="GE1", name="", description="d").status == 200
    assert nx("putCourseGroup", courseid="C789", groupid="GE2", name="").status == 400


def test_a_group_created_without_a_name_is_named_after_its_id(nx) -> None:
    made = nx("putCourseGroup", courseid="C789", groupid="GN1", description="d")
    assert made.status == 200 and made.body["name"] == "GN1", made.body
    assert nx("putCourseGroup", courseid="C789", groupid="GN1", description="e").body["name"] == "GN1"
