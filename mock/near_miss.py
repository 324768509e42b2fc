"""Near misses: for a request no operation took, the closest operation(s) and what differed.

WireMock answers an unmatched request with the stubs it nearly matched; a developer whose client
builds ``/usr/S1001`` or sends ``POST /user/S1001`` learns more from "closest: GET /user/{userid},
segment 1 is 'usr', expected 'user'" than from a bare 404. Everything here reads the endpoint
table (``nexsis_mock.endpoints``), the one route table, so the explanation can never disagree
with routing. The pipeline sends ``NearMiss.header()`` as ``X-Mock-Detail`` on 404, 405 and
validation refusals; the admin API's unmatched listing calls ``explain`` on journal entries.
"""

from __future__ import annotations

import difflib
import re
import typing as t
from dataclasses import dataclass, field

from .endpoints import NEXSIS_PREFIX, Endpoint, EndpointTable, Miss, table

__all__ = ["Candidate", "NearMiss", "explain", "explain_function", "explain_refusal"]

#: Operations named in one explanation: the best few, as WireMock lists its nearest stubs.
_CLOSEST = 3
_PARAM_RE = re.compile(r"(?:\((query|path|header) parameter '([^']*)'\)|Missing (query|path|header) "
                       r"parameter '([^']*)')")
_FIELD_PATH_RE = re.compile(r" - '([^']*)'$")
_REQUIRED_RE = re.compile(r"^'([^']*)' is a required property")


