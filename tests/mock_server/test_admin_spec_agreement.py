"""The admin API does what mock/admin.yaml says, no more and no less (issue 12).

Booleans read as the README writes them (``true``/``false``, ``1``/``0``), an unknown query
parameter is the documented 400 (and does nothing), a fault rule is accepted exactly when the
spec's schema accepts it, and schemathesis' own CLI finds no schema-valid request refused.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from nexsis_mock.admin import SPEC_PATH

from .conftest import NX, Server


def _journal_size(http: httpx.Client) -> int:
    return http.get("/__admin/requests").json()["total"]


@pytest.mark.parametrize(("value", "kept"), [("true", True), ("1", True), ("false", False), ("0", False),
                                             ("TRUE", True)])
def test_reset_reads_booleans_as_the_readme_writes_them(http: httpx.Client, value: str, kept: bool):
    http.get(f"{NX}/nowhere")  # journalled (404)
    assert _journal_size(http) >= 1
    r = http.post("/__admin/reset", params={"keep_journal": value})
    assert r.status_code == 200, r.text
    assert (_journal_size(http) >= 1) is kept


def test_a_word_that_is_no_boolean_is_a_400(http: httpx.Client):
    http.get(f"{NX}/nowhere")
    r = http.post("/__admin/reset", params={"keep_journal": "yes"})
    assert r.status_code == 400 and r.json()["error"] == "bad_request", r.text
    assert _journal_size(http) >= 1  # refused before anything happened


@pytest.mark.parametrize(("method", "path"), [("post", "/__admin/reset"), ("get", "/__admin/requests"),
                                              ("get", "/__admin/health"), ("delete", "/__admin/faults")])
def test_unknown_query_parameter_is_a_documented_400_that_changes_nothing(http: httpx.Client, method, path):
    http.get(f"{NX}/nowhere")
    http.post("/__admin/faults", json={"path": "/x", "status": 500})
    r = http.request(method, path, params={"keep_jurnal": "1"})
    assert r.status_code == 400, r.text
    assert r.json() == {"error": "bad_request", "message": "Extra query parameter(s) keep_jurnal not in spec"}
    assert _journal_size(http) >= 1 and len(http.get("/__admin/faults").json()) == 1


def test_every_admin_operation_documents_the_400():
    import yaml

    spec = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and "responses" in op:
                assert "400" in op["responses"], f"{method.upper()} {path}"


RULES_ACCEPTED = [
    {"path": "/x", "latency_ms": 5},                       # latency alone
    {"method": "GET", "status": 503},
    {"wsfunction": "core_group_create_groups", "moodle_exception": {"exception": "e", "errorcode": "c"}},
    {"path_regex": "^/enrol/", "drop": True},
    {"path": "/x", "status": 500, "drop": False, "latency_ms": 0},
    {"path": "/x", "status": 204},
    {"path": "/x", "status": 500, "times": 1_000_000_000},
]
RULES_REFUSED = [
    {"path": "/x"},                                        # does nothing
    {"path": "/x", "latency_ms": 0},
    {"path": "/x", "drop": False},
    {"status": 500},                                       # matches nothing in particular
    {"path": "/x", "status": 500, "drop": True},           # two actions
    {"path": "/x", "status": 500, "moodle_exception": {"exception": "e", "errorcode": "c"}},
    {"path": "/x", "status": 100},                         # no final answer
    {"path": "/x", "status": 500, "times": 1_000_000_001},
    {"path_regex": "(?=lookahead)", "status": 500},        # not RE2
]


def _schema_accepts(rule: dict) -> bool:
    import jsonschema
    import yaml

    spec = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    schema = {**spec["components"]["schemas"]["FaultRuleInput"], "components": spec["components"]}
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    return validator.is_valid(rule)


@pytest.mark.parametrize("rule", RULES_ACCEPTED)
def test_fault_rule_the_spec_allows_is_added(http: httpx.Client, rule: dict):
    assert _schema_accepts(rule)
    r = http.post("/__admin/faults", json=rule)
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("rule", RULES_REFUSED)
def test_fault_rule_the_spec_forbids_is_a_400(http: httpx.Client, rule: dict):
    r = http.post("/__admin/faults", json=rule)
    assert r.status_code == 400, r.text
    assert http.get("/__admin/faults").json() == []
    if "(?=" not in str(rule):  # RE2 syntax is beyond what a JSON schema can say
        assert not _schema_accepts(rule)


def test_a_204_fault_answers_without_a_body_and_the_connection_survives(http: httpx.Client):
    http.post("/__admin/faults", json={"path": f"{NX}/ping", "status": 204, "times": 1})
    r = http.get(f"{NX}/ping")
    assert r.status_code == 204 and r.content == b""
    assert http.get("/__admin/health").status_code == 200


def test_schemathesis_cli_finds_no_schema_valid_request_rejected(tmp_path: Path):
    """Plain `st run`, positive data, every admin operation but the state import.

    ``PUT /state`` takes only a complete export document, whose schema is the state store's
    (mock/store); it is checked by its own tests. Everything else must accept every request its
    schema allows.
    """
    st = Path(sys.executable).with_name("st")
    with Server() as srv:
        proc = subprocess.run(
            [str(st), "run", str(SPEC_PATH), "--url", srv.base_url + "/__admin", "--mode", "positive",
             "--max-examples", "40", "--seed", "7", "--exclude-operation-id", "adminImportState"],
            capture_output=True, text=True, timeout=500, cwd=tmp_path,
            env={**os.environ, "NO_COLOR": "1"})
    out = proc.stdout + proc.stderr
    assert "Schema-valid request rejected" not in out, out[-6000:]
    assert proc.returncode == 0, out[-6000:]
    assert "Tested: 14" in out, out[-3000:]
