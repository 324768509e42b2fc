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
import typing as t
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote_plus

import qs_codec

from .redact import MASK, is_secret_name

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


class _Plan:
    """``_decode_pairs``'s work on one sequence of names, replayed with each body's values
    (a tenth of a web-service call). ``steps``: the output's entries in order, (name, pair index)
    for a plain name, (root, None) for a root from the filled ``template`` (values: the pairs at
    ``nested``). ``tests/test_codec.py`` checks it against ``_decode_pairs``.

    ``apply`` is, for most plans, one generated expression building the whole answer
    (``_compiled_apply``): walking the template value by value was a third of ``decode``."""

    __slots__ = ("apply", "nested", "steps", "template")

    def __init__(self, steps: tuple[tuple[str, int | None], ...], template: _Template | None,
                 nested: tuple[int, ...]) -> None:
        self.steps, self.template, self.nested = steps, template, nested
        self.apply: Callable[[list[str]], dict[str, Any]] = _compiled_apply(self) or self.walk

    def walk(self, values: list[str]) -> dict[str, Any]:
        """``apply`` step by step: the template filled, then the output's entries in order."""
        if self.template is None:
            return {name: values[index] for name, index in self.steps}  # type: ignore[index]
        tree = self.template.fill([values[i] for i in self.nested])
        return {name: tree[name] if index is None else values[index] for name, index in self.steps}


#: Plans whose template is nested deeper than this, or holds more values, are walked, not compiled
#: (Python's compiler has a nesting limit; a huge expression costs more to build than it saves).
_COMPILE_MAX_DEPTH = 16
_COMPILE_MAX_VALUES = 256


def _compiled_apply(plan: _Plan) -> Callable[[list[str]], dict[str, Any]] | None:
    """``plan.walk`` as one expression: ``{'a': v[0], 'g': [{'x': v[1]}]}`` (None: walk instead).

    Only names (as ``repr`` literals), value indices and empty strings go into the source.
    """
    nested = plan.nested
    if len(nested) > _COMPILE_MAX_VALUES:
        return None

    def expr(shape: Any, depth: int) -> str | None:
        if depth > _COMPILE_MAX_DEPTH:
            return None
        if isinstance(shape, _Slot):
            return f"v[{nested[shape.index]}]"
        if isinstance(shape, dict):
            parts = []
            for key, sub in shape.items():
                inner = expr(sub, depth + 1)
                if type(key) is not str or inner is None:
                    return None
                parts.append(f"{key!r}: {inner}")
            return "{" + ", ".join(parts) + "}"
        if isinstance(shape, list):
            items = [expr(sub, depth + 1) for sub in shape]
            return None if None in items else "[" + ", ".join(t.cast(list[str], items)) + "]"
        return "''" if shape == "" and type(shape) is str else None

    tree = plan.template.shape if plan.template is not None else {}
    entries = []
    for name, index in plan.steps:
        inner = f"v[{index}]" if index is not None else expr(tree[name], 1)
        if type(name) is not str or inner is None:
            return None
        entries.append(f"{name!r}: {inner}")
    source = "lambda v: {" + ", ".join(entries) + "}"
    built: Callable[[list[str]], dict[str, Any]] = eval(compile(source, "<codec plan>", "eval"), {})
    return built


@functools.lru_cache(maxsize=256)
def _keyed_plan(key: tuple[str, ...], max_depth: int, max_vars: int) -> _Plan | None:
    """``_plan`` cached by one tuple: the names, ``=``-terminated where the value is empty."""
    return _plan(tuple(n[:-1] if n.endswith("=") else n for n in key), tuple(n.endswith("=") for n in key),
                 max_depth, max_vars)


def _plan(names: tuple[str, ...], empty: tuple[bool, ...], max_depth: int, max_vars: int) -> _Plan | None:
    """The plan for a sequence of names (None: qs-codec decides each body, see ``_Direct``)."""
    flat: dict[str, int] = {}
    counters: dict[str, int] = {}
    for i, raw_key in enumerate(names):
        key = _unquote(raw_key, "key")
        if not key or key.startswith("["):
            continue
        key = _number_appends(key, counters)
        flat.pop(key, None)
        flat[key] = i
    nested = {key.partition("[")[0] for key in flat if "[" in key}
    if not nested:
        return _Plan(tuple(flat.items()), None, ())
    keys = tuple(k for k in flat if k.partition("[")[0] in nested)
    template = _template(keys, tuple(empty[flat[k]] for k in keys), max_depth, max_vars)
    if not isinstance(template, _Template):
        return None
    tree = template.fill(["" for _ in keys])  # only its roots are needed
    steps: list[tuple[str, int | None]] = []
    seen: set[str] = set()
    for key, i in flat.items():
        root = key.partition("[")[0]
        if root not in nested:
            steps.append((key, i))
            seen.add(key)
        elif root not in seen and root in tree:
            steps.append((root, None))
            seen.add(root)
    for root in tree:
        if root not in seen:
            steps.append((root, None))
            seen.add(root)
    return _Plan(tuple(steps), template, tuple(flat[k] for k in keys))


