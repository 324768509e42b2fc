"""A HAR recorded by `nexsis proxy` as the reference: its answers are A, its requests replayed on B.

Requests go out in the recorded order with the candidate's tokens put back (`proxy.har.read_recording`).
Ids the reference site assigned and a request names again (a group created, then given members) are
replaced by the ids the candidate assigned, learned from the answers so far (`compare.Comparer`), so
the replay addresses the candidate's own records; with sandboxes for both sites (`--reference-config`,
`--candidate-config`) the recorded site's sandbox ids, in form fields and NexSIS path segments, are
replaced by the candidate's partners before the first answer. The replay sends what the recording holds: it is
as safe as the traffic that was recorded (record against a site whose data the client may change).
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import orjson
import requests

from nexsis_contracts.catalog import Catalog
from nexsis_contracts.config import Settings
from nexsis_contracts.diff.calls import Call
from nexsis_contracts.diff.compare import Comparer, Difference, Pair, id_space
from nexsis_contracts.diff.scenario import Side
from nexsis_contracts.preflight import Unreachable
from nexsis_contracts.proxy.exchange import Exchange
from nexsis_contracts.proxy.har import Recorded, read_recording, recording_root
from nexsis_contracts.proxy.judge import FORM, route
from nexsis_openapi import codec, redact, redact_text


def _operation(catalog: Catalog, rec: Recorded) -> tuple[str, str]:
    ex = Exchange(rec.method, rec.target, rec.target, rec.headers, rec.body)
    info, _params, _why = route(catalog, ex)
    if info is None:
        return "", f"{rec.method} {rec.target.split('?')[0]}"
    return info.api, info.operation_id


def _mapped(value: Any, key: str, operation: str, comparer: Comparer) -> Any:
    if isinstance(value, dict):
        return {k: _mapped(v, k, operation, comparer) for k, v in value.items()}
    if isinstance(value, list):
        return [_mapped(v, key, operation, comparer) for v in value]
    if isinstance(value, str) and value.isdigit() and id_space(key, operation):
        return str(comparer.map_id(key, int(value), operation))
    return value


def rewrite_ids(rec: Recorded, operation: str, comparer: Comparer) -> bytes:
    """The form body with the reference's ids replaced by the candidate's (unchanged if none)."""
    media = next((v for k, v in rec.headers if k.lower() == "content-type"), "").split(";")[0].strip()
    if not rec.body or media != FORM:
        return rec.body
    try:
        params = codec.decode(rec.body)
    except codec.CodecError:
        return rec.body
    mapped = _mapped(params, "", operation, comparer)
    return rec.body if mapped == params else codec.encode(mapped).encode()


def _call(
    api: str,
    operation: str,
    method: str,
    url: str,
    request_body: str,
    status: int | None,
    content_type: str,
    body: str,
    headers: dict[str, Any],
) -> Call:
    return Call(operation, "recorded", method, url, request_body, status, content_type, body, api, headers)


#: NexSIS path parameters that name a record, and the id space of that record.
PATH_KINDS = {
    "courseid": "course",
    "parentid": "course",
    "childid": "course",
    "userid": "user",
    "managerid": "user",
    "groupid": "group",
    "catid": "cat",
    "programid": "program",
    "certificationid": "certification",
    "departmentid": "department",
    "positionid": "position",
}


def rewrite_target(target: str, template: str, comparer: Comparer) -> str:
    """The request target with the ids in the path's record parameters (``{courseid}``...) replaced
    by the candidate's partners: the sandbox pairs, and ids learned from the answers so far."""
    path, sep, query = target.partition("?")
    parts, names = path.split("/"), template.split("/")
    if not template or len(names) > len(parts):
        return target
    offset = len(parts) - len(names)
    for i, name in enumerate(names):
        space = PATH_KINDS.get(name.strip("{}")) if name.startswith("{") else None
        if space:
            value = unquote(parts[offset + i])
            partner = comparer.forward.get((f"id:{space}", value), value)
            if partner != value:
                parts[offset + i] = quote(str(partner), safe="")
    return "/".join(parts) + sep + query


