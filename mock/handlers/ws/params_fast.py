"""``validate_parameters`` for the calls Moodle accepts, compiled per description into one function.

``params.validate`` walks a description with one closure per level and per key, building each
value's place as it goes: correct for every call, and a fifth of a ``core_group_create_groups``
call. Nearly every call a client sends is valid and plain (a form body: dicts, lists and strings),
so for each description the code that checks such a call is generated once, as straight-line
Python without a call per value (``compile_fast``). It only ever answers one of two things: the
cleaned parameters, exactly the reference's (same values, same types, same key order), or
``Slow``, for anything else (a refused value, a missing key, ``None``, an int already coerced, a
default that needs cleaning per call): the reference (``params``) then decides, so every refusal,
its wording and which refusal comes first stay the reference's alone.
``tests/mock_domain/test_params_fast.py`` checks the two agree on generated calls.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from nexsis_mock.handlers import MoodleError

__all__ = ["NO_FIXED", "Slow", "compile_fast"]


class Slow(Exception):
    """The compiled check cannot vouch for this call: the reference validator decides."""


#: Where each PARAM_* text type's cleaning can refuse (see ``params._text``); others keep any string.
Patterns = dict[str, Any]


class _Emitter:
    """The generated function's source lines and the objects its names stand for."""

    def __init__(self, patterns: Patterns, tag_search: Any, default_of: Callable[[dict[str, Any]], Any],
                 reference: Callable[[dict[str, Any]], Any]) -> None:
        self.lines: list[str] = []
        self.names: dict[str, Any] = {"_Slow": Slow, "_M": _MISSING, "MoodleError": MoodleError,
                                      "_tag": tag_search}
        self.patterns = patterns
        self.default_of = default_of  # a key's fixed (cleaned) default, or NO_FIXED
        self.reference = reference  # the reference validator of a description
        self._ids = itertools.count()

    def var(self, stem: str) -> str:
        return f"{stem}{next(self._ids)}"

    def const(self, value: Any) -> str:
        name = self.var("_c")
        self.names[name] = value
        return name

    def emit(self, depth: int, line: str) -> None:
        self.lines.append("    " * depth + line)

    # -- the three kinds --------------------------------------------------------------------------
    def value(self, desc: dict[str, Any], src: str, dst: str, d: int) -> None:
        """``dst = <src cleaned>`` for a string (or a bool/int of the right type), else ``Slow``."""
        param = desc["param"]
        if param == "PARAM_INT":
            self.emit(d, f"if type({src}) is str:")
            self.emit(d + 1, "try:")
            self.emit(d + 2, f"{dst} = int({src})")
            self.emit(d + 1, "except ValueError:")
            self.emit(d + 2, "raise _Slow from None")
            # int() also takes ' 1', '+1', '1_0', '01', other scripts' digits: Moodle does not
            self.emit(d + 1, f"if str({dst}) != {src} or not -9223372036854775808 <= {dst} "
                             f"<= 9223372036854775807:")
            self.emit(d + 2, "raise _Slow")
            self.emit(d, f"elif type({src}) is int:")
            self.emit(d + 1, f"{dst} = {src}")
        elif param == "PARAM_BOOL":
            self.emit(d, f"if type({src}) is str and ({src} == '1' or {src} == '0'):")
            self.emit(d + 1, f"{dst} = {src} == '1'")
            self.emit(d, f"elif type({src}) is bool:")
            self.emit(d + 1, f"{dst} = {src}")
        else:
            test = f"type({src}) is str"
            if param == "PARAM_TEXT":
                test += f" and '\\x00' not in {src} and _tag({src}) is None"
            elif (pattern := self.patterns.get(param)) is not None:
                test += f" and {self.const(pattern.match)}({src}) is not None"
            self.emit(d, f"if {test}:")
            self.emit(d + 1, f"{dst} = {src}")
        self.emit(d, "else:")
        self.emit(d + 1, "raise _Slow")

    def multiple(self, desc: dict[str, Any], src: str, dst: str, d: int) -> None:
        items, item, out = self.var("it"), self.var("v"), self.var("l")
        self.emit(d, f"if type({src}) is list:")
        self.emit(d + 1, f"{items} = {src}")
        self.emit(d, f"elif type({src}) is dict:")  # PHP arrays with string keys are arrays too
        self.emit(d + 1, f"{items} = {src}.values()")
        self.emit(d, "else:")
        self.emit(d + 1, "raise _Slow")
        self.emit(d, f"{out} = []")
        self.emit(d, f"for {item} in {items}:")
        cleaned = self.var("y")
        self.node(desc["content"], item, cleaned, d + 1)
        self.emit(d + 1, f"{out}.append({cleaned})")
        self.emit(d, f"{dst} = {out}")

    def single(self, desc: dict[str, Any], src: str, dst: str, d: int) -> None:
        out, found = self.var("r"), self.var("n")
        self.emit(d, f"if type({src}) is not dict:")
        self.emit(d + 1, "raise _Slow")
        self.emit(d, f"{out} = {{}}")
        self.emit(d, f"{found} = 0")
        for key, sub in desc["keys"].items():
            if not isinstance(key, str):
                raise TypeError("a key that is not a string")  # never in a signature: no fast path
            got, cleaned = self.var("x"), self.var("y")
            self.emit(d, f"{got} = {src}.get({key!r}, _M)")
            self.emit(d, f"if {got} is _M:")
            required = sub["required"]
            if required == "required":
                self.emit(d + 1, "raise _Slow")
            elif required == "default":
                fixed = self.default_of(sub)
                if fixed is not NO_FIXED:
                    self.emit(d + 1, f"{out}[{key!r}] = {self.const(fixed)}")
                else:  # cleaned per call (a fresh list each time), by the reference
                    check, default = self.const(self.reference(sub)), self.const(sub.get("default"))
                    self.emit(d + 1, "try:")
                    self.emit(d + 2, f"{out}[{key!r}] = {check}({default}, None, {key!r})")
                    self.emit(d + 1, "except MoodleError:")
                    self.emit(d + 2, "raise _Slow from None")
            else:
                self.emit(d + 1, "pass")
            self.emit(d, "else:")
            self.emit(d + 1, f"{found} += 1")
            self.node(sub, got, cleaned, d + 1)
            self.emit(d + 1, f"{out}[{key!r}] = {cleaned}")
        self.emit(d, f"if len({src}) != {found}:")  # a key the description does not have
        self.emit(d + 1, "raise _Slow")
        self.emit(d, f"{dst} = {out}")

    def node(self, desc: dict[str, Any], src: str, dst: str, d: int) -> None:
        kind = desc["kind"]
        if kind == "value":
            self.value(desc, src, dst, d)
        elif kind == "multiple":
            self.multiple(desc, src, dst, d)
        else:
            self.single(desc, src, dst, d)


