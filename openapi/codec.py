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

from collections.abc import Mapping
from typing import Any

import qs_codec

from .codec_php import (
    MAX_INPUT_NESTING_LEVEL,
    MAX_INPUT_VARS,
    CodecError,
    DepthExceeded,
    InvalidEncoding,
    TooManyVariables,
    _number_appends,
    _unquote,
)
from .codec_plans import _TEMPLATE_MAX_CHARS, _keyed_plan, _template

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
    if isinstance(body, (bytes, bytearray)):
        try:
            body = bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidEncoding("raw body bytes") from None
    pairs = [p.partition("=") for p in body.split("&") if p]
    if len(pairs) > max_vars:
        raise TooManyVariables(f"{len(pairs)} > {max_vars}")
    # Where each value goes depends on the names alone (and which values are empty): the work on
    # a sequence of names is done once (_Plan); each body only decodes its values into it.
    if len(body) <= _TEMPLATE_MAX_CHARS or sum(len(p[0]) for p in pairs) <= _TEMPLATE_MAX_CHARS:
        try:
            # the names, each with an empty value marked by a trailing "=" (no raw name ends so)
            plan = _keyed_plan(tuple([n if v else n + "=" for n, _, v in pairs]), max_depth, max_vars)
        except CodecError:
            plan = None  # a name the codec refuses: the full decoding below says which, and how
        if plan is not None:
            try:
                return plan.apply([v if "%" not in v and "+" not in v else _unquote(v, "value")
                                   for _, _, v in pairs])
            except CodecError:
                pass  # a value the codec refuses: the full decoding below words it
    return _decode_pairs(pairs, max_depth, max_vars)


def _decode_pairs(pairs: list[tuple[str, str, str]], max_depth: int, max_vars: int) -> dict[str, Any]:
    """The decoding itself, pair by pair (``_Plan`` replays its work on the names)."""
    flat: dict[str, str] = {}
    counters: dict[str, int] = {}
    for raw_key, _, raw_value in pairs:
        key = _unquote(raw_key, "key")
        if not key or key.startswith("["):
            continue  # PHP ignores nameless variables
        key = _number_appends(key, counters)
        flat.pop(key, None)  # the last duplicate wins, and takes the last position, as in PHP
        flat[key] = _unquote(raw_value, "value of", key)
    nested = {key.partition("[")[0] for key in flat if "[" in key}
    if not nested:
        return flat  # nothing to nest: qs-codec would hand back this very map
    # Only the names that have brackets go through qs-codec (a plain name whose root is also
    # bracketed, `a=1&a[x]=2`, goes too, so qs-codec decides that clash), and only their names:
    # where each value lands depends on the names alone, so qs-codec's answer for a sequence of
    # names is kept as a template and each body fills it with its values (see _Template).
    keys = tuple(k for k in flat if k.partition("[")[0] in nested)
    values = [flat[k] for k in keys]
    tree = _template(keys, tuple(not v for v in values), max_depth, max_vars).fill(values)
    # The top level is always a map of names, as $_GET/$_POST are: `?0=x` is the parameter "0".
    out: dict[str, Any] = {}
    for key, value in flat.items():
        root = key.partition("[")[0]
        if root not in nested:
            out[key] = value
        elif root not in out and root in tree:
            out[root] = tree[root]
    for root, value in tree.items():  # a root qs-codec spelled differently (`a[b` is `a`)
        if root not in out:
            out[root] = value
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
