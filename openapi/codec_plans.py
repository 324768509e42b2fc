"""The codec's memory of name sequences: qs-codec's work on a body's names, done once per sequence.

Clients send the same names call after call (``groups[0][courseid]``, ``groups[0][name]``, ...);
where each value lands depends on the names alone, so a sequence's structure is computed once
(``_Template``, from qs-codec itself) and its whole decoding replayed per body (``_Plan``, mostly as
one generated expression). ``codec.decode`` takes a plan when one applies and falls back on the
pair-by-pair decoding otherwise; ``tests/test_codec.py`` checks both against each other.
"""

from __future__ import annotations

import functools
import typing as t
from collections.abc import Callable
from typing import Any

from .codec_php import _number_appends, _qs_decode, _unquote


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
