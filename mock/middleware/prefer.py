"""Per-request answer forcing, Prism's way: ``Prefer: code=404`` and ``Prefer: example=NAME``.

A client's test of its own error handling needs the server to answer a 404 or a Moodle exception
on demand, without arranging state for it. The preference picks an answer the operation's spec
documents and never reaches the domain: nothing changes, nothing is logged by NexSIS. It is read
after authentication (a forced answer is no way around the token) and before validation.

- ``code=N``: N must be a status the operation documents (else 400). The body is the response's
  first example (``example=NAME`` picks a named one; NexSIS's are the vendor document's, named
  ``document``); without one, an error status gets the API's error form, a response without
  content or without a schema an empty body, and any other a body built from the response
  schema (``static_body``, Prism's static mode: deterministic, validated when built; a schema
  it cannot build a valid body from is a 422 naming why).
- ``example=NAME`` alone: the first documented response (by status) holding that named example.
- Web services answer HTTP 200 as Moodle always does, so only ``code=200`` is documented; the
  examples are whole answers (results or exception envelopes) and are rendered in the call's format.
Unknown preferences (``return=minimal``, ...) are ignored, as RFC 7240 asks; the answer carries
``Preference-Applied``.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from starlette.types import Scope

from ..endpoints import Endpoint
from .static_body import StaticBodyError, static_body

__all__ = ["Forced", "PreferError", "forced_answer", "preferences"]

_KEYS = ("code", "example")


class PreferError(Exception):
    """A preference the operation cannot honour: ``status`` (400 or 422) and why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class Forced:
    status: int
    body: t.Any  # None: no body
    applied: str  # the Preference-Applied header


def preferences(scope: Scope) -> dict[str, str] | None:
    """``code`` and ``example`` from the ``Prefer`` header(s), None when neither is asked for."""
    found: dict[str, str] = {}
    for name, value in scope["headers"]:
        if name != b"prefer":
            continue
        for part in value.decode("latin-1").replace(";", ",").split(","):
            key, _, val = part.strip().partition("=")
            key = key.strip().lower()
            if key in _KEYS:
                found[key] = val.strip().strip('"')
    return found or None


def _examples(response: dict[str, t.Any]) -> tuple[list[tuple[str, t.Any]], bool]:
    """The response's (name, value) examples and whether it has any content at all."""
    content = response.get("content") or {}
    out: list[tuple[str, t.Any]] = []
    for media in content.values():
        if "example" in media:
            out.append(("example", media["example"]))
        for name, example in (media.get("examples") or {}).items():
            if isinstance(example, dict) and "value" in example:
                out.append((name, example["value"]))
    return out, bool(content)


def forced_answer(endpoint: Endpoint, prefs: dict[str, str], error_body: t.Callable[[int], t.Any]) -> Forced:
    """The answer the preferences ask for; raises ``PreferError`` when the spec has none."""
    documented = sorted(endpoint.statuses)
    name = prefs.get("example")
    code_text = prefs.get("code")
    if code_text is not None:
        if not code_text.isdigit() or int(code_text) not in endpoint.statuses:
            raise PreferError(400, f"Prefer: code={code_text[:20]} is not a status {endpoint.operation_id} "
                                   f"documents ({', '.join(map(str, documented))})")
        code = int(code_text)
        examples, has_content = _examples(endpoint.responses.get(str(code)) or {})
        applied = f"code={code}"
        if name is not None:
            value = next((v for n, v in examples if n == name), _MISSING)
            if value is _MISSING:
                raise PreferError(400, f"Prefer: example={name[:80]} is not an example of {code} for "
                                       f"{endpoint.operation_id} ({_names(examples)})")
            return Forced(code, value, f"{applied}, example={name}")
        if examples:
            return Forced(code, examples[0][1], applied)
        if code >= 400 and endpoint.api == "nexsis":
            return Forced(code, error_body(code), applied)
        if not has_content:
            return Forced(code, None, applied)
        try:
            return Forced(code, static_body(endpoint, code), applied)
        except StaticBodyError as exc:
            raise PreferError(422, f"Prefer: code={code}: {endpoint.operation_id} documents no example "
                                   f"for {code} and {exc}") from None
    assert name is not None
    seen: list[tuple[str, t.Any]] = []
    for code in documented:
        examples, _ = _examples(endpoint.responses.get(str(code)) or {})
        seen += examples
        for example_name, value in examples:
            if example_name == name:
                return Forced(code, value, f"example={name}")
    raise PreferError(400, f"Prefer: example={name[:80]} is not an example of {endpoint.operation_id} "
                           f"({_names(seen)})")


def _names(examples: list[tuple[str, t.Any]]) -> str:
    names = [n for n, _ in examples]
    return "examples: " + ", ".join(names[:20]) + (", ..." if len(names) > 20 else "") if names \
        else "it has none"


_MISSING = object()
