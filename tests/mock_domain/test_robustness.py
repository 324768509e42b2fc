"""Nothing raises out of `call`, no input is a 500, and a failed operation changes nothing."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nexsis_mock.domain import Service
from nexsis_mock.handlers import NEXSIS, WS, load_all
from nexsis_openapi import load_spec

load_all()
KEY = "nexsis-demo-api-key-0001"
ADMIN = "ws-admin-token-0001"
NAMES = [
    "userid",
    "courseid",
    "groupid",
    "catid",
    "grade",
    "timecompleted",
    "parentid",
    "childid",
    "programid",
    "certificationid",
    "departmentid",
    "positionid",
    "managerid",
    "username",
    "firstname",
    "email",
    "name",
    "fullname",
    "shortname",
    "startdate",
    "categorypath",
    "roleid",
    "plugin",
    "lock",
    "limit",
    "offset",
    "level",
    "pagesize",
    "page",
    "status",
    "group",
    "groupname",
    "keepexisting",
    "perm_be_notified",
    "fieldvalues",
    "userids",
    "cohortids",
    "cohortid",
    "dateoverrides",
    "allocationdates",
    "groups",
    "groupids",
    "members",
    "field",
    "value",
    "description",
    "idnumber",
]
IDS = st.sampled_from(
    [
        "S1001",
        "S1002",
        "C789",
        "C553",
        "G1",
        "6",
        "P12",
        "P20",
        "C12",
        "D5",
        "P3",
        "M2001",
        "1",
        "2",
        "10",
        "999999",
        "..",
        "a/b",
        "",
        " ",
        "x" * 3000,
        "-1",
        "1.5",
        "true",
        "\x00",
    ]
)
SCALARS = st.one_of(
    IDS,
    st.text(max_size=30),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from([*NAMES, "x"]), inner, max_size=4)
    ),
    max_leaves=12,
)
PARAMS = st.dictionaries(st.one_of(st.sampled_from(NAMES), st.text(max_size=8)), VALUES, max_size=6)


def comparable(svc: Service) -> dict[str, Any]:
    state = svc.export_state()
    state.pop("logs")
    state["sequences"].pop("log")
    return state


SERVICE = Service.create()
NEXSIS_STATUSES = {
    op["operationId"]: set(op["responses"])
    for item in load_spec("nexsis")["paths"].values()
    for method, op in item.items()
    if method in ("get", "put", "post", "delete")
}


@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(api=st.sampled_from(["nexsis", "moodle-ws"]), data=st.data(), params=PARAMS)
def test_call_never_fails_on_any_params(api: str, data: st.DataObject, params: dict[str, Any]) -> None:
    ops = sorted(NEXSIS) if api == "nexsis" else sorted(WS)
    op = data.draw(st.sampled_from(ops))
    token = KEY if api == "nexsis" else ADMIN
    result = SERVICE.call(api, op, params, token)
    assert result.status != 500, (op, params, result.body)
    if api == "moodle-ws":
        assert result.status == 200
        assert not (isinstance(result.body, dict) and result.body.get("errorcode") == "codingerror"), (
            op,
            params,
        )
    else:
        assert str(result.status) in NEXSIS_STATUSES[op], (op, result)
        if result.status >= 400:
            assert set(result.body) == {"error", "message"} and result.body["message"]


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(api=st.sampled_from(["nexsis", "moodle-ws"]), data=st.data(), params=PARAMS)
def test_failed_operation_changes_nothing(api: str, data: st.DataObject, params: dict[str, Any]) -> None:
    svc = Service.create()
    ops = sorted(o for o, spec in (NEXSIS if api == "nexsis" else WS).items() if spec.write)
    op = data.draw(st.sampled_from(ops))
    before = comparable(svc)
    result = svc.call(api, op, params, KEY if api == "nexsis" else ADMIN)
    failed = result.status >= 400 or (isinstance(result.body, dict) and "exception" in result.body)
    if failed:
        assert comparable(svc) == before


def test_partial_batch_failure_is_rolled_back() -> None:
    svc = Service.create()
    before = comparable(svc)
    result = svc.call(
        "moodle-ws",
        "core_group_create_groups",
        {
            "groups": [
                {"courseid": "2", "name": "ok", "description": ""},
                {"courseid": "2", "name": "ok", "description": ""},
            ]
        },
        ADMIN,
    )
    assert result.body["errorcode"] == "invalidparameter"
    assert comparable(svc) == before


def test_non_dict_params_and_unknown_api() -> None:
    assert SERVICE.call("nexsis", "getUser", None, KEY).status == 400  # type: ignore[arg-type]
    assert SERVICE.call("nexsis", "noSuchOp", {}, KEY).status == 404
    assert SERVICE.call("graphql", "x", {}, KEY).status == 400
    assert SERVICE.call("moodle-ws", None, {}, ADMIN).body["errorcode"] == "invalidparameter"  # type: ignore[arg-type]