_MISSING = object()
#: ``default_of``'s answer for a default that is not one fixed scalar.
NO_FIXED = object()
#: Descriptions nested deeper than this are left to the reference (Python's compiler has limits).
MAX_DEPTH = 12


def _depth(desc: dict[str, Any]) -> int:
    kind = desc["kind"]
    if kind == "value":
        return 1
    if kind == "multiple":
        return 1 + _depth(desc["content"])
    return 1 + max((_depth(sub) for sub in desc["keys"].values()), default=0)


def compile_fast(desc: dict[str, Any], *, patterns: Patterns, tag_search: Any,
                 default_of: Callable[[dict[str, Any]], Any],
                 reference: Callable[[dict[str, Any]], Any]) -> Callable[[Any], Any] | None:
    """The generated check of one description (None: too deep, the reference always decides).

    ``default_of(sub)`` is a key's fixed cleaned default or ``NO_FIXED``; ``reference(sub)`` the
    reference validator of a description (``params.compile_description``).
    """
    if _depth(desc) > MAX_DEPTH:
        return None
    emitter = _Emitter(patterns, tag_search, default_of, reference)
    emitter.emit(0, "def check(v):")
    try:
        emitter.node(desc, "v", "out", 1)
    except TypeError:
        return None
    emitter.emit(1, "return out")
    namespace = dict(emitter.names)
    exec(compile("\n".join(emitter.lines), f"<validate_parameters {id(desc):x}>", "exec"), namespace)
    check: Callable[[Any], Any] = namespace["check"]
    return check

