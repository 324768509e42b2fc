"""`--record FILE.har`: valid HAR 1.2, tokens masked, every exchange in order, and it replays."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import jsonschema

from nexsis_contracts.proxy.har import read_recording, recording_root
from nexsis_mock.app import create_app
from nexsis_openapi.redact import MASK
from tests.contracts.conftest import ServerThread
from tests.proxy import client
from tests.proxy.conftest import NEXSIS_TOKEN, WS_TOKEN, ProxyProcess

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "data" / "har-1.2.schema.json").read_text())


def _site(body: bytes, url: str) -> bytes:
    return body.replace(url.replace("/", "\\/").encode(), b"<site>")


def _record(tmp_path: Path) -> tuple[Path, list[tuple[int, str, bytes]]]:
    har = tmp_path / "run.har"
    with ServerThread(create_app(swagger_ui=False)) as mock:
        proxy = ProxyProcess(mock.url, "--record", str(har))
        try:
            answers = client.run(proxy.url)
        finally:
            assert proxy.stop() == 0, proxy.output
    return har, answers


def test_recording_is_har_1_2_with_every_exchange_and_no_token(tmp_path):
    har, answers = _record(tmp_path)
    text = har.read_text()
    document = json.loads(text)
    jsonschema.Draft7Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(document)
    entries = document["log"]["entries"]
    assert [e["response"]["status"] for e in entries] == [a[0] for a in answers]
    assert [e["response"]["content"]["text"].encode() for e in entries] == [a[2] for a in answers]
    assert NEXSIS_TOKEN not in text and WS_TOKEN not in text
    auth = [
        h["value"] for e in entries for h in e["request"]["headers"] if h["name"].lower() == "authorization"
    ]
    assert auth and set(auth) == {f"Bearer {MASK}"}
    bodies = [e["request"]["postData"]["text"] for e in entries if "postData" in e["request"]]
    assert any(f"wstoken={MASK}" in b for b in bodies)


def test_recording_replays_against_a_fresh_mock_with_the_same_answers(tmp_path):
    har, answers = _record(tmp_path)
    recorded = read_recording(har, {"nexsis": NEXSIS_TOKEN, "moodle-ws": WS_TOKEN})
    assert [(r.status, r.response_body) for r in recorded] == [(a[0], a[2]) for a in answers]
    replayed = []
    with (
        ServerThread(create_app(swagger_ui=False)) as fresh,
        httpx.Client(trust_env=False, timeout=30) as http,
    ):
        for r in recorded:
            response = http.request(r.method, fresh.url + r.target, headers=r.headers, content=r.body or None)
            replayed.append((response.status_code, _site(response.content, fresh.url)))
    root = recording_root(har)
    assert root.startswith("http://127.0.0.1:")
    # Each mock names itself in siteurl (the Host it was reached on): compared with that read as <site>.
    assert replayed == [(a[0], _site(a[2], root)) for a in answers]
