"""The NexSIS spec and the mock agree under plain `st run` with positive data (issue 12).

Schemathesis' own CLI generates requests openapi/nexsis.yaml allows and reports every one the mock
refuses ("Schema-valid request rejected", ST202). A refusal is a disagreement to fix, in the mock
(it was stricter than Moodle: empty or missing course names, username, group name; ERRATA E29) or
in the spec (only where the real system refuses too: integers beyond 64 bits, `format: int64`).
What remains is listed in ``tests/moodle_refusals.py`` (shared with the suite's fuzzing):
refusals that depend on the site's records, which no schema can state (a taken name, a role that
does not exist), and that a real Moodle makes as well. (Times outside 1970..3000 were on this list
once: the mock takes them now, as PHP does; tests/mock_server/test_times.py.) Schemathesis reports
one failure per operation, so an allowed refusal can hide another on the same operation: keep the
list short.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

from nexsis_openapi import spec_path
from tests.moodle_refusals import refused_by_moodle_too

from .conftest import NX, Server, first_token

_BLOCK = re.compile(r"^_{3,} (?P<op>[A-Z]+ \S+) _{3,}$", re.M)


def rejections(out: str) -> list[tuple[str, str]]:
    """(operation, answer body) of every ST202 failure in `st run`'s output."""
    found = []
    heads = list(_BLOCK.finditer(out))
    for i, head in enumerate(heads):
        block = out[head.end(): heads[i + 1].start() if i + 1 < len(heads) else len(out)]
        for case in block.split("Test Case ID:")[1:]:
            if "Schema-valid request rejected" in case:
                body = re.search(r"\[4\d\d\][^\n]*\n\s*\n\s*`?(?P<body>[^\n`]*)", case)
                found.append((head["op"], body["body"] if body else case[:300]))
    return found


def test_rejections_are_parsed_from_st_output():
    sample = ("____ PUT /user/{userid} ____\n1. Test Case ID: X\n\n- ST202 Schema-valid request rejected\n\n"
              "[400] Bad Request:\n\n    `{\"message\":\"username '' is invalid\"}`\n")
    assert rejections(sample) == [("PUT /user/{userid}", "{\"message\":\"username '' is invalid\"}")]


def test_schemathesis_cli_finds_no_schema_valid_request_rejected(tmp_path: Path):
    st = Path(sys.executable).with_name("st")
    with Server() as srv:
        listing = httpx.get(srv.base_url + "/__admin/tokens").json()
        token = first_token(listing["nexsis"], ("full", "admin"))
        proc = subprocess.run(
            [str(st), "run", str(spec_path("nexsis")), "--url", srv.base_url + NX, "--mode", "positive",
             "--max-examples", "25", "--seed", "7", "-H", f"Authorization: Bearer {token}"],
            capture_output=True, text=True, timeout=600, cwd=tmp_path,
            env={**os.environ, "NO_COLOR": "1"})
    out = proc.stdout + proc.stderr
    assert "Tested: 39" in out, out[-3000:]
    found = rejections(out)
    summary = "Schema-valid request rejected:" in out
    assert len(found) == out.count("Schema-valid request rejected") - summary  # none missed by the parser
    unexplained = [(op, body) for op, body in found
                   if not refused_by_moodle_too(body)]
    assert not unexplained, "\n".join(f"{op}: {body}" for op, body in unexplained)
