"""Call-by-call comparison: status, content type, body shape, values.

What legitimately differs between two correct sites is normalised by learning how the two relate
from the answers themselves, never by skipping fields:
- ids a site assigns (integers under ``id``/``*id``/``*ids`` keys): the first pairing of a reference
  id with a candidate id is learned, and every later occurrence must keep it (a bijection), so a
  site that answers the wrong record is still caught; an id the client chose itself (a path
  segment both requests carry, e.g. the SIS's external user id) is not the site's to assign, so an
  answer must name it back unchanged;
- timestamps taken at call time (``time*``/``*date`` keys): equal when each falls inside its own
  side's run window; any other timestamp (a fixture's, a date the client sent) must be equal;
- free texts (exception ``message``/``debuginfo``, the site identity in
  ``core_webservice_get_site_info``): learned the same way as ids, per field;
- each site's own base URL inside texts (``siteurl``) reads as ``<site>``.

The id mapping starts from the two sides' sandboxes: the n-th sandbox id of a kind on the
reference stands for the n-th of that kind on the candidate (two sites never number their records
alike), so a candidate answering the record of another sandbox entry differs from the first call.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson

from nexsis_contracts.diff.calls import Call
from nexsis_contracts.diff.scenario import Side
from nexsis_openapi import load_spec

#: Slack around a side's run window for call-time timestamps (clock skew, second rounding).
SLACK = 120.0
FREE_TEXT_KEYS = frozenset({"message", "debuginfo"})
SITE_IDENTITY = "core_webservice_get_site_info"
MISSING = object()


@dataclass
class Difference:
    kind: str  # status | content type | shape | value | missing call
    where: str  # JSON path in the body, "" for the whole call
    detail: str

    def line(self) -> str:
        return f"{self.kind}{' at ' + self.where if self.where else ''}: {self.detail}"


@dataclass
class Pair:
    seq: int
    key: tuple[str, str, int]
    reference: Call | None
    candidate: Call | None
    differences: list[Difference] = field(default_factory=list)

    @property
    def call(self) -> Call:
        call = self.reference or self.candidate
        assert call is not None
        return call


#: Web-service answers that are bare lists of ids, and the records those ids name.
ROOT_ID_SPACES = {
    "tool_muprog_source_manual_allocate_users": "user",
    "tool_muprog_delete_program_allocations": "user",
}
#: For an ``id`` key: the record kind, from the operation's name (first match).
ID_KINDS = (
    "group",
    "allocation",
    "completion",
    "job",
    "log",
    "manager",
    "cohort",
    "program",
    "course",
    "user",
    "grade",
)


#: Sandbox kinds whose ids travel under another key (``catid``) than the kind's name.
SANDBOX_SPACES = {"category": "cat"}

_KINDS = ("user", "course", "program", "certification", "group", "cohort", "enrolment")


@functools.cache
def internal_id_fields() -> dict[str, str]:
    """Answer fields that carry a site's internal id without being named ``*id``, from the specs.

    The specs say it in the field's description ("Moodle's internal course id", "internal id of the
    linked (child) course"); the kind is the first record kind the description names.
    """
    out: dict[str, str] = {}

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            for name, prop in (node.get("properties") or {}).items():
                text = str(prop.get("description", "")).lower() if isinstance(prop, dict) else ""
                if "internal" in text and " id" in text and not name.endswith("id"):
                    words = re.findall(r"[a-z]+", text)
                    out[name] = next((w for w in words if w in _KINDS), name)
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    for api in ("nexsis", "moodle-ws"):
        visit(load_spec(api).get("components", {}))
    return out


def id_space(key: str, operation: str) -> str | None:
    """The kind of record an id names (ids of one kind map one to one), or None: not an id."""
    if not key:
        return ROOT_ID_SPACES.get(operation)
    if key in internal_id_fields():
        return internal_id_fields()[key]
    if key == "id":
        lowered = operation.lower()
        return next((kind for kind in ID_KINDS if kind in lowered), operation)
    if key.endswith("ids"):
        return key[:-3]
    if key.endswith("id"):
        return key[:-2]
    return None


def _is_id_value(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, str) and 0 < len(value) <= 64
    )


def _is_time_key(key: str) -> bool:
    return key.startswith("time") or key.endswith("date") or key.endswith("time")


def _epoch(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        if value.isdigit() and len(value) <= 12:
            return float(value)
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed.timestamp()
    return None


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _short(value: Any) -> str:
    text = orjson.dumps(value).decode() if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Comparer:
    """Compares calls in order, learning the id and text mappings as it goes (state is shared)."""

    def __init__(self, reference: Side, candidate: Side) -> None:
        self.sides = (reference, candidate)
        self.forward: dict[tuple[str, Any], Any] = {}  # (space, reference value) -> candidate value
        self.backward: dict[tuple[str, Any], Any] = {}
        self.sites = tuple(self._site_names(s.base_url) for s in self.sides)
        self._named: set[str] = set()  # ids both requests of the call being compared named
        self._pair_sandboxes(reference.sandbox, candidate.sandbox)

    def _pair_sandboxes(
        self, reference: dict[str, dict[str, list[Any]]], candidate: dict[str, dict[str, list[Any]]]
    ) -> None:
        """Seed the bijection: a kind's ids pair up in the order the two configs list them."""
        for api, kinds in reference.items():
            for kind, ids in kinds.items():
                for a, b in zip(ids, candidate.get(api, {}).get(kind, []), strict=False):
                    if type(a) is type(b):  # a repeated id keeps its first pairing
                        self._bijection(f"id:{SANDBOX_SPACES.get(kind, kind)}", a, b)

    @staticmethod
    def _site_names(base: str) -> list[str]:
        parts = urlsplit(base)
        root = base.rstrip("/")
        return sorted({root, root.replace("/", "\\/"), parts.netloc}, key=len, reverse=True)

    # -- learned mappings -------------------------------------------------------------------------------
    def map_id(self, key: str, value: Any, operation: str = "") -> Any:
        """The candidate's id for a reference id under `key`, once learned (for replaying requests)."""
        space = id_space(key, operation)
        return self.forward.get((f"id:{space}", value), value) if space else value

    def _bijection(self, space: str, a: Any, b: Any) -> str | None:
        known_b = self.forward.get((space, a), MISSING)
        known_a = self.backward.get((space, b), MISSING)
        if known_b is MISSING and known_a is MISSING:
            self.forward[(space, a)] = b
            self.backward[(space, b)] = a
            return None
        if known_b is not MISSING and known_b != b:
            return f"{_short(a)} was {_short(known_b)} before, now {_short(b)}"
        if known_a is not MISSING and known_a != a:
            return f"{_short(b)} stood for {_short(known_a)} before, now for {_short(a)}"
        return None

    # -- one call -------------------------------------------------------------------------------------
    def compare(self, ref: Call, cand: Call) -> list[Difference]:
        out: list[Difference] = []
        self._named = _path_segments(ref.url) & _path_segments(cand.url)
        if ref.status != cand.status:
            out.append(Difference("status", "", f"{ref.status} vs {cand.status}"))
        if ref.media_type != cand.media_type:
            out.append(Difference("content type", "", f"{ref.media_type or '-'} vs {cand.media_type or '-'}"))
        a, b = self._parse(ref.body), self._parse(cand.body)
        if a is MISSING or b is MISSING:
            ta, tb = self._site(ref.body, 0), self._site(cand.body, 1)
            if ta != tb:
                out.append(Difference("value", "body", f"{_short(ta)} vs {_short(tb)}"))
        else:
            self._walk(a, b, "", "", ref.operation, out)
        return out

    @staticmethod
    def _parse(text: str) -> Any:
        if not text:
            return MISSING
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return MISSING

    def _site(self, text: str, side: int) -> str:
        for name in self.sites[side]:
            text = text.replace(name, "<site>")
        return text

    def _walk(self, a: Any, b: Any, path: str, key: str, operation: str, out: list[Difference]) -> None:
        if len(out) >= 20:
            return
        where = path or "(root)"
        if _kind(a) != _kind(b):
            out.append(Difference("shape", where, f"{_kind(a)} {_short(a)} vs {_kind(b)} {_short(b)}"))
            return
        if isinstance(a, dict):
            for k in a:
                if k not in b:
                    out.append(Difference("shape", f"{path}.{k}".lstrip("."), "missing in the candidate"))
            for k in b:
                if k not in a:
                    out.append(Difference("shape", f"{path}.{k}".lstrip("."), "only in the candidate"))
            for k in a:
                if k in b:
                    self._walk(a[k], b[k], f"{path}.{k}".lstrip("."), k, operation, out)
            return
        if isinstance(a, list):
            if len(a) != len(b):
                out.append(Difference("shape", where, f"{len(a)} items vs {len(b)}"))
            for i, (x, y) in enumerate(zip(a, b, strict=False)):
                self._walk(x, y, f"{path}[{i}]", key, operation, out)
            return
        problem = self._scalar(a, b, key, operation)
        if problem:
            out.append(Difference("value", where, problem))

    def _scalar(self, a: Any, b: Any, key: str, operation: str) -> str | None:
        space = id_space(key, operation)
        if space is not None and _is_id_value(a) and _is_id_value(b) and type(a) is type(b):
            if a != b and a in self._named and self.forward.get((f"id:{space}", a)) != b:
                # The client's own id (both requests named it): an answer must name it back.
                return f"{space} id {_short(a)} vs {_short(b)} (the request named {_short(a)})"
            # Equal ids are learned too: a later pairing that breaks the bijection is a difference.
            problem = self._bijection(f"id:{space}", a, b)
            return f"{space} id {problem}" if problem else None
        if a == b:
            return None
        ea, eb = _epoch(a), _epoch(b)
        if ea is not None and eb is not None and (_is_time_key(key) or self._in_window(ea, 0)):
            in_a, in_b = self._in_window(ea, 0), self._in_window(eb, 1)
            if in_a and in_b:
                return None
            if in_a != in_b:
                which = "reference" if in_a else "candidate"
                return f"{_short(a)} vs {_short(b)} (only the {which}'s is the time of the call)"
        if isinstance(a, str) and isinstance(b, str):
            if self._site(a, 0) == self._site(b, 1):
                return None
            if key in FREE_TEXT_KEYS or operation == SITE_IDENTITY:
                problem = self._bijection(f"text:{key}", a, b)
                return f"text {problem}" if problem else None
        return f"{_short(a)} vs {_short(b)}"

    def _in_window(self, epoch: float, side: int) -> bool:
        start, end = self.sides[side].window
        return start - SLACK <= epoch <= end + SLACK


