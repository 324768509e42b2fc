"""PHP's input rules, the pieces both of the codec's decoders share (``codec``, ``codec_plans``).

The limits (``max_input_vars``, ``max_input_nesting_level``), the errors a body the codec will
not decode raises, percent-decoding that refuses what is not UTF-8, PHP's numbering of ``[]``,
integer-keyed maps as lists, and the one call into qs-codec. ``nexsis_openapi.codec`` is the API:
it re-exports the limits and errors (its ``__all__`` is the public list); nothing else
imports this module.
"""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import unquote_plus

import qs_codec

from .redact import MASK, is_secret_name

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


def _unquote(text: str, what: str, name: str = "") -> str:
    if "%" not in text and "+" not in text:
        return text  # nothing to decode: what unquote_plus would return, without the call
    try:
        if len(text) <= _CACHED_TEXT:
            return _unquote_plus(text)
        return unquote_plus(text, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        # The message names the value (it reaches X-Mock-Detail and journals): never a token's.
        shown = MASK if name and is_secret_name(name) else repr(text[:60])
        raise InvalidEncoding(f"{what} {name[:40] + ' ' if name else ''}{shown}") from None
    except ValueError as exc:  # pragma: no cover - unquote_plus raises only decode errors today
        raise InvalidEncoding(str(exc)) from None


#: Texts up to this length are remembered (at most 4,096 of them: about 1 MiB).
_CACHED_TEXT = 256


@functools.lru_cache(maxsize=4096)
def _unquote_plus(text: str) -> str:
    # Names (`groups%5B0%5D%5Bname%5D`) and many values (function names, tokens, ids) repeat
    # call after call; decoding them was a sixth of a core_group_create_groups call. Errors are
    # raised, never cached.
    return unquote_plus(text, encoding="utf-8", errors="strict")


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


def _qs_decode(flat: dict[str, Any], max_depth: int, max_vars: int) -> dict[str, Any]:
    try:
        tree = qs_codec.decode(flat, _decode_options(max_depth, max_vars))
    except IndexError as exc:
        raise DepthExceeded(f"more than {max_depth} levels") from exc
    return {key: _listify(value) for key, value in tree.items()}
