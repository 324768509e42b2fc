"""The compiled ``validate_parameters`` (params_fast) against the reference walk (params).

For every function the spec describes, generated calls (valid ones, and ones with the mistakes
clients make: a missing or extra key, a bad integer, tags in a PARAM_TEXT, None, an int already
coerced, a scalar for a structure) must get exactly the reference's answer: the same cleaned
value (types and key order included) or the same ``invalidparameter`` with the same detail.
"""

from __future__ import annotations

import typing as t
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nexsis_mock.handlers import MoodleError
from nexsis_mock.handlers.ws import params
from nexsis_mock.handlers.ws.params_fast import Slow, compile_fast
from nexsis_openapi.moodle import functions, signature

_TEXTS = ["", "0", "1", "12", "-3", "007", "-0", "+4", " 5", "6\n", "1_0", "\u0661\u0662", "abc",
          "a-b_c", "a b", "<b>x</b>", "x\x00y", "99999999999999999999", "-9223372036854775808",
          "9223372036854775807", "9223372036854775808", "é"]
_SCALARS = st.one_of(st.sampled_from(_TEXTS), st.text(max_size=8), st.integers(-5, 5), st.booleans(),
                     st.none(), st.floats(allow_nan=False, allow_infinity=False, width=16))


def _calls(desc: dict[str, t.Any]) -> st.SearchStrategy[t.Any]:
    kind = desc["kind"]
    if kind == "value":
        good = {"PARAM_INT": st.integers(-10**6, 10**6).map(str), "PARAM_BOOL": st.sampled_from(["0", "1"])}
        return st.one_of(good.get(desc["param"], st.text(alphabet="abcXYZ019_-", max_size=6)), _SCALARS,
                         st.just([]), st.just({}))
    if kind == "multiple":
        items = st.lists(_calls(desc["content"]), max_size=3)
        return st.one_of(items, items.map(lambda xs: {str(i): x for i, x in enumerate(xs)}), _SCALARS)
    keys = desc["keys"]
    chosen = st.fixed_dictionaries({}, optional={k: _calls(sub) for k, sub in keys.items()})
    required = st.fixed_dictionaries(
        {k: _calls(sub) for k, sub in keys.items() if sub["required"] == "required"},
        optional={k: _calls(sub) for k, sub in keys.items() if sub["required"] != "required"})
    extra = st.dictionaries(st.sampled_from(["extra", "0", *keys]), _SCALARS, max_size=1)
    return st.one_of(required, chosen, st.tuples(required, extra).map(lambda p: {**p[0], **p[1]}),
                     st.just([]), _SCALARS)


def _answer(check: t.Callable[[], t.Any]) -> tuple[str, t.Any]:
    try:
        return "ok", _typed(check())
    except MoodleError as exc:
        return "refused", (exc.body(), exc.detail)


def _typed(value: t.Any) -> t.Any:
    """The value with every type and key order made visible (True == 1 otherwise)."""
    if isinstance(value, dict):
        return ("dict", [(k, _typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [_typed(v) for v in value])
    return (type(value).__name__, value)


@pytest.mark.parametrize("function", functions())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_compiled_check_answers_as_the_reference(function: str, data: st.DataObject) -> None:
    desc = signature(function)
    call = data.draw(_calls(desc))
    assert _answer(lambda: params.validate(desc, call)) == _answer(lambda: params.reference(desc, call))


def _fast(desc: dict[str, t.Any]) -> t.Callable[[t.Any], t.Any]:
    check = compile_fast(desc, patterns=params._PATTERNS, tag_search=params._TAG_RE.search,
                         default_of=params._default_of, reference=params.compile_description)
    assert check is not None
    return check


@pytest.mark.parametrize("function", functions())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_compiled_check_never_vouches_for_what_the_reference_refuses(function: str,
                                                                    data: st.DataObject) -> None:
    desc = signature(function)
    call = data.draw(_calls(desc))
    try:
        fast = _typed(_fast(desc)(call))
    except Slow:
        return
    assert ("ok", fast) == _answer(lambda: params.reference(desc, call))


def test_a_plain_form_call_takes_the_compiled_check() -> None:
    desc = signature("core_group_create_groups")
    call = {"groups": [{"courseid": "2", "name": "G", "description": "d", "participation": "0"}]}
    assert _fast(desc)(call) == {"groups": [{"courseid": 2, "name": "G", "description": "d",
                                             "descriptionformat": 1, "visibility": 0,
                                             "participation": False}]}
    with pytest.raises(Slow):  # refused: the reference words it
        _fast(desc)({"groups": [{"courseid": "02", "name": "G", "description": "d"}]})


def _full(desc: dict[str, t.Any]) -> t.Any:
    """A valid call with every key given and one item per list."""
    kind = desc["kind"]
    if kind == "value":
        return {"PARAM_INT": "7", "PARAM_BOOL": "1"}.get(desc["param"], "abc")
    if kind == "multiple":
        return [_full(desc["content"])]
    return {k: _full(sub) for k, sub in desc["keys"].items()}


def _variants(desc: dict[str, t.Any], value: t.Any) -> Iterator[t.Any]:
    """``value`` with one thing changed: a leaf replaced, a key dropped or added, a list emptied."""
    kind = desc["kind"]
    if kind == "value":
        yield from [*_TEXTS, 7, -1, True, False, None, 1.0, 1.5, [], {}, ["1"], {"a": "1"}]
        return
    yield from ["1", None, [], {}]
    if kind == "multiple":
        yield {"0": value[0]}
        for item in _variants(desc["content"], value[0]):
            yield [item]
            yield [value[0], item]
        return
    yield {**value, "extra": "1"}
    for key, sub in desc["keys"].items():
        yield {k: v for k, v in value.items() if k != key}
        for item in _variants(sub, value[key]):
            yield {**value, key: item}


@pytest.mark.parametrize("function", functions())
def test_every_single_mistake_is_answered_as_the_reference(function: str) -> None:
    desc = signature(function)
    full = _full(desc)
    assert _answer(lambda: _fast(desc)(full)) == _answer(lambda: params.reference(desc, full))
    for call in _variants(desc, full):
        assert _answer(lambda c=call: params.validate(desc, c)) == _answer(
            lambda c=call: params.reference(desc, c)), call
        try:
            fast = _typed(_fast(desc)(call))
        except Slow:
            continue
        assert ("ok", fast) == _answer(lambda c=call: params.reference(desc, c)), call
