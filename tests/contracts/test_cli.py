"""Exit codes and argument handling of `nexsis check`."""

from __future__ import annotations

from tests.contracts.conftest import free_port, run_check
from tests.faulty_server.app import NEXSIS_TOKEN


def test_missing_base_url_is_a_usage_error():
    proc = run_check()
    assert proc.returncode == 2
    assert "--base-url" in proc.stderr


def test_full_mode_refused_off_loopback_without_force():
    proc = run_check("--base-url", "https://staging.example.edu", "--mode", "full")
    assert proc.returncode == 2
    assert "--force" in proc.stderr


def test_bad_rate_limit_is_a_usage_error():
    proc = run_check("--base-url", "http://127.0.0.1:9", "--rate-limit", "fast")
    assert proc.returncode == 2


def test_unreachable_target_exits_3_and_redacts():
    proc = run_check("--base-url", f"http://127.0.0.1:{free_port()}", "--only", "nexsis")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "unreachable" in proc.stderr
    assert NEXSIS_TOKEN not in proc.stdout + proc.stderr


def test_refused_token_exits_3(faulty):
    server, _ = faulty
    import os

    env_token = os.environ.get("NEXSIS_TOKEN")
    proc = run_check("--base-url", server.url, "--only", "nexsis", "--nexsis-token", "wrong-token-xyz")
    assert env_token is None or env_token != "wrong-token-xyz"
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "refused" in proc.stderr
