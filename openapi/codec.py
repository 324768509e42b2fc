"""PHP bracket notation: the wire form of Moodle web-service parameters.

Moodle reads its parameters through PHP, so ``members[0][groupid]=33&members[0][userid]=123`` is
``{"members": [{"groupid": "33", "userid": "123"}]}``. The mock decodes requests with this module
and the suite encodes generated cases with it, so both sides agree on one codec.

Decoding follows PHP's rules and limits, but refuses what PHP would silently mangle:

* more than ``max_input_vars`` (1000) pairs -> ``TooManyVariables`` (PHP truncates);
* brackets nested deeper than ``max_input_nesting_level`` (64) -> ``DepthExceeded`` (PHP drops);
* bytes that are not UTF-8 after percent-decoding -> ``InvalidEncoding``;
* an index such as ``members[999999999]`` is a key of an ordered map, exactly as in PHP: it costs
  one element, never memory proportional to the index.

Nested structure building (and its depth limit) is delegated to ``qs-codec``; this module adds what
PHP does differently from JavaScript's ``qs``: ``[]`` appends, the last duplicate wins, and integer-keyed
maps become lists in insertion order.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

import qs_codec

__all__ = [
    "MAX_INPUT_NESTING_LEVEL",
    "MAX_INPUT_VARS",
    "CodecError",
    "DepthExceeded",
    "InvalidEncoding",
    "TooManyVariables",
    "decode",
    "encode",
]

#: PHP's defaults (php.ini), which Moodle sites rarely change.
MAX_INPUT_VARS = 1000
MAX_INPUT_NESTING_LEVEL = 64

_INDEX_RE = re.compile(r"^(?:0|-?[1-9][0-9]*)$")
_APPEND = "[]"


class CodecError(ValueError):
    """A body that PHP bracket notation cannot represent faithfully; ``reason`` is for humans."""

    reason = "invalid form body"

    def __init__(self, detail: str) -> None:
        super().__init__(f"{self.reason}: {detail}")
        self.detail = detail


class TooManyVariables(CodecError):
    reason = "too many input variables"


class DepthExceeded(CodecError):
    reason = "bracket nesting too deep"


class InvalidEncoding(CodecError):
    reason = "not valid UTF-8"


def _unquote(text: str, what: str) -> str:
    try:
        return unquote_plus(text, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise InvalidEncoding(f"{what} {text[:60]!r}") from None
    except ValueError as exc:  # pragma: no cover - unquote_plus raises only decode errors today
        raise InvalidEncoding(str(exc)) from None


def _number_appends(key: str, counters: dict[str, int]) -> str:
    """Rewrite each ``[]`` as the next free index of its prefix, as PHP's parser does."""
    if _APPEND not in key:
        return key
    out: list[str] = []
    rest = key
    while True:
        pos = rest.find(_APPEND)
        if pos < 0:
            out.append(rest)
            return "".join(out)
        out.append(rest[:pos])
        prefix = "".join(out)
        index = counters.get(prefix, 0)
        counters[prefix] = index + 1
        out.append(f"[{index}]")
        rest = rest[pos + len(_APPEND):]


def _listify(value: Any) -> Any:
    """Turn maps whose keys are all integers into lists, keeping insertion order like PHP arrays."""
    if isinstance(value, dict):
        items = {k: _listify(v) for k, v in value.items()}
        if items and all(isinstance(k, str) and _INDEX_RE.match(k) for k in items):
            return list(items.values())
        return items
    return value


@functools.cache
def _decode_options(max_depth: int, max_vars: int) -> qs_codec.DecodeOptions:
    # Built once: constructing DecodeOptions cost ~5% of every web-service call (bench profile).
    return qs_codec.DecodeOptions(depth=max_depth, strict_depth=True, parse_lists=False,
                                  parameter_limit=max_vars + 1)


def decode(
    body: str | bytes,
    *,
    max_vars: int = MAX_INPUT_VARS,
    max_depth: int = MAX_INPUT_NESTING_LEVEL,
) -> dict[str, Any]:
    """Decode an ``application/x-www-form-urlencoded`` body (or query string) the way PHP does.

    Values stay strings: typing them is the schema's job (Moodle's PARAM_* cleaning), not the
    codec's.
    """
    if isinstance(body, bytes | bytearray):
        try:
            body = bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidEncoding("raw body bytes") from None
    pairs = [p for p in body.split("&") if p]
    if len(pairs) > max_vars:
        raise TooManyVariables(f"{len(pairs)} > {max_vars}")
    flat: dict[str, str] = {}
    counters: dict[str, int] = {}
    for pair in pairs:
        raw_key, _, raw_value = pair.partition("=")
        key = _unquote(raw_key, "key")
        if not key or key.startswith("["):
            continue  # PHP ignores nameless variables
        key = _number_appends(key, counters)
        flat.pop(key, None)  # the last duplicate wins, and takes the last position, as in PHP
        flat[key] = _unquote(raw_value, "value of " + key[:40])
    nested = {key.partition("[")[0] for key in flat if "[" in key}
    if not nested:
        # Nothing to nest: qs-codec would hand back this very map, and skipping it was 16-35% of
        # a web-service call (bench profile).
        return flat
    # Only the names that have brackets go through qs-codec (its merge costs per key: a
    # web-service call's wstoken/wsfunction/moodlewsrestformat were half of its work); a plain
    # name whose root is also bracketed (`a=1&a[x]=2`) goes too, so qs-codec decides that clash.
    options = _decode_options(max_depth, max_vars)
    try:
        tree = qs_codec.decode({k: v for k, v in flat.items() if k.partition("[")[0] in nested}, options)
    except IndexError as exc:
        raise DepthExceeded(f"more than {max_depth} levels") from exc
    # The top level is always a map of names, as $_GET/$_POST are: `?0=x` is the parameter "0".
    out: dict[str, Any] = {}
    for key, value in flat.items():
        root = key.partition("[")[0]
        if root not in nested:
            out[key] = value
        elif root not in out and root in tree:
            out[root] = _listify(tree[root])
    for root, value in tree.items():  # a root qs-codec spelled differently (never seen; kept)
        if root not in out:
            out[root] = _listify(value)
    return out


def _scalar(value: Any) -> Any:
    # PARAM_BOOL accepts only 0 and 1 on the wire; `true`/`false` are rejected by Moodle.
    if value is True:
        return 1
    if value is False:
        return 0
    return value


def _prepare(value: Any) -> Any:
    # None is dropped here rather than with qs_codec's skip_nulls, which also drops empty strings:
    # `groups[0][description]=` is a required value, not a missing one.
    if isinstance(value, Mapping):
        return {str(k): _prepare(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_prepare(v) for v in value if v is not None]
    return _scalar(value)


def encode(data: Mapping[str, Any]) -> str:
    """Encode parameters to PHP bracket notation with readable brackets and encoded values.

    ``None`` is left out (Moodle treats a missing optional parameter as its default) and booleans
    become ``1``/``0``. Indices are explicit (``[0]``), as in the core_group documentation.
    """
    options = qs_codec.EncodeOptions(encode_values_only=True, list_format=qs_codec.ListFormat.INDICES)
    return qs_codec.encode(_prepare(data), options)
