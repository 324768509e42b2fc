"""State file: durable writes, restart, workers sharing one file, reset and import persisted."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

from nexsis_mock.domain import Service

KEY = "nexsis-demo-api-key-0001"


def put_user(svc: Service, idnumber: str) -> int:
    return svc.call("nexsis", "putUser", {"userid": idnumber, "username": idnumber.lower()}, KEY).status


def test_write_reopen_data_there(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    svc = Service.create(state_file=path)
    assert put_user(svc, "P1") == 200
    svc.call(
        "moodle-ws",
        "core_group_create_groups",
        {"groups": [{"courseid": "2", "name": "Persisted", "description": ""}]},
        "ws-admin-token-0001",
    )
    svc.close()
    again = Service.create(state_file=path)
    assert again.call("nexsis", "getUser", {"userid": "P1"}, KEY).status == 200
    assert any(g.name == "Persisted" for g in again.state.groups.values())
    assert any(e["detail"] == "putUser" for e in again.call("nexsis", "getLogs", {"limit": 20}, KEY).body)


def test_two_services_see_each_other(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    a, b = Service.create(state_file=path), Service.create(state_file=path)
    put_user(a, "A1")
    assert b.call("nexsis", "getUser", {"userid": "A1"}, KEY).status == 200
    b.call("nexsis", "deleteUser", {"userid": "A1"}, KEY)
    assert a.call("nexsis", "getUser", {"userid": "A1"}, KEY).status == 404
    put_user(a, "A2")
    put_user(b, "B2")
    a.stats()  # any call catches up with the other worker's commits
    assert a.state.user_by_idnumber["B2"] == b.state.user_by_idnumber["B2"]
    assert a.state.user_by_idnumber["A2"] == b.state.user_by_idnumber["A2"]


def test_reset_and_import_are_persisted(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    a, b = Service.create(state_file=path), Service.create(state_file=path)
    put_user(a, "R1")
    a.reset()
    assert b.call("nexsis", "getUser", {"userid": "R1"}, KEY).status == 404
    exported = b.export_state()
    exported["users"].append({"id": 9999, "username": "imported", "idnumber": "IMP"})
    b.import_state(exported)
    assert a.call("nexsis", "getUser", {"userid": "IMP"}, KEY).status == 200
    assert Service.create(state_file=path).call("nexsis", "getUser", {"userid": "IMP"}, KEY).status == 200


def test_failed_write_persists_nothing(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    svc = Service.create(state_file=path)
    before = svc.export_state()["users"]
    result = svc.call(
        "moodle-ws",
        "tool_muprog_source_manual_allocate_users",
        {"programid": "2", "userids": ["10", "999999"]},
        "ws-admin-token-0001",
    )
    assert result.body["errorcode"] == "invalidrecordunknown"
    assert 10 not in svc.state.alloc_by_program.get(2, {})
    assert Service.create(state_file=path).export_state()["users"] == before


def test_threads_lose_no_update(tmp_path: Path) -> None:
    svc = Service.create(state_file=tmp_path / "state.db")

    statuses: list[int] = []

    def work(n: int) -> None:
        for i in range(15):
            statuses.append(put_user(svc, f"THR{n}-{i}"))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    again = Service.create(state_file=tmp_path / "state.db")
    assert statuses == [200] * 60
    assert sum(1 for u in again.state.users.values() if u.idnumber.startswith("THR")) == 60


def _worker(path: str, prefix: str, count: int) -> None:
    svc = Service.create(state_file=Path(path))
    for i in range(count):
        assert put_user(svc, f"{prefix}{i}") == 200
    svc.close()


def test_processes_lose_no_update(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    Service.create(state_file=path).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(str(path), f"W{n}-", 20)) for n in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    svc = Service.create(state_file=path)
    made = [u for u in svc.state.users.values() if u.idnumber.startswith("W")]
    assert len(made) == 60
    assert len({u.id for u in made}) == 60
