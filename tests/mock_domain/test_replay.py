"""Replay the 99 recorded request/response pairs of a real Moodle through `Service.call`.

Each recorded request is taken apart as the server does (query string plus form body decoded by
nexsis_openapi.codec; wstoken, wsfunction and moodlewsrestformat removed) and the domain's answer
is compared with the recorded body. The clock is set to the recording's timestamp, so ids and
times match exactly; XML answers are compared through their values (the server renders XML).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from nexsis_mock.domain import Service
from nexsis_openapi import codec

from .conftest import DATA, SEED, Clock

PAIRS = [
    json.loads(line) for line in (DATA / "moodle-ws-observed.jsonl").read_text().splitlines() if line.strip()
]


def xml_value(node: ET.Element) -> Any:
    """Moodle's XML answer as the JSON value it encodes (scalars as text)."""
    if node.tag == "RESPONSE":
        return xml_value(node[0]) if len(node) else None
    if node.tag == "EXCEPTION":
        return {
            "exception": node.get("class"),
            "errorcode": node.findtext("ERRORCODE"),
            "message": node.findtext("MESSAGE"),
        }
    if node.tag == "MULTIPLE":
        return [xml_value(child) for child in node]
    if node.tag == "SINGLE":
        return {key.get("name"): xml_value(key[0]) if len(key) else None for key in node}
    if node.tag == "VALUE":
        return node.text or ""
    raise AssertionError(f"unexpected XML element {node.tag}")


def as_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return [as_text(v) for v in value]
    if isinstance(value, dict):
        return {k: as_text(v) for k, v in value.items()}
    return value


def split_request(request: dict[str, Any]) -> tuple[str | None, str | None, dict[str, Any]]:
    params: dict[str, Any] = dict(codec.decode(urlsplit(request["url"]).query))
    ctype = {k.lower(): v for k, v in (request.get("headers") or {}).items()}.get("content-type", "")
    if request.get("body") and "x-www-form-urlencoded" in ctype:
        params.update(codec.decode(request["body"]))
    token = params.pop("wstoken", None)
    function = params.pop("wsfunction", None)
    params.pop("moodlewsrestformat", None)
    return token, function, params


@pytest.fixture(scope="module")
def replayed() -> list[tuple[dict[str, Any], Any, Any]]:
    clock = Clock()
    svc = Service.create([SEED], clock=clock)
    out = []
    for pair in PAIRS:
        clock.now = datetime.fromisoformat(pair["ts"].replace("Z", "+00:00")).timestamp()
        token, function, params = split_request(pair["request"])
        result = svc.call("moodle-ws", function or "", params, token)
        assert result.status == 200
        body = pair["response"]["body"]
        if body.lstrip().startswith("<?xml"):
            expected = xml_value(ET.fromstring(body.encode()))
            got = as_text(result.body)
        else:
            expected, got = json.loads(body), result.body
        out.append((pair, expected, got))
    return out


@pytest.mark.parametrize("index", range(len(PAIRS)), ids=[f"{p['seq']:02d}-{p['wsfunction']}" for p in PAIRS])
def test_recorded_pair(replayed, index: int) -> None:
    pair, expected, got = replayed[index]
    assert got == expected, f"#{pair['seq']} {pair['label']}"


def test_all_pairs_replayed() -> None:
    assert len(PAIRS) == 99
    assert Path(SEED).exists()
