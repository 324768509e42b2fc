"""Undo what a run created, newest first, whatever ended the run."""

from __future__ import annotations

import signal
import threading

import requests

from nexsis_contracts import calls
from nexsis_contracts.run_context import RunContext
from nexsis_contracts.safety import RefusedRequest
from nexsis_openapi import redact_text


def cleanup(run: RunContext) -> None:
    """Undo what the run created; runs even after Ctrl-C (a second Ctrl-C is ignored meanwhile)."""
    in_main = threading.current_thread() is threading.main_thread()
    old = signal.signal(signal.SIGINT, signal.SIG_IGN) if in_main else None
    run.session.enforce_budget = False
    try:
        for item in run.ledger.pending():
            try:
                if item.api == "nexsis":
                    url = run.settings.target("nexsis") + item.path
                    resp = run.session.delete(url, **run.auth_kwargs("nexsis"))
                    ok = resp.status_code in (200, 204, 404)
                    detail = f"HTTP {resp.status_code}"
                else:
                    resp = calls.ws_post(run, {**(item.form or {}), "moodlewsrestformat": "json"})
                    try:
                        body = resp.json()
                    except ValueError:
                        body = None
                    ok = resp.status_code == 200 and not (isinstance(body, dict) and "exception" in body)
                    detail = f"HTTP {resp.status_code} {str(body)[:120]}"
                if ok:
                    item.done = True
                    run.result.cleanup_done.append(item.description)
                else:
                    item.error = detail
            except (requests.RequestException, RefusedRequest) as exc:
                item.error = f"{type(exc).__name__}: {exc}"
            if not item.done:
                run.result.cleanup_failed.append(
                    redact_text(f"{item.description}: {item.error}", run.settings.secrets)
                )
    finally:
        if old is not None:
            signal.signal(signal.SIGINT, old)
