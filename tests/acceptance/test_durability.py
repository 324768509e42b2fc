"""Durability of `nexsis mock --state FILE`: acknowledged writes survive SIGKILL, workers share state.

The promise under test (docs/CONVENTIONS.md): every write is durable before its answer is sent,
and worker processes on one state file see each other's writes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from .admin import Admin
from .clients import Nexsis
from .conftest import resolve_tokens
from .servers import CliServer

pytestmark = pytest.mark.slow


def versioned(uid: str, n: int) -> dict[str, str]:
    """A body whose fields all carry the version: a torn write shows mixed versions."""
    return {
        "username": f"{uid.lower()}",
        "firstname": f"v{n}",
        "lastname": f"v{n}",
        "email": f"v{n}@{uid.lower()}.test",
    }


@pytest.fixture
def state_file(tmp_path: Path) -> Path:
    return tmp_path / "mock-state.db"


def _writer(
    base_url: str, token: str, uid: str, acked: dict[str, int], stop: threading.Event, errors: list[str]
) -> None:
    """PUT new versions of one user until the server dies; record the last acknowledged version."""
    with httpx.Client(base_url=base_url, timeout=10) as http:
        nx = Nexsis(http, token)
        n = 0
        while not stop.is_set():
            n += 1
            try:
                reply = nx.call("putUser", "PUT", f"/user/{uid}", json=versioned(uid, n), validate=False)
            except httpx.TransportError:
                errors.append(f"interrupted:{uid}")  # killed mid-request: never acknowledged
                return
            if reply.status == 200:
                acked[uid] = n
            else:
                errors.append(f"{uid} v{n}: {reply.status} {reply.response.text[:200]}")
                return


def test_acknowledged_writes_survive_sigkill(state_file: Path, tmp_path: Path) -> None:
    log = tmp_path / "mock.log"
    server = CliServer("--state", str(state_file), log=log).start()
    try:
        tokens = resolve_tokens(server.tokens)
        acked: dict[str, int] = {}
        errors: list[str] = []
        stop = threading.Event()
        uids = [f"DUR-{i}" for i in range(6)]
        threads = [
            threading.Thread(target=_writer, args=(server.base_url, tokens.nexsis, uid, acked, stop, errors))
            for uid in uids
        ]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 20
        while sum(acked.values()) < 150 and time.monotonic() < deadline:
            time.sleep(0.02)
        server.kill()  # SIGKILL to the whole process group, writers still running
        stop.set()
        for t in threads:
            t.join(timeout=20)
        interrupted = [e for e in errors if e.startswith("interrupted:")]
        assert not [e for e in errors if e not in interrupted], errors
        assert interrupted, "the kill did not land while writes were in flight: the test proved nothing"
        assert sum(acked.values()) >= 30, f"too few writes acknowledged before the kill: {acked}"
    finally:
        server.kill()

    restarted = CliServer("--state", str(state_file), log=log).start()
    try:
        with httpx.Client(base_url=restarted.base_url, timeout=10) as http:
            nx = Nexsis(http, tokens.nexsis)
            for uid, version in acked.items():
                got = nx.get_user(uid)
                assert got.status == 200, f"{uid}: acknowledged v{version} lost after SIGKILL: {got}"
                body = got.body
                stored = {body["firstname"], body["lastname"], body["email"].split("@")[0]}
                assert len(stored) == 1, f"{uid}: half-written record after SIGKILL: {body}"
                n = int(body["firstname"][1:])
                # the write in flight at the kill may or may not have landed, but nothing older
                assert n in (version, version + 1), f"{uid}: stored v{n}, last acknowledged v{version}"
            users = Admin(http).records("users")
            for u in users:
                if str(u.get("idnumber", "")).startswith("DUR-"):
                    assert u["firstname"] == u["lastname"], f"half-written user in the state: {u}"
    finally:
        restarted.stop()


@pytest.fixture
def two_workers(state_file: Path, tmp_path: Path) -> Iterator[CliServer]:
    server = CliServer("--state", str(state_file), "--workers", "2", log=tmp_path / "mock.log")
    with server:
        yield server


def _journal_puts(http: httpx.Client) -> set[str]:
    """Paths of the PUTs in the journal of the worker this (kept-alive) connection talks to."""
    response = http.get("/__admin/requests", params={"method": "PUT"})
    assert response.status_code == 200, response.text
    return {entry["path"] for entry in response.json()["requests"]}


def test_two_workers_share_state_without_lost_updates(two_workers: CliServer) -> None:
    base = two_workers.base_url
    tokens = resolve_tokens(two_workers.tokens)
    with httpx.Client(base_url=base, timeout=10) as http:
        before = len(Admin(http).records("users"))

    def put(i: int) -> int:
        # a fresh connection per request, so requests spread over both workers
        with httpx.Client(base_url=base, timeout=20) as http:
            reply = Nexsis(http, tokens.nexsis).put_user(
                f"W2-{i}", username=f"w2.{i}", firstname="W", lastname=str(i), email=f"w2.{i}@x.test"
            )
            return reply.status

    count = 120
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(put, range(count)))
    assert statuses == [200] * count, statuses

    # No lost update: all the distinct users are there, counted through fresh connections.
    for _ in range(4):
        with httpx.Client(base_url=base, timeout=10) as http:
            users = Admin(http).records("users")
        mine = {u["idnumber"] for u in users if str(u.get("idnumber", "")).startswith("W2-")}
        assert len(mine) == count, f"{count - len(mine)} lost updates of {count}"
        assert len(users) == before + count

    # Which worker took which write: each worker journals its own requests.
    journals: dict[frozenset[str], None] = {}
    for _ in range(30):
        with httpx.Client(base_url=base, timeout=10) as http:
            journals[frozenset(p for p in _journal_puts(http) if "/user/W2-" in p)] = None
        if len(journals) >= 2:
            break
    assert len(journals) == 2, "the writes did not spread over two workers (or journals are shared)"
    first, second = list(journals)
    assert first and second and not first & second and len(first | second) == count

    # Writes through one worker are readable through the other: pin a kept-alive connection to a
    # worker (identified by its journal) and read every user the other worker wrote.
    with httpx.Client(base_url=base, timeout=10) as http:
        own = frozenset(p for p in _journal_puts(http) if "/user/W2-" in p)
        assert own in journals
        other = second if own == first else first
        nx = Nexsis(http, tokens.nexsis)
        for path in sorted(other):
            uid = path.rsplit("/", 1)[1]
            got = nx.get_user(uid)
            assert got.status == 200 and got.body["lastname"] == uid[3:], got
        # and a write on this connection, read back through fresh connections (either worker)
        assert (
            nx.put_user("W2-x", username="w2x", firstname="A", lastname="B", email="w2x@x.test").status == 200
        )
    for _ in range(8):
        with httpx.Client(base_url=base, timeout=10) as http:
            assert Nexsis(http, tokens.nexsis).get_user("W2-x").body["lastname"] == "B"


def test_two_workers_no_lost_update_on_one_shared_group(two_workers: CliServer) -> None:
    """Concurrent adds of distinct members to one group: every member must be there afterwards."""
    base = two_workers.base_url
    tokens = resolve_tokens(two_workers.tokens)
    members = 40
    with httpx.Client(base_url=base, timeout=20) as http:
        nx = Nexsis(http, tokens.nexsis)
        assert nx.put_course("W2C", fullname="Workers", shortname="W2C").status == 200
        assert nx.put_group("W2C", "W2G", name="Shared", description="").status == 200
        for i in range(members):
            assert (
                nx.put_user(
                    f"W2M-{i}", username=f"w2m{i}", firstname="M", lastname=str(i), email=f"w2m{i}@x.test"
                ).status
                == 200
            )
            assert nx.enrol(f"W2M-{i}", "W2C", roleid="student").status == 200

    def add(i: int) -> int:
        with httpx.Client(base_url=base, timeout=20) as http:
            return Nexsis(http, tokens.nexsis).add_member("W2C", "W2G", f"W2M-{i}").status

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(add, range(members))) == [200] * members
    for _ in range(4):
        with httpx.Client(base_url=base, timeout=10) as http:
            admin = Admin(http)
            group = next(g for g in admin.records("groups") if g.get("idnumber") == "W2G")
            ids = {u["id"] for u in admin.records("users") if str(u.get("idnumber", "")).startswith("W2M-")}
        assert set(group["members"]) == ids and len(ids) == members, (
            f"{members - len(set(group['members']) & ids)} memberships lost"
        )
