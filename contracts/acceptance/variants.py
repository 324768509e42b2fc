"""The documented ways of calling an operation, one registered rule per way.

A *variant* is the operation's success request (the fixture graph's anchor) sent in one other
documented form: the NexSIS token as `?token=` instead of `Authorization: Bearer`, the body
URL-encoded instead of JSON, a time in another form the vendor document shows; the Moodle token in
the body instead of the query, Moodle's `moodlewssetting*` parameters next to the function's.
Every variant differs from the baseline along exactly one axis, so a refusal names the form that
broke: its rule is the function's name. `inverse` is the rule that names the baseline's form when
the baseline was refused and this variant was accepted (JSON refused but form accepted:
`json_body_refused`).

Facts these forms rest on: the NexSIS vendor document ("Authentication": header or query
parameter `token`; "Sending Data": JSON or URL-encoded; time examples
`2017-08-16T21:09:30+00:00`, `2025-12-31T10:00:00`, `2026-11-01T08:00:00.000Z`) and
tests/data/moodle-ws-facts.md ("Protocol": token in body or query; "Settings parameters").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

#: The time the graph writes into body time fields (`graph.START`), and its other documented forms.
BODY_TIME_FORMS = {
    "2026-01-05T08:00:00": "ISO 8601 without offset (as in the document's allocation examples)",
    "2026-01-05T08:00:00.000Z": "ISO 8601 with milliseconds and Z (as in the completion example)",
}
#: `graph.COMPLETION_TIME` (unix seconds) as the document's completion path shows it, and with an offset.
COMPLETION_FORMS = {
    "2026-01-01T00:00:00.000Z": "ISO 8601 with milliseconds and Z (the document's own example)",
    "2026-01-01T00:00:00+00:00": "ISO 8601 with an offset",
}
#: The settings a real Moodle 5.0 was seen to accept next to any function, with the values it was
#: sent (moodle-ws-facts.md, "Settings parameters").
WS_SETTINGS = {
    "moodlewssettingfilter": "1",
    "moodlewssettingfileurl": "1",
    "moodlewssettinglang": "en",
    "moodlewssettingraw": "0",
}


@dataclass
class Request:
    """One call of an operation as it goes on the wire (before the token and encoding are applied)."""

    api: str
    method: str
    path: dict[str, Any]  # path parameters (NexSIS)
    query: dict[str, Any] = field(default_factory=dict)
    body: Any = None  # a dict, or None for no body
    media: str | None = None  # "json" | "form" | None
    token_in: str = "default"  # NexSIS: "bearer" | "query"; WS: "query" | "body"
    ws_extra_body: dict[str, str] = field(default_factory=dict)
    ws_extra_query: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        parts = [f"token in {self.token_in}"]
        if self.media:
            parts.append(f"{self.media} body")
        if self.ws_extra_body:
            parts.append("body " + "&".join(f"{k}={v}" for k, v in self.ws_extra_body.items()))
        if self.ws_extra_query:
            parts.append("query " + "&".join(f"{k}={v}" for k, v in self.ws_extra_query.items()))
        return ", ".join(parts)


@dataclass
class Variant:
    inverse: str | None  # what broke when the baseline is refused but this form is accepted
    what: str  # the documented form, in words
    #: The one change from the baseline, applied to a baseline rebuilt for this variant (fresh victims).
    change: Callable[[Request], Request]
    rule: str = ""  # what broke when this form is refused: its builder's name (set by `variants_of`)


Builder = Callable[[Request, str], Iterator[Variant]]
#: rule name -> the builder of its variants from the baseline request (and the operation id).
RULES: dict[str, Builder] = {}


def rule(builder: Builder) -> Builder:
    """Register a variant builder; its function name is the rule its variants report."""
    RULES[builder.__name__] = builder
    return builder


def _replacing(**fields: Any) -> Callable[[Request], Request]:
    return lambda r: replace(r, **fields)


def _set_body(key: str, value: Any) -> Callable[[Request], Request]:
    return lambda r: replace(r, body={**r.body, key: value})


def _set_path(key: str, value: Any) -> Callable[[Request], Request]:
    return lambda r: replace(r, path={**r.path, key: value})


def _extra_body(fields: dict[str, str]) -> Callable[[Request], Request]:
    return lambda r: replace(r, ws_extra_body=dict(fields))


def _time_fields(body: Any, forms: dict[str, str], start: str) -> Iterator[tuple[str, str, str]]:
    if isinstance(body, dict):
        for key, value in body.items():
            if value == start:
                for form, what in forms.items():
                    yield key, form, what


# -- NexSIS -----------------------------------------------------------------------------------------
@rule
def query_token_refused(base: Request, op: str) -> Iterator[Variant]:
    """The token as the query parameter `token` (the document's "Query parameter example")."""
    if base.api == "nexsis":
        yield Variant(
            "bearer_token_refused",
            "the token as ?token= instead of an Authorization: Bearer header",
            _replacing(token_in="query"),
        )


@rule
def form_body_refused(base: Request, op: str) -> Iterator[Variant]:
    """The body URL-encoded (the document's "Example request (URL-encoded)")."""
    if base.api == "nexsis" and base.media == "json":
        yield Variant(
            "json_body_refused",
            "the body as application/x-www-form-urlencoded instead of JSON",
            _replacing(media="form"),
        )


@rule
def timestamp_form_refused(base: Request, op: str) -> Iterator[Variant]:
    """Every time form the document shows, in the fields and path segment that take a time."""
    from nexsis_contracts.graph import COMPLETION_TIME, START

    if base.api != "nexsis":
        return
    for key, form, what in _time_fields(base.body, BODY_TIME_FORMS, START):
        yield Variant(
            "timestamp_form_refused",
            f"{key}={form!r}, {what}",
            _set_body(key, form),
        )
    if str(base.path.get("timecompleted")) == str(COMPLETION_TIME):
        for form, what in COMPLETION_FORMS.items():
            yield Variant(
                "timestamp_form_refused",
                f"timecompleted {form!r}, {what}",
                _set_path("timecompleted", form),
            )


# -- Moodle WS ------------------------------------------------------------------------------------------
@rule
def ws_token_in_body_refused(base: Request, op: str) -> Iterator[Variant]:
    """wstoken in the POST body next to the parameters (Moodle reads `$_GET` and `$_POST` alike)."""
    if base.api == "moodle-ws":
        yield Variant(
            "ws_token_in_query_refused",
            "wstoken in the POST body instead of the query string",
            _replacing(token_in="body"),
        )


@rule
def ws_settings_refused(base: Request, op: str) -> Iterator[Variant]:
    """Moodle's `moodlewssetting*` parameters, in the body and in the query."""
    if base.api != "moodle-ws":
        return
    yield Variant(
        None,
        "the moodlewssetting* parameters in the POST body",
        _extra_body(dict(WS_SETTINGS)),
    )
    yield Variant(
        None,
        "the moodlewssetting* parameters in the query string",
        lambda r: replace(r, ws_extra_query=dict(WS_SETTINGS)),
    )
    if op == "core_webservice_get_site_info":
        # One at a time where a call is cheap and changes nothing, so a refusal names the setting.
        for name, value in WS_SETTINGS.items():
            yield Variant(
                None,
                f"{name}={value} in the POST body",
                _extra_body({name: value}),
            )


def variants_of(base: Request, op: str) -> list[Variant]:
    """Every variant of the baseline, each named by the rule (builder) that made it."""
    return [replace(v, rule=name) for name, build in RULES.items() for v in build(base, op)]
