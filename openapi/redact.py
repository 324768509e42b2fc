"""Token redaction shared by every log line, report and console message.

Redaction works on two levels: known secret values (the tokens a run was given) are replaced
wherever they appear, and anything in a token-bearing position (``Authorization`` headers, the
``token`` / ``wstoken`` parameters) is replaced even when its value is unknown, because a report
may show a token the suite never knew (a server echoing one back, a fuzzed value).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "[REDACTED]"

#: Parameter and header names whose value is always a secret.
SECRET_NAMES = frozenset({"token", "wstoken", "authorization", "x-api-key", "cookie", "set-cookie"})



def _spelled(word: str) -> str:
    """A regex for ``word`` with any letter written as itself, ``%XX`` or JSON's ``\\u00XX``.

    A server decodes names before it looks at them (PHP: ``ws%74oken`` *is* ``wstoken``), so
    redaction must recognise every spelling the server would read as the same name.
    """
    return "".join(f"(?:{re.escape(c)}|%{ord(c):02x}|\\\\u00{ord(c):02x})" for c in word)


_TOKEN_NAME = f"(?:{_spelled('ws')})?{_spelled('token')}"
#: A token-named parameter in a query string or form body: leading spaces (PHP drops them) and
#: brackets (``wstoken[]``, encoded or not) allowed; the value runs to the next separator.
_PARAM_RE = re.compile(rf"(?i)(?P<key>(?:^|[?&;\s\"'])(?:%20|\+| )*{_TOKEN_NAME}"
                       rf"(?:\[[^\]&=]*\]|%5b[^&=]*?%5d)*=)(?P<val>[^&\s\"'#]*)")
_BEARER_RE = re.compile(r"(?i)(?P<key>bearer\s+)(?P<val>[^\s\"',]+)")
_JSON_RE = re.compile(rf"(?i)(?P<key>\"\s*{_TOKEN_NAME}\s*\"\s*:\s*\")(?P<val>[^\"]*)")


def is_secret_name(name: object) -> bool:
    """Whether a (decoded) parameter or header name carries a secret, as PHP would read the name:
    leading spaces dropped, ``wstoken[]``/``wstoken[0]`` still ``wstoken``, any letter case."""
    text = str(name).lstrip(" ").split("[", 1)[0].lower()
    return text in SECRET_NAMES


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask known secrets and token-bearing patterns (query/form params, Bearer, JSON keys)."""
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    for pattern in (_PARAM_RE, _BEARER_RE, _JSON_RE):
        text = pattern.sub(lambda m: m.group("key") + (MASK if m.group("val") else ""), text)
    return text


def redact(value: Any, secrets: Iterable[str] = ()) -> Any:
    """Redact a structure (headers, params, JSON) recursively; secret-named keys are masked whole."""
    secrets = tuple(secrets)
    if isinstance(value, str):
        return redact_text(value, secrets)
    if isinstance(value, Mapping):
        return {k: (MASK if is_secret_name(k) and v not in (None, "") else redact(v, secrets))
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact(v, secrets) for v in value)
    return value
