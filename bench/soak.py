"""The mixed-profile soak and the consistency check that follows it.

A client suite trusts a mock only if an acknowledged write is really there: after the mixed
profile (80 % reads, 20 % creates across both APIs) every write the load generator saw
acknowledged is read back through the public APIs, and the counts are reconciled with the mock's
own journal (/__admin/requests) and store statistics (/__admin/stats).

Tolerances are exact except for what is in flight when the load generator stops: up to one
request per connection may be answered by the server after the generator stopped counting.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from bench import loadgen, machine
from bench.scenarios import BY_KEY, GROUP_PREFIX, NEXSIS, USER_PREFIX, Site

if TYPE_CHECKING:
    from bench.measure import Settings
    from bench.servers import Running

# Large enough to keep every request of a 60 s soak at the mock's speed on one core.
JOURNAL_SIZE = 1_000_000


def _admin(client: httpx.Client, path: str, **params: str) -> dict:
    response = client.get(f"/__admin{path}", params=params)
    response.raise_for_status()
    return response.json()


def _journal_count(client: httpx.Client, **filters: str) -> tuple[int, list[dict]]:
    data = _admin(client, "/requests", **filters)
    return data["total"], data["requests"]


def run(settings: Settings, srv: Running, site: Site, workdir: Path) -> dict:
    scenario = BY_KEY["mixed"]
    ack_file = workdir / "soak-acks.txt"
    conns = settings.soak_connections
    with httpx.Client(base_url=srv.base_url, timeout=60.0) as client:
        stats_before = _admin(client, "/stats")
        journal_before, _ = _journal_count(client, limit="1")
        profile = scenario.build(site)
        spec = loadgen.LoadSpec(srv.base_url, profile.requests, conns, settings.soak_duration,
                                profile.captures, str(ack_file))
        result = loadgen.run(spec, prefer_wrk=settings.prefer_wrk, cores=machine.pinning()["loadgen"])
        result.pop("text", None)
        acked = [line for line in ack_file.read_text().splitlines() if line] if ack_file.exists() else []
        acked_users = sorted(a for a in acked if a.startswith(USER_PREFIX))
        acked_groups = sorted(a for a in acked if a.startswith(GROUP_PREFIX))

        stats_after = _admin(client, "/stats")
        journal_after, _ = _journal_count(client, limit="1")
        _, user_writes = _journal_count(client, method="PUT", path_regex=f"/user/{USER_PREFIX}[0-9]+$")
        _, group_writes = _journal_count(client, wsfunction="core_group_create_groups")
        journal_users = sum(1 for e in user_writes if e["status"] == 200)
        journal_groups = sum(1 for e in group_writes
                             if e["status"] == 200 and isinstance(e.get("response"), list))

        unreadable_users = _read_back_users(client, site, acked_users)
        missing_groups = _read_back_groups(client, site, acked_groups)

    journal_requests = journal_after - journal_before
    users_delta = stats_after["users"] - stats_before["users"]
    groups_delta = stats_after["groups"] - stats_before["groups"]
    checks = {
        "zero errors": result["errors"]["total"] == 0,
        "journal requests = completed (+ in flight <= connections)":
            0 <= journal_requests - result["requests"] <= conns,
        "acknowledged user writes = journal 200s (+ in flight)":
            0 <= journal_users - len(acked_users) <= conns,
        "acknowledged group creates = journal 200s (+ in flight)":
            0 <= journal_groups - len(acked_groups) <= conns,
        "store users grew by the journal's user creates": users_delta == journal_users,
        "store groups grew by the journal's group creates": groups_delta == journal_groups,
        "every acknowledged user readable with its values": not unreadable_users,
        "every acknowledged group listed in its course": not missing_groups,
        "writes acknowledged": bool(acked_users) and bool(acked_groups),
    }
    return {
        "scenario": scenario.key, "connections": conns, "duration_s": settings.soak_duration,
        "load": result,
        "acked": {"users": len(acked_users), "groups": len(acked_groups)},
        "journal": {"requests": journal_requests, "user_creates_200": journal_users,
                    "group_creates_200": journal_groups},
        "store_delta": {"users": users_delta, "groups": groups_delta},
        "unreadable_users": unreadable_users[:20], "missing_groups": missing_groups[:20],
        "checks": checks, "consistent": all(checks.values()),
    }


def _read_back_users(client: httpx.Client, site: Site, userids: list[str]) -> list[str]:
    headers = {"Authorization": f"Bearer {site.nexsis_token}"}
    bad = []
    for userid in userids:
        response = client.get(f"{NEXSIS}/user/{userid}", headers=headers)
        body = response.json() if response.status_code == 200 else {}
        if body.get("userid") != userid or body.get("firstname") != "Soak" \
                or body.get("email") != f"{userid}@bench.example.edu":
            bad.append(userid)
    return bad


def _read_back_groups(client: httpx.Client, site: Site, names: list[str]) -> list[str]:
    """Groups created through the Moodle WS, listed through NexSIS: both APIs share one store."""
    response = client.get(f"{NEXSIS}/course/{site.group_course_ref}/group",
                          headers={"Authorization": f"Bearer {site.nexsis_token}"})
    groups = response.json() if response.status_code == 200 else []
    listed = {g.get("name") for g in groups} if isinstance(groups, list) else set()
    return [name for name in names if name not in listed]
