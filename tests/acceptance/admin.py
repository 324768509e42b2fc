"""The mock's admin API (`/__admin`), the one door the black-box tests use into the mock's state.

Tests reset through it between cases, read the tokens the mock accepts, and look up Moodle's
internal ids (which NexSIS never shows) in the state export.
"""

from __future__ import annotations

from typing import Any

import httpx

ADMIN = "/__admin"


class Admin:
    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def _ok(self, response: httpx.Response) -> Any:
        assert response.status_code == 200, (
            f"admin {response.request.method} {response.request.url.path}: "
            f"{response.status_code} {response.text[:300]}"
        )
        return response.json() if response.content else None

    def reset(self) -> None:
        self._ok(self.http.post(f"{ADMIN}/reset"))

    def export(self) -> dict[str, Any]:
        return self._ok(self.http.get(f"{ADMIN}/state"))

    def snapshot(self) -> dict[str, Any]:
        """The export without the NexSIS log, which every call (refused ones too) appends to.

        What tests compare to prove that a refused request changed nothing.
        """
        state = self.export()
        state.pop("logs", None)
        if isinstance(state.get("sequences"), dict):
            state["sequences"].pop("log", None)
        return state

    def import_state(self, state: dict[str, Any]) -> None:
        self._ok(self.http.put(f"{ADMIN}/state", json=state))

    def health(self) -> dict[str, Any]:
        return self._ok(self.http.get(f"{ADMIN}/health"))

    # ---- internal ids ---------------------------------------------------------------------
    def records(self, kind: str) -> list[dict[str, Any]]:
        """The exported records of one kind (`users`, `courses`, `groups`, `programs`, ...)."""
        state = self.export()
        found = state.get(kind)
        if found is None and isinstance(state.get("entities"), dict):
            found = state["entities"].get(kind)
        assert isinstance(found, list | dict), f"export has no {kind!r}: keys {sorted(state)}"
        return list(found.values()) if isinstance(found, dict) else list(found)

    def internal_id(self, kind: str, idnumber: str) -> int:
        """Moodle's id of the record whose idnumber is `idnumber` (what WS functions take)."""
        matches = [r for r in self.records(kind) if r.get("idnumber") == idnumber]
        assert len(matches) == 1, f"{kind} with idnumber {idnumber!r}: {len(matches)} in the export"
        return int(matches[0]["id"])