def recorded_window(har: Path) -> tuple[float, float]:
    """When the recorded calls were made (first start, last end), from the entries' HAR times: the
    reference side's run window, inside which its call-time timestamps fall."""
    starts, ends = [], []
    for entry in orjson.loads(har.read_bytes())["log"]["entries"]:
        try:
            when = str(entry["startedDateTime"]).replace("Z", "+00:00")
            start = dt.datetime.fromisoformat(when).timestamp()
        except (KeyError, ValueError):
            continue
        starts.append(start)
        ends.append(start + max(float(entry.get("time") or 0), 0.0) / 1000)
    return (min(starts), max(ends)) if starts else (0.0, 0.0)


def replay(
    har: Path, settings: Settings, reference_sandbox: dict[str, dict[str, list[Any]]] | None = None
) -> tuple[Side, Side, list[Pair]]:
    """Replay `har` against ``settings``' site; ``reference_sandbox``: the recorded site's sandbox."""
    tokens = {k: v or "" for k, v in settings.tokens.items()}
    recorded = read_recording(har, tokens)
    catalog = Catalog()
    secrets = settings.secrets
    base = settings.base_url.rstrip("/")
    ref_calls: list[Call] = []
    cand_calls: list[Call] = []
    for rec in recorded:
        api, operation = _operation(catalog, rec)
        ref_calls.append(
            _call(
                api,
                operation,
                rec.method,
                rec.target,
                rec.body.decode("utf-8", "replace"),
                rec.status,
                rec.content_type,
                rec.response_body.decode("utf-8", "replace"),
                redact(dict(rec.headers), secrets),
            )
        )
    window = recorded_window(har)
    reference = Side("reference", str(har), ref_calls, window, sandbox=reference_sandbox or {})
    candidate = Side("candidate", base, cand_calls, (time.time(), time.time()), sandbox=settings.sandbox)
    comparer = Comparer(reference, candidate)
    root = recording_root(har)  # the recorded site's own URL inside answers reads as <site> too
    comparer.sites = (Comparer._site_names(root) if root else [], comparer.sites[1])
    pairs: list[Pair] = []
    started = time.time()
    with requests.Session() as session:
        session.trust_env = False  # a proxy from the environment must not see the tokens
        for i, (rec, ref) in enumerate(zip(recorded, ref_calls, strict=True)):
            body = rewrite_ids(rec, ref.operation, comparer)
            info = catalog.find(ref.api, ref.operation) if ref.api == "nexsis" else None
            target = rewrite_target(rec.target, info.path if info else "", comparer)
            try:
                resp = session.request(
                    rec.method,
                    base + target,
                    headers=dict(rec.headers),
                    data=body or None,
                    timeout=settings.request_timeout,
                )
                status, ctype, text = resp.status_code, resp.headers.get("content-type", ""), resp.text
            except requests.RequestException as exc:
                if i == 0:
                    raise Unreachable(f"{base} is unreachable: {type(exc).__name__}") from None
                status, ctype, text = None, "", ""
            cand = _call(
                ref.api,
                ref.operation,
                rec.method,
                redact_text(target, secrets),
                redact_text(body.decode("utf-8", "replace"), secrets),
                status,
                ctype,
                redact_text(text, secrets),
                redact(dict(rec.headers), secrets),
            )
            cand_calls.append(cand)
            candidate.window = (started, time.time())
            pair = Pair(i + 1, ("recorded", ref.operation, i), ref, cand)
            pair.differences = comparer.compare(ref, cand)
            if cand.status is None:
                pair.differences.insert(0, Difference("status", "", f"{ref.status} vs no answer"))
            pairs.append(pair)
    return reference, candidate, pairs