@dataclass(slots=True)
class Candidate:
    """One close operation and how the request differed from it (each difference a small dict)."""

    endpoint: Endpoint
    differs: list[dict[str, t.Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, t.Any]:
        e = self.endpoint
        out: dict[str, t.Any] = {"operation": e.operation_id, "api": e.api}
        if e.api == "nexsis":
            out.update(method=e.method, path=e.template)
        out["differs"] = self.differs
        return out

    def text(self) -> str:
        parts = [_difference_text(d) for d in self.differs]
        return f"{self.endpoint.label} ({'; '.join(parts)})" if parts else self.endpoint.label


@dataclass(slots=True)
class NearMiss:
    """Why a request matched no operation, or which rule of its operation it broke."""

    status: int
    reason: str
    closest: list[Candidate] = field(default_factory=list)

    def as_dict(self) -> dict[str, t.Any]:
        return {"status": self.status, "reason": self.reason,
                "closest": [c.as_dict() for c in self.closest]}

    def header(self) -> str:
        """The ``X-Mock-Detail`` text: ``near miss: <reason>; closest: <op> (<what differed>), ...``."""
        closest = ", ".join(c.text() for c in self.closest) or "none"
        return f"near miss: {self.reason}; closest: {closest}"


#: A difference's text in ``X-Mock-Detail``, by its kind (``str.format`` over the difference's fields).
_TEXTS = {
    "method": "method {sent}, the path has {expected}",
    "segment": "segment {index} is {sent!r}, expected {expected}",
    "missing_segment": "segment {index} missing, expected {expected}",
    "extra_segment": "segment {index} {sent!r} is one too many",
    "parameter": "{in} parameter {name!r}: {reason}",
    "field": "body field {name!r}: {reason}",
    "content_type": "content type: {reason}",
    "function": "did you mean {expected!r}",
}


def _difference_text(d: dict[str, t.Any]) -> str:
    text = _TEXTS.get(d["kind"])
    return text.format(**d) if text else str(d.get("reason", d["kind"]))


def _differs(kind: str, **fields: t.Any) -> dict[str, t.Any]:
    """One difference as the admin API and ``_TEXTS`` read it: its kind, then its fields."""
    return {"kind": kind, **fields}


def _segments(path: str) -> list[str]:
    return path.strip("/").split("/") if path.strip("/") else []


def _fits(part: str, sent: str, endpoint: Endpoint) -> bool:
    """Whether one sent segment fits one template segment (a parameter: by its route regex)."""
    if not part.startswith("{"):
        return part == sent
    if not sent:
        return False
    name = part[1:-1]
    convert = endpoint.convertors.get(name)
    if convert is None:
        return True
    try:
        convert(sent)
    except ValueError:
        return False
    return bool(re.fullmatch(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", sent))


def _path_differences(endpoint: Endpoint, sent: list[str]) -> list[dict[str, t.Any]]:
    template = _segments(endpoint.template)
    out: list[dict[str, t.Any]] = []
    for index, part in enumerate(template):
        if index >= len(sent):
            out.append(_differs("missing_segment", index=index, expected=part))
        elif not _fits(part, sent[index], endpoint):
            expected = repr(part) if not part.startswith("{") else f"{part} (a number)"
            out.append(_differs("segment", index=index, sent=sent[index][:80], expected=expected))
    for index in range(len(template), len(sent)):
        out.append(_differs("extra_segment", index=index, sent=sent[index][:80]))
    return out


def _penalty(d: dict[str, t.Any]) -> float:
    """How far one difference is: a misspelt literal segment is closer than a missing one."""
    if d["kind"] == "segment" and not d["expected"].startswith("{"):
        return 0.5 + 1 - difflib.SequenceMatcher(None, d["sent"], d["expected"].strip("'")).ratio()
    if d["kind"] == "segment":
        return 0.5  # a parameter segment of the wrong type (a number expected)
    return 1.0


def _path_candidates(tbl: EndpointTable, method: str, path: str) -> list[Candidate]:
    """Operations ranked by how far the path is from theirs, then the method, then spec order."""
    sent = _segments(path)
    ranked: list[tuple[float, bool, int, Candidate]] = []
    for order, endpoint in enumerate(tbl.nexsis):
        differs = _path_differences(endpoint, sent)
        template = _segments(endpoint.template)
        shared = sum(1 for i, part in enumerate(template)
                     if not part.startswith("{") and i < len(sent) and part == sent[i])
        if len(differs) > 1 and not shared:
            continue  # no literal segment in common and more than one difference: not close
        distance = round(sum(_penalty(d) for d in differs), 3)
        ranked.append((distance, endpoint.method != method, order, Candidate(endpoint, differs)))
    ranked.sort(key=lambda r: r[:3])
    if not ranked:
        return []
    best, best_other_method = ranked[0][0], ranked[0][1]
    out: list[Candidate] = []
    for distance, other_method, _, candidate in ranked:
        if distance > best or len(out) >= _CLOSEST:
            break
        if other_method and not best_other_method:
            continue  # an operation of the request's own method is as close: the others are noise
        if other_method:
            candidate.differs.insert(0, _differs("method", sent=method, expected=candidate.endpoint.method))
        out.append(candidate)
    return out


def explain(method: str, path: str, reason: str | None = None, *,
            tbl: EndpointTable | None = None) -> NearMiss | None:
    """The near miss of a NexSIS request (``path`` absolute or relative to the API prefix).

    None when an operation takes the request as it is and no ``reason`` (a validation message)
    says why it was refused. With a ``reason``, the request's own operation is the closest one
    and the reason says which parameter or field differed.
    """
    tbl = tbl or table()
    relative = path[len(NEXSIS_PREFIX):] if path.startswith(NEXSIS_PREFIX) else path
    found = tbl.match(method.upper(), relative or "/") if relative else Miss(404)
    if not isinstance(found, Miss):
        if reason is None:
            return None
        return explain_refusal(found[0], 400, reason)
    if found.status == 405:
        candidates = [Candidate(e, [_differs("method", sent=method.upper(), expected=e.method)])
                      for e in tbl.nexsis if e.regex is not None and e.regex.match(relative)]
        return NearMiss(405, f"{method.upper()} is not a method of this path (Allow: {found.allow})",
                        candidates[:_CLOSEST])
    if found.status == 307:
        return NearMiss(307, f"the path is {found.redirect!r} (a trailing slash differs)")
    return NearMiss(404, "no operation has this path", _path_candidates(tbl, method.upper(), relative))


def explain_refusal(endpoint: Endpoint, status: int, reason: str) -> NearMiss:
    """A request its operation refused: what differed, read from the validator's message."""
    return NearMiss(status, reason, [Candidate(endpoint, [_classify(reason)])])


def _classify(reason: str) -> dict[str, t.Any]:
    match = _PARAM_RE.search(reason)
    if match:
        where, name = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
        return _differs("parameter", **{"in": where}, name=name, reason=reason)
    if reason.startswith("Invalid Content-type"):
        return _differs("content_type", reason=reason)
    match = _FIELD_PATH_RE.search(reason) or _REQUIRED_RE.match(reason)
    if match:
        return _differs("field", name=match.group(1), reason=reason)
    return _differs("body", reason=reason)


def explain_function(function: str | None, *, tbl: EndpointTable | None = None) -> NearMiss:
    """A web-service call naming no function the spec describes: the closest function names."""
    tbl = tbl or table()
    if not function:
        return NearMiss(200, "no wsfunction was sent")
    names = difflib.get_close_matches(function, list(tbl.ws), n=_CLOSEST, cutoff=0.6)
    return NearMiss(200, f"no function {function[:80]!r}",
                    [Candidate(tbl.ws[n], [_differs("function", sent=function[:80], expected=n)])
                     for n in names])
