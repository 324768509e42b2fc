"""``nexsis_openapi.moodle`` states what moodle-ws.yaml and the real site say, nothing else.

The constants are checked against the spec (every operation's form body names the server fields
and the settings, every envelope is in some operation's ``x-moodle-errors``), and the parameter
descriptions derived from the spec are checked against ``external_function_info()`` dumped from
a real Moodle 5.0 (tests/data/moodle-ws-signatures.json).
"""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

import pytest

from nexsis_openapi import load_spec, moodle

DUMP = json.loads((Path(__file__).parent / "data" / "moodle-ws-signatures.json").read_text(encoding="utf-8"))


def _bodies() -> dict[str, dict[str, t.Any]]:
    out = {}
    for path, item in load_spec("moodle-ws")["paths"].items():
        out[path.partition("#")[2]] = item["post"]["requestBody"]["content"][
            "application/x-www-form-urlencoded"]["schema"]
    return out


def test_server_path_is_the_specs():
    assert {path.partition("#")[0] for path in load_spec("moodle-ws")["paths"]} == {moodle.WS_PATH}


def test_every_function_body_names_the_reserved_fields_and_nothing_else_reserved():
    for function, schema in _bodies().items():
        refs = {name: prop.get("$ref", "") for name, prop in schema["properties"].items()}
        settings = {name for name, ref in refs.items() if ref.startswith("#/components/schemas/Setting")}
        assert settings == set(moodle.SETTINGS), function
        assert set(moodle.SERVER_FIELDS) <= set(schema["properties"]), function
        assert set(moodle.signature(function)["keys"]).isdisjoint(moodle.RESERVED_FIELDS)


def test_the_observed_settings_are_among_the_settings():
    facts = (Path(__file__).parent / "data" / "moodle-ws-facts.md").read_text(encoding="utf-8")
    section = facts.split("## Settings parameters", 1)[1].split("\n## ", 1)[0]
    for name in ("moodlewssettingfilter", "moodlewssettingfileurl", "moodlewssettinglang",
                 "moodlewssettingraw"):
        assert f"`{name}`" in section and name in moodle.SETTINGS


@pytest.mark.parametrize("envelope", [moodle.INVALID_TOKEN, moodle.INVALID_PARAMETER, moodle.INVALID_RECORD,
                                      moodle.ACCESS_EXCEPTION, moodle.IDNUMBER_TAKEN])
def test_envelopes_are_documented_errors(envelope: dict[str, str]):
    documented = {(e["exception"], e["errorcode"]) for item in load_spec("moodle-ws")["paths"].values()
                  for e in item["post"].get("x-moodle-errors", ())}
    assert (envelope["exception"], envelope["errorcode"]) in documented
    assert list(envelope) == list(moodle.ENVELOPE_KEYS[:3])


def test_envelopes_are_the_observed_ones():
    lines = (Path(__file__).parent / "data" / "moodle-ws-observed.jsonl").read_text().splitlines()
    observed = [json.loads(line) for line in lines if line]
    bodies = [json.dumps(o.get("response") or o, sort_keys=True) for o in observed]
    for envelope in (moodle.INVALID_TOKEN, moodle.INVALID_PARAMETER, moodle.INVALID_RECORD,
                     moodle.ACCESS_EXCEPTION):
        member = json.dumps(envelope["message"])
        assert any(member in body for body in bodies), envelope


def _comparable(desc: dict[str, t.Any]) -> dict[str, t.Any]:
    """What validate_parameters uses: kind, PARAM type, required, default (allownull of values)."""
    out = {k: desc[k] for k in ("kind", "required") if k in desc}
    if "default" in desc:
        out["default"] = desc["default"]
    if desc["kind"] == "value":
        out["param"], out["allownull"] = desc["param"], desc["allownull"]
    elif desc["kind"] == "multiple":
        out["content"] = _comparable(desc["content"])
    else:
        out["keys"] = {k: _comparable(v) for k, v in desc["keys"].items()}
    return out


@pytest.mark.parametrize("function", moodle.functions())
def test_signature_is_the_dumped_one(function: str):
    dumped = DUMP["functions"][function]
    assert _comparable(moodle.signature(function)) == _comparable(dumped["parameters_desc"])
    info = moodle.function_info(function)
    assert (info.component, info.type, ",".join(info.capabilities)) == \
        (dumped["component"], dumped["type"], dumped["capabilities"] or "")


def test_functions_are_the_dumped_ones():
    assert set(moodle.functions()) == set(DUMP["functions"])
    assert moodle.site_versions() == (DUMP["moodle"]["release"], DUMP["moodle"]["version"])


def test_unknown_function_has_no_signature():
    with pytest.raises(KeyError):
        moodle.signature("core_nothing_here")
