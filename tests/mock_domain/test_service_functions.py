"""The default token's service offers the spec's functions, in the order a real site lists them.

``nexsis_mock.domain.functions.SERVICE_FUNCTIONS`` names them in the recorded Moodle 5.0 site's
order (core_webservice_get_site_info's ``functions``, tests/data/moodle-ws-observed.jsonl #1),
which is not the spec's order; the set is the spec's operations, so a function added to
``openapi/moodle-ws.yaml`` and not to the service (or the reverse) fails here.
"""

from __future__ import annotations

import json
from pathlib import Path

from nexsis_mock.domain.functions import SERVICE_FUNCTIONS
from nexsis_openapi import load_spec

OBSERVED = Path(__file__).resolve().parents[1] / "data" / "moodle-ws-observed.jsonl"


def _spec_functions() -> set[str]:
    spec = load_spec("moodle-ws")
    return {op["operationId"] for item in spec["paths"].values() for op in item.values()
            if isinstance(op, dict) and "operationId" in op}


def _recorded_order() -> list[str]:
    for line in OBSERVED.open(encoding="utf-8"):
        record = json.loads(line)
        body = record["response"]["body"] or ""
        if record["seq"] == 1:
            return [f["name"] for f in json.loads(body)["functions"]]
    raise AssertionError("record #1 (site info) is missing")


def test_the_service_offers_exactly_the_spec_functions() -> None:
    assert len(SERVICE_FUNCTIONS) == len(set(SERVICE_FUNCTIONS))
    assert set(SERVICE_FUNCTIONS) == _spec_functions()


def test_the_service_lists_them_in_the_recorded_sites_order() -> None:
    recorded = _recorded_order()
    assert [f for f in recorded if f in SERVICE_FUNCTIONS] == list(SERVICE_FUNCTIONS)