def _path_segments(url: str) -> set[str]:
    """The decoded path segments of a request: the external ids a client named in it."""
    return {unquote(part) for part in urlsplit(url).path.split("/") if part}


def pair_calls(reference: Side, candidate: Side) -> list[Pair]:
    """Calls paired by (step, operation, n-th such call): a call only one side made stays unpaired."""

    def keyed(calls: list[Call]) -> dict[tuple[str, str, int], Call]:
        seen: Counter[tuple[str, str]] = Counter()
        out = {}
        for call in calls:
            base = (call.step, call.operation)
            out[(*base, seen[base])] = call
            seen[base] += 1
        return out

    ref, cand = keyed(reference.calls), keyed(candidate.calls)
    order = list(ref) + [k for k in cand if k not in ref]
    return [Pair(i + 1, k, ref.get(k), cand.get(k)) for i, k in enumerate(order)]


def compare_sides(reference: Side, candidate: Side) -> list[Pair]:
    comparer = Comparer(reference, candidate)
    pairs = pair_calls(reference, candidate)
    for pair in pairs:
        if pair.reference is None:
            pair.differences.append(Difference("missing call", "", "only the candidate made this call"))
        elif pair.candidate is None:
            pair.differences.append(Difference("missing call", "", "the candidate did not make this call"))
        else:
            pair.differences = comparer.compare(pair.reference, pair.candidate)
    return pairs
