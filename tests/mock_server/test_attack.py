"""The scripted attack on the mock (issue 13): bad inputs, encodings, deep bodies, huge fields.

Every case runs over real HTTP against a mock in memory and, where the answer could differ, one
with a state file (``--state``): the same input must get the same documented answer from both,
change nothing, and leave every other endpoint working. Other owners add their sections here
(admin: cross-origin calls; store: damaged state files); keep each section self-contained.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .conftest import NX, Server


@pytest.fixture(scope="module", params=["memory", "state-file"])
def target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A fresh mock per module, in memory and with ``--state`` (the answers must not differ)."""
    options: dict[str, object] = {}
    if request.param == "state-file":
        options["state_file"] = Path(tmp_path_factory.mktemp("attack")) / "state.sqlite"
    with Server(**options) as srv:
        yield srv
    srv.service.close()


@pytest.fixture
def client(target: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=target.base_url, timeout=30) as http:
        yield http


@pytest.fixture
def bearer(client: httpx.Client) -> dict[str, str]:
    key = client.get("/__admin/tokens").json()["nexsis"][0]
    return {"Authorization": f"Bearer {key}", "content-type": "application/json"}


def nested(depth: int) -> str:
    """A JSON array nested ``depth`` levels deep (the outermost array is level 1)."""
    return "[" * depth + "]" * depth


def assert_site_healthy(client: httpx.Client, bearer: dict[str, str]) -> None:
    """What one poisoned entry broke before: the log listing and the state export."""
    assert client.get(f"{NX}/logs", params={"limit": 5}, headers=bearer).status_code == 200
    assert client.get("/__admin/state").status_code == 200


# ---- #2: one nesting limit for JSON bodies ---------------------------------------------------
@pytest.mark.parametrize("depth", [65, 300, 1000, 1100], ids=lambda d: f"depth-{d}")
def test_json_nested_deeper_than_64_is_a_400_and_stores_nothing(client, bearer, depth):
    # The ignored field sits one level below the body object: the body is nested depth + 1.
    user = f"DEEP{depth}"
    body = f'{{"username": "deep{depth}", "junk": {nested(depth)}}}'
    r = client.put(f"{NX}/user/{user}", content=body.encode(), headers=bearer)
    assert r.status_code == 400, r.text
    assert r.json() == {"error": "bad_request",
                        "message": "malformed JSON body: nested deeper than 64 levels"}
    assert client.get(f"{NX}/user/{user}", headers=bearer).status_code == 404
    assert_site_healthy(client, bearer)


def test_json_nested_64_levels_is_accepted_everywhere(client, bearer):
    body = f'{{"username": "deep63", "junk": {nested(63)}}}'  # 64 levels with the body object
    r = client.put(f"{NX}/user/DEEP63", content=body.encode(), headers=bearer)
    assert r.status_code == 200, r.text
    assert client.get(f"{NX}/user/DEEP63", headers=bearer).json()["username"] == "deep63"
    assert_site_healthy(client, bearer)


# ---- #1: bounded log entries ------------------------------------------------------------------
def held_chars(value: object, seen: set[int] | None = None) -> int:
    """Characters of every string an object graph holds (slots, dicts, lists): what it keeps alive."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return 0
    seen.add(id(value))
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, dict):
        return sum(held_chars(k, seen) + held_chars(v, seen) for k, v in value.items())
    if isinstance(value, list | tuple):
        return sum(held_chars(v, seen) for v in value)
    slots = [s for cls in type(value).__mro__ for s in getattr(cls, "__slots__", ())]
    fields = [getattr(value, s, None) for s in slots] + list(getattr(value, "__dict__", {}).values())
    return sum(held_chars(f, seen) for f in fields)


def test_a_huge_ignored_field_is_not_kept_by_the_request_log(target, client, bearer):
    """Each of these PUTs held its 900 KB field until the logs were read (RSS 105 -> 262 MB for 200)."""
    state = target.service.state
    logs_before = len(state.logs)
    junk = "x" * 900_000
    for i in range(5):
        body = {"username": f"huge{i}", "firstname": "Huge", "ignored": junk}
        r = client.put(f"{NX}/user/HUGE{i}", json=body, headers=bearer)
        assert r.status_code == 200, r.text
    new = state.logs[logs_before:]
    assert len(new) == 5
    assert max(held_chars(entry) for entry in new) < 20_000
    logs = client.get(f"{NX}/logs", params={"limit": 5}, headers=bearer).json()
    shown = [e for e in logs if e["detail"] == "putUser"]
    assert shown and all(e["request_body"].endswith('..."') or e["request_body"].endswith("...")
                         for e in shown)
    assert all(len(e["request_body"]) <= 1003 and '"username":"huge' in e["request_body"] for e in shown)
    assert_site_healthy(client, bearer)
