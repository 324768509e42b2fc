"""The GC pause bound (``nexsis_mock.heap``): a long full collection freezes what survived it.

Run in a fresh interpreter each, since the collector and its hooks are the process's. What is
asserted is structural, never a duration: after a long collection the survivors are out of the
collector's generations (the next full collection cannot walk them), acyclic frozen objects still
die when their last reference goes, a cycle frozen alive stays until ``settle``, which frees it,
and a mock serving ``core_group_create_groups`` calls keeps its grown site out of the young
generations too.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_a_long_full_collection_freezes_its_survivors_and_settle_frees_a_frozen_cycle() -> None:
    out = _run("""
        import gc, weakref
        from nexsis_mock import heap

        class Node:
            pass

        heap.PAUSE_BOUND_S = 0.0          # every full collection counts as long
        heap.bound_pauses()
        heap.bound_pauses()               # installed once, however often it is asked
        assert gc.callbacks.count(heap._on_collection) == 1
        site = [Node() for _ in range(50_000)]   # what a growing site keeps
        plain = Node()
        cycle = Node(); cycle.me = cycle
        plain_ref, cycle_ref = weakref.ref(plain), weakref.ref(cycle)
        gc.collect()
        assert heap.freezes() == 1
        assert gc.get_freeze_count() >= 50_000
        assert not any(obj is site[0] for obj in gc.get_objects(2))  # the next collection skips it
        del plain, cycle
        gc.collect()
        print("plain freed:", plain_ref() is None)      # reference counting, frozen or not
        print("cycle kept:", cycle_ref() is not None)   # the price: kept until the next settle
        heap.settle()
        print("cycle freed after settle:", cycle_ref() is None)
    """)
    assert out.split("\n")[:3] == ["plain freed: True", "cycle kept: True", "cycle freed after settle: True"]


def test_a_short_full_collection_freezes_nothing() -> None:
    out = _run("""
        import gc
        from nexsis_mock import heap

        heap.PAUSE_BOUND_S = 3600.0
        heap.bound_pauses()
        before = gc.get_freeze_count()
        gc.collect()
        gc.collect(1)
        print(heap.freezes(), gc.get_freeze_count() - before)
    """)
    assert out.split() == ["0", "0"]


def test_a_mock_growing_by_create_groups_has_its_groups_frozen() -> None:
    out = _run("""
        import gc
        from starlette.testclient import TestClient
        from nexsis_mock import heap
        from nexsis_mock.app import create_app
        from nexsis_mock.domain import Service

        service = Service.create()
        app = create_app(service)
        token = next(iter(service.tokens()["moodle-ws"]))
        courseid = min(service.state.courses)
        heap.PAUSE_BOUND_S = 0.0
        with TestClient(app) as client:
            for index in range(300):
                answer = client.post("/webservice/rest/server.php", data={
                    "wstoken": token, "wsfunction": "core_group_create_groups",
                    "moodlewsrestformat": "json", "groups[0][courseid]": str(courseid),
                    "groups[0][name]": f"grown {index}", "groups[0][description]": ""})
                assert "exception" not in answer.text, answer.text
        gc.collect()
        groups = [g for g in service.state.groups.values() if g.name.startswith("grown ")]
        young = {id(obj) for gen in (0, 1, 2) for obj in gc.get_objects(gen)}
        print(len(groups), heap.freezes() > 0, sum(id(g) in young for g in groups))
    """)
    assert out.split() == ["300", "True", "0"]
