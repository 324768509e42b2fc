"""The benchmark harness works end to end (never a timed assertion: CI machines vary).

`python -m bench run --smoke` must write its results, give numbers for every scenario and see
zero errors. The built-in Python load generator is exercised whatever is installed, so a machine
without wrk still tests the harness, and a last test shows that "zero errors" can fail: refused
tokens and Moodle exception envelopes are counted by both generators.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # bench/ is a folder of the repository, not an installed package
    sys.path.insert(0, str(ROOT))

from bench import gen_fixture, loadgen, machine, scenarios, servers  # noqa: E402


def _run(out: Path, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "bench", "run", "--smoke", "--out", str(out), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = sorted(out.glob("*-smoke.json"))
    assert results, f"no results file in {out}: {proc.stdout}"
    assert (out / "latest.md").read_text().startswith("# nexsis benchmark (smoke")
    return json.loads(results[-1].read_text())


def _assert_rows(rows: list[dict]) -> None:
    assert rows
    for row in rows:
        assert row["requests"] > 0, row
        assert row["rps"] > 0 and row["p50_ms"] > 0 and row["p99_ms"] >= row["p50_ms"], row
        assert row["errors"] == 0, row


def test_smoke_run_end_to_end(tmp_path: Path) -> None:
    data = _run(tmp_path)
    assert data["mode"] == "smoke"
    assert data["loadgen"] in ("wrk", "python-httpx")
    assert data["machine"]["python"] and data["machine"]["packages"]["connexion"] != "absent"
    rows = data["throughput"]
    _assert_rows(rows)
    mock_rows = {r["scenario"] for r in rows if r["server"] == "nexsis-mock"}
    assert mock_rows == {s.key for s in scenarios.SCENARIOS}
    assert any(r["server"] == "starlette-ceiling" for r in rows)
    assert any(r["server"] == "connexion-example-mock" for r in rows)
    assert data["ceiling_rps"] > 0 and all(r["ratio"] > 0 for r in rows)
    assert data["soak"]["consistent"], data["soak"]["checks"]
    assert data["soak"]["acked"]["users"] > 0 and data["soak"]["acked"]["groups"] > 0
    assert data["startup"]["default fixtures"]["median_s"] > 0
    scale = data["scale"]
    assert all(load["load_s"] > 0 and load["peak_rss_mib"] > 0 for load in scale["load"].values())
    assert {r["scenario"] for r in scale["latency"]} == {"get_user", "put_user_json", "course_enrol",
                                                         "ws_get_allocations"}
    conformance = data["conformance"]
    assert conformance["cases"] > 0 and conformance["requests_journal"] > 0
    assert data["targets"]


def test_python_load_generator_fallback(tmp_path: Path) -> None:
    data = _run(tmp_path, "--only", "throughput", "--only", "soak", "--loadgen", "python")
    assert data["loadgen"] == "python-httpx"
    _assert_rows(data["throughput"])
    assert all(r["generator"].startswith("python-httpx") for r in data["throughput"])
    assert data["soak"]["consistent"], data["soak"]["checks"]


@pytest.mark.parametrize("prefer_wrk", [True, False], ids=["wrk", "python"])
def test_errors_are_counted(tmp_path: Path, prefer_wrk: bool) -> None:
    if prefer_wrk and not loadgen.wrk_path():
        pytest.skip("wrk not installed")
    size = gen_fixture.SIZES["tiny"]
    fixture = gen_fixture.write(size, tmp_path / "tiny.json")
    site = gen_fixture.site(size)
    wrong = replace(site, nexsis_token="not-a-valid-key", ws_token="notavalidwstoken")
    cores = machine.pinning()
    command = servers.mock_command([fixture], site.nexsis_token)
    with servers.launch(command, tmp_path, cores=cores["server"]) as srv:
        for key, kind in (("get_user", "http"), ("ws_get_allocations", "app")):
            profile = scenarios.BY_KEY[key].build(wrong)
            spec = loadgen.LoadSpec(srv.base_url, profile.requests, 2, 1.0)
            result = loadgen.run(spec, prefer_wrk=prefer_wrk, cores=cores["loadgen"])
            assert result["requests"] > 0
            assert result["errors"][kind] == result["requests"], result
