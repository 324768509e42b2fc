"""Unit tests of the pieces that decide between a finding and a false alarm."""

from __future__ import annotations

from nexsis_contracts.catalog import Catalog
from nexsis_contracts.config import build_settings
from nexsis_contracts.safety import Guard, Ledger, RefusedRequest
from nexsis_contracts.wire import form_is_valid_on_wire

SCHEMA = {
    "type": "object",
    "required": ["programid"],
    "additionalProperties": False,
    "properties": {
        "programid": {"type": "integer"},
        "userids": {"type": "array", "items": {"type": "integer"}},
        "flag": {"type": "boolean"},
        "name": {"type": "string", "nullable": True},
    },
}


def test_wire_reading_accepts_php_strings():
    assert form_is_valid_on_wire(
        b"programid=5&userids[0]=-9223372036854775808&userids[1]=7&flag=1", SCHEMA, None
    )
    assert form_is_valid_on_wire(b"programid=5&name=12", SCHEMA, None)  # a number sent as text is text


def test_wire_reading_still_sees_real_defects():
    assert not form_is_valid_on_wire(b"userids[0]=1", SCHEMA, None)  # programid missing
    assert not form_is_valid_on_wire(b"programid=abc", SCHEMA, None)
    assert not form_is_valid_on_wire(b"programid=1&extra=2", SCHEMA, None)
    assert not form_is_valid_on_wire(b"programid=1&userids[0]=x", SCHEMA, None)


def _guard(mode: str, sandbox: dict | None = None) -> Guard:
    settings = build_settings(
        base_url="https://staging.example.edu", mode=mode, nexsis_token="t" * 8, ws_token="w" * 8
    )
    settings.sandbox = sandbox or {}
    return Guard(settings, Catalog(), Ledger(prefix=settings.id_prefix))


def test_guard_safe_mode_refuses_foreign_ids_and_allows_own():
    guard = _guard("safe", {"moodle-ws": {"program": [1], "user": [5]}})
    base = "https://staging.example.edu/enrol/nexsis/api/index.php"
    own = guard.ledger.prefix + "U1"
    guard.check("PUT", f"{base}/user/{own}", b'{"firstname": "x"}')
    guard.check("GET", f"{base}/user/S123", None)
    for method, url in (
        ("PUT", f"{base}/user/S123"),
        ("DELETE", f"{base}/course/C789"),
        ("PUT", f"{base}/user/{own}/enrol/C789"),
    ):
        try:
            guard.check(method, url, None)
        except RefusedRequest:
            continue
        raise AssertionError(f"{method} {url} was allowed")
    ws = "https://staging.example.edu/webservice/rest/server.php"
    guard.check("POST", ws, b"wsfunction=tool_muprog_source_manual_allocate_users&programid=1&userids[0]=5")
    try:
        guard.check(
            "POST", ws, b"wsfunction=tool_muprog_source_manual_allocate_users&programid=1&userids[0]=9"
        )
    except RefusedRequest:
        pass
    else:
        raise AssertionError("allocation of a foreign user was allowed")
    assert len(guard.refusals) == 4


def test_guard_read_only_refuses_every_write():
    guard = _guard("read-only")
    try:
        guard.check(
            "POST",
            "https://staging.example.edu/webservice/rest/server.php",
            b"wsfunction=core_group_delete_groups&groupids[0]=1",
        )
    except RefusedRequest:
        return
    raise AssertionError("write allowed in read-only mode")
