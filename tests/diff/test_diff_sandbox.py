"""The id mapping of `nexsis diff` starts from the two sides' sandboxes: the n-th sandbox id of a
kind on the reference stands for the n-th on the candidate, before any answer was seen."""

from __future__ import annotations

from nexsis_contracts.diff.calls import Call
from nexsis_contracts.diff.compare import Comparer
from nexsis_contracts.diff.scenario import Side


def _call(body: str) -> Call:
    operation = "tool_muprog_get_program_allocations"
    return Call(operation, "anchor", "POST", "u", "", 200, "application/json", body)


def _comparer() -> Comparer:
    ref = Side("reference", "http://a", [], (0.0, 0.0), sandbox={"moodle-ws": {"program": [3, 1]}})
    cand = Side("candidate", "http://b", [], (0.0, 0.0), sandbox={"moodle-ws": {"program": [2, 1]}})
    return Comparer(ref, cand)


def test_sandbox_partners_compare_equal() -> None:
    comparer = _comparer()
    assert comparer.compare(_call('[{"programid": 3}]'), _call('[{"programid": 2}]')) == []
    assert comparer.map_id("programid", 3) == 2


def test_another_sandbox_record_differs_on_the_first_call() -> None:
    # Without the seed the first pairing (3 -> 1) would be learned and pass.
    differences = _comparer().compare(_call('[{"programid": 3}]'), _call('[{"programid": 1}]'))
    assert [(d.kind, d.where) for d in differences] == [("value", "[0].programid")]
    assert "program id 3 was 2 before, now 1" in differences[0].detail