class _Slot:
    """Where the value of the i-th name goes in a template."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index


class _Template:
    """qs-codec's structure for one sequence of names, with a slot where each value goes.

    Built by decoding the names with stand-in values, each unique, and finding where each one
    landed; valid only if every stand-in came back unchanged, exactly once. qs-codec treats an
    empty value differently (`a[=&a=` drops the plain one), so which values are empty is part of
    the template's key and empty values decode as themselves. qs-codec's merge is
    general and slow (a third of a ``core_group_create_groups`` call), while clients send the same
    names call after call; ``tests/test_codec.py`` checks the filled template against qs-codec
    for generated bodies.
    """

    __slots__ = ("shape",)

    def __init__(self, shape: Any) -> None:
        self.shape = shape

    def fill(self, values: list[str]) -> dict[str, Any]:
        return _fill(self.shape, values)


def _fill(shape: Any, values: list[str]) -> Any:
    if isinstance(shape, _Slot):
        return values[shape.index]
    if isinstance(shape, dict):
        return {k: _fill(v, values) for k, v in shape.items()}
    if isinstance(shape, list):
        return [_fill(v, values) for v in shape]
    return shape


class _Direct:
    """A sequence of names whose stand-ins did not come back intact: qs-codec decodes every body."""

    __slots__ = ("keys", "max_depth", "max_vars")

    def __init__(self, keys: tuple[str, ...], max_depth: int, max_vars: int) -> None:
        self.keys, self.max_depth, self.max_vars = keys, max_depth, max_vars

    def fill(self, values: list[str]) -> dict[str, Any]:
        return _qs_decode(dict(zip(self.keys, values, strict=True)), self.max_depth, self.max_vars)


def _qs_decode(flat: dict[str, Any], max_depth: int, max_vars: int) -> dict[str, Any]:
    try:
        tree = qs_codec.decode(flat, _decode_options(max_depth, max_vars))
    except IndexError as exc:
        raise DepthExceeded(f"more than {max_depth} levels") from exc
    return {key: _listify(value) for key, value in tree.items()}


#: Name sequences longer than this (in characters) are decoded directly, never kept.
_TEMPLATE_MAX_CHARS = 4096


@functools.lru_cache(maxsize=256)
def _cached_template(keys: tuple[str, ...], empty: tuple[bool, ...], max_depth: int,
                     max_vars: int) -> _Template | _Direct:
    stand_ins = {f"\x00{i}\x00": i for i in range(len(keys)) if not empty[i]}
    given = ["" if empty[i] else f"\x00{i}\x00" for i in range(len(keys))]
    tree = _qs_decode(dict(zip(keys, given, strict=True)), max_depth, max_vars)
    seen: list[int] = []

    def slots(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: slots(v) for k, v in value.items()}
        if isinstance(value, list):
            return [slots(v) for v in value]
        if isinstance(value, str) and value in stand_ins:
            seen.append(stand_ins[value])
            return _Slot(stand_ins[value])
        if value == "":
            return ""  # an empty value is the same in every body with this key
        return _Missing  # anything else means qs-codec changed a value: no template

    shape = slots(tree)
    if sorted(seen) != sorted(stand_ins.values()) or _contains(shape, _Missing):
        return _Direct(keys, max_depth, max_vars)
    return _Template(shape)


_Missing = object()


def _contains(shape: Any, needle: object) -> bool:
    if shape is needle:
        return True
    if isinstance(shape, dict):
        return any(_contains(v, needle) for v in shape.values())
    if isinstance(shape, list):
        return any(_contains(v, needle) for v in shape)
    return False


def _template(keys: tuple[str, ...], empty: tuple[bool, ...], max_depth: int,
              max_vars: int) -> _Template | _Direct:
    if sum(map(len, keys)) > _TEMPLATE_MAX_CHARS:
        return _Direct(keys, max_depth, max_vars)
    return _cached_template(keys, empty, max_depth, max_vars)


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
