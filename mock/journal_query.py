"""Questions asked of the request journal: which requests match a filter, how many (WireMock's verify).

A client's test asks "did my sync send exactly one ``PUT /user/S1001``?" with
``POST /__admin/requests/count`` and reads the requests themselves with ``/find``: both take one
``RequestFilter`` (mock/admin.yaml), every given field must match:

- ``method``, ``path`` (exact), ``path_regex`` (RE2, linear time), ``operation`` (the NexSIS
  operationId or the web-service function), ``wsfunction``, ``status``, ``outcome``
  (``answered``/``refused``/``unmatched``/``fault``);
- ``body`` / ``query``: ``{field: value}`` pairs found in the decoded body / query string. A field
  is a name, a dotted path (``groups.0.name``) or PHP bracket notation (``groups[0][name]``);
  form and query values are strings, so ``5`` also matches ``"5"``;
- ``headers``: ``{name: value}`` (case-insensitive name; ``true`` means "present"). Credentials are
  compared as the journal shows them, ``[REDACTED]``.

The cheap fields are checked on the raw entries; only those that pass are decoded (and redacted)
for ``body``/``query``/``headers``/``outcome``, so a query costs what it returns.
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass, field

from .endpoints import table
from .middleware.journal import Entry, RequestJournal
from .near_miss import NearMiss, explain, explain_function, explain_refusal
from .safe_regex import Pattern, compile_pattern

__all__ = ["OUTCOMES", "FilterError", "RequestFilter", "count", "find", "unmatched"]

OUTCOMES = ("answered", "refused", "unmatched", "fault")
_BRACKET = re.compile(r"\[([^\[\]]*)\]")
_MISSING = object()


class FilterError(ValueError):
    """A filter that cannot be run (a bad pattern, an unknown outcome); the message says which."""


@dataclass(slots=True)
class RequestFilter:
    method: str | None = None
    path: str | None = None
    path_regex: Pattern | None = None
    operation: str | None = None
    wsfunction: str | None = None
    status: int | None = None
    outcome: str | None = None
    body: dict[str, t.Any] = field(default_factory=dict)
    query: dict[str, t.Any] = field(default_factory=dict)
    headers: dict[str, t.Any] = field(default_factory=dict)

    @classmethod
    def read(cls, params: t.Mapping[str, t.Any]) -> RequestFilter:
        """The filter of an admin call's parameters (already checked by admin.yaml's schema)."""
        regex = params.get("path_regex")
        try:
            pattern = compile_pattern(regex) if regex else None
        except ValueError as exc:
            raise FilterError(str(exc)) from None
        outcome = params.get("outcome")
        if outcome is not None and outcome not in OUTCOMES:
            raise FilterError(f"outcome must be one of {', '.join(OUTCOMES)}")
        method = params.get("method")
        return cls(method=method.upper() if method else None, path=params.get("path"),
                   path_regex=pattern, operation=params.get("operation"),
                   wsfunction=params.get("wsfunction"), status=params.get("status"), outcome=outcome,
                   body=dict(params.get("body") or {}), query=dict(params.get("query") or {}),
                   headers={str(k).lower(): v for k, v in (params.get("headers") or {}).items()})

    def fits(self, e: Entry) -> bool:
        """The fields a raw entry answers without decoding."""
        return ((self.method is None or e.method == self.method)
                and (self.path is None or e.path == self.path)
                and (self.path_regex is None or bool(self.path_regex.search(e.path)))
                and (self.operation is None or self.operation in (e.operation, e.wsfunction))
                and (self.wsfunction is None or e.wsfunction == self.wsfunction)
                and (self.status is None or e.status == self.status))

    @property
    def needs_view(self) -> bool:
        return bool(self.outcome or self.body or self.query or self.headers)

    def fits_view(self, view: dict[str, t.Any]) -> bool:
        """The fields that need the decoded, redacted entry."""
        if self.outcome is not None and view["outcome"] != self.outcome:
            return False
        if not all(_same(_lookup(view["body"], name), want) for name, want in self.body.items()):
            return False
        if not all(_same(_lookup(view["query"], name), want) for name, want in self.query.items()):
            return False
        headers = view["headers"]
        return all((name in headers) if want is True else
                   (name not in headers) if want is False else headers.get(name) == str(want)
                   for name, want in self.headers.items())


def _steps(name: str) -> list[str]:
    """``groups[0][name]`` and ``groups.0.name`` both as ``["groups", "0", "name"]``."""
    head, _, rest = name.partition("[")
    if rest:
        return [*head.split("."), *_BRACKET.findall("[" + rest)]
    return name.split(".")


def _lookup(value: t.Any, name: str) -> t.Any:
    if isinstance(value, dict) and name in value:  # a field whose name has a dot or a bracket
        return value[name]
    for step in _steps(name):
        if isinstance(value, dict) and step in value:
            value = value[step]
        elif isinstance(value, list) and step.isdigit() and int(step) < len(value):
            value = value[int(step)]
        else:
            return _MISSING
    return value


def _same(got: t.Any, want: t.Any) -> bool:
    if got is _MISSING:
        return False
    if got == want and type(got) is type(want):
        return True
    if isinstance(got, str) and not isinstance(want, dict | list):
        # Form and query values are text: 5 is "5", true is "true" (or Moodle's "1").
        text = {True: ("true", "1"), False: ("false", "0")}.get(want, (str(want),)) \
            if isinstance(want, bool) else (str(want),)
        return got in text
    return bool(got == want)


def find(journal: RequestJournal, flt: RequestFilter, limit: int | None = None) -> list[dict[str, t.Any]]:
    """The matching entries as the admin API shows them, oldest first (the last ``limit``)."""
    views = []
    for entry in journal.entries():
        if not flt.fits(entry):
            continue
        view = journal.as_dict(entry)
        if flt.needs_view and not flt.fits_view(view):
            continue
        views.append(view)
    return views[-limit:] if limit else views


def count(journal: RequestJournal, flt: RequestFilter) -> int:
    """How many entries match (raw entries decoded only when the filter needs it)."""
    if not flt.needs_view:
        return sum(1 for entry in journal.entries() if flt.fits(entry))
    return sum(1 for entry in journal.entries() if flt.fits(entry) and flt.fits_view(journal.as_dict(entry)))


def unmatched(journal: RequestJournal, limit: int | None = None) -> list[dict[str, t.Any]]:
    """Requests no operation took as sent, each with the near miss: unmatched ones (404, 405, an
    unknown function) and those their operation refused in validation (WireMock's near misses)."""
    out = []
    for entry in journal.entries():
        if entry.matched and not _refused_in_validation(entry):
            continue
        view = journal.as_dict(entry)
        view["near_miss"] = near_miss(entry, view)
        out.append(view)
    return out[-limit:] if limit else out


def _refused_in_validation(entry: Entry) -> bool:
    """The pipeline's near-miss detail (NexSIS), or Moodle's invalidparameter for a known function."""
    if entry.detail is None or entry.fault is not None:
        return False
    if entry.detail.startswith("near miss:"):
        return True
    return bool(entry.wsfunction and entry.operation and b"invalidparameter" in entry.response)


def near_miss(entry: Entry, view: dict[str, t.Any]) -> dict[str, t.Any]:
    """The explanation of a miss, as the pipeline gave it (``nexsis_mock.near_miss``, built again
    from the endpoint table): the closest operations and what differed, the methods the path has."""
    explained: dict[str, t.Any] = {"reason": view["reason"]}
    found: NearMiss | None
    if entry.matched:  # refused in validation: what differed from its own operation
        endpoint = table().ws.get(entry.wsfunction or "") if entry.wsfunction else None
        response = view["response"]
        message = response.get("message") if isinstance(response, dict) else None
        if endpoint is not None:
            found = explain_refusal(endpoint, entry.status, entry.detail or "invalidparameter")
        else:
            found = explain(entry.method, entry.path, reason=str(message or entry.detail))
            if found is not None:
                found.status = entry.status
    elif entry.wsfunction:
        found = explain_function(entry.wsfunction)
    else:
        found = explain(entry.method, entry.path)
    if found is not None:
        explained.update(found.as_dict())
    if entry.allow:
        explained["allowed_methods"] = [m.strip() for m in entry.allow.split(",") if m.strip()]
    return explained
