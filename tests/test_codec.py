"""The shared wire codec: PHP bracket notation with PHP's limits."""

from __future__ import annotations

import re
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from nexsis_openapi import codec, codec_php, codec_plans

DATA = Path(__file__).parent / "data"


def _curl_examples() -> list[tuple[str, str]]:
    """(wsfunction, body) for each cURL example of the core_group document, `-d` fields joined."""
    text = (DATA / "core-group-ws-doc.txt").read_text(encoding="utf-8")
    examples = []
    for block in re.findall(r"curl .*?(?=\n\n)", text, flags=re.S):
        fields = re.findall(r'-d "([^"]*)"', block)
        function = next(f.split("=", 1)[1] for f in fields if f.startswith("wsfunction="))
        params = [f for f in fields if not f.startswith("wsfunction=")]
        examples.append((function, "&".join(params)))
    return examples


def test_document_has_four_curl_examples() -> None:
    assert [f for f, _ in _curl_examples()] == [
        "core_group_add_group_members",
        "core_group_delete_group_members",
        "core_group_create_groups",
        "core_group_delete_groups",
    ]


@pytest.mark.parametrize(("function", "body"), _curl_examples())
def test_document_examples_round_trip_exactly(function: str, body: str) -> None:
    # The document writes values unencoded; the canonical encoding percent-encodes spaces.
    decoded = codec.decode(body)
    assert codec.encode(decoded) == body.replace(" ", "%20")
    assert codec.decode(codec.encode(decoded)) == decoded


def test_nested_structures_encode_to_bracket_form() -> None:
    data = {"members": [{"groupid": 33, "userid": 123}, {"groupid": 33, "userid": 124}]}
    assert codec.encode(data) == (
        "members[0][groupid]=33&members[0][userid]=123&members[1][groupid]=33&members[1][userid]=124"
    )
    assert codec.decode(codec.encode(data)) == {
        "members": [{"groupid": "33", "userid": "123"}, {"groupid": "33", "userid": "124"}]
    }


def test_lists_of_lists_keep_their_shape() -> None:
    # qs-codec's own list parsing merges these wrongly; the codec must not.
    assert codec.decode("a[0][0]=1&a[0][1]=2&a[1][0]=3") == {"a": [["1", "2"], ["3"]]}


def test_booleans_are_php_integers_and_none_is_omitted() -> None:
    assert codec.encode({"archived": False, "x": True, "timedue": None}) == "archived=0&x=1"


def test_append_brackets_number_like_php() -> None:
    assert codec.decode("userids[]=4&userids[]=5&c[x][]=1&c[x][]=2") == {
        "userids": ["4", "5"], "c": {"x": ["1", "2"]}}


def test_last_duplicate_wins_like_php() -> None:
    assert codec.decode("a=1&a=2") == {"a": "2"}


def test_values_are_percent_decoded_and_plus_is_space() -> None:
    assert codec.decode("name=Team+%C3%A9%26co&k%5B0%5D=v") == {"name": "Team é&co", "k": ["v"]}


def test_top_level_is_always_a_map_of_names() -> None:
    assert codec.decode("0=x&1=y") == {"0": "x", "1": "y"}


def test_mixed_keys_stay_a_map() -> None:
    assert codec.decode("a[0]=x&a[b]=y") == {"a": {"0": "x", "b": "y"}}


def test_huge_index_costs_one_element() -> None:
    tracemalloc.start()
    result = codec.decode("members[999999999][groupid]=1&members[999999999][userid]=2")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert result == {"members": [{"groupid": "1", "userid": "2"}]}
    assert peak < 1_000_000


def test_nesting_deeper_than_php_is_refused() -> None:
    assert codec.decode("a" + "[x]" * 64 + "=1")
    with pytest.raises(codec.DepthExceeded):
        codec.decode("a" + "[x]" * 65 + "=1")


def test_more_vars_than_max_input_vars_is_refused() -> None:
    assert len(codec.decode("&".join(f"v{i}=1" for i in range(1000)))) == 1000
    with pytest.raises(codec.TooManyVariables):
        codec.decode("&".join(f"v{i}=1" for i in range(1001)))


@pytest.mark.parametrize("body", ["a=%FF%FE", "%C3=1", b"a=\xff"])
def test_invalid_utf8_is_refused(body: str | bytes) -> None:
    with pytest.raises(codec.InvalidEncoding):
        codec.decode(body)


def test_errors_share_one_base_and_say_why() -> None:
    with pytest.raises(codec.CodecError, match="too many input variables"):
        codec.decode("&".join("a=1" for _ in range(2000)))


_keys = st.text(alphabet=st.characters(min_codepoint=97, max_codepoint=122), min_size=1, max_size=6)
_scalars = st.one_of(st.integers(-(10**9), 10**9).map(str),
                     st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8))
_trees = st.recursive(
    _scalars,
    lambda children: st.one_of(st.lists(children, min_size=1, max_size=4),
                               st.dictionaries(_keys, children, min_size=1, max_size=4)),
    max_leaves=20,
)


@given(st.dictionaries(_keys, _trees, min_size=1, max_size=5))
def test_round_trip_of_arbitrary_trees(data: dict) -> None:
    assert codec.decode(codec.encode(data)) == data


@given(st.dictionaries(_keys, _scalars, min_size=1, max_size=8))
def test_flat_bodies_decode_exactly_as_through_qs_codec(data: dict) -> None:
    """The bracket-free fast path must agree with the general one."""
    body = codec.encode(data)
    assert codec.decode(body) == data
    nested = codec.decode(body + "&z_z[0]=1")  # `_` is outside the generated names' alphabet
    assert {k: v for k, v in nested.items() if k != "z_z"} == data


def _whole_body_through_qs_codec(body: str) -> dict:
    """The oracle: every pair through qs-codec, as the codec did before it split plain names off."""
    import qs_codec

    flat: dict[str, str] = {}
    counters: dict[str, int] = {}
    for pair in (p for p in body.split("&") if p):
        raw_key, _, raw_value = pair.partition("=")
        key = codec_php._unquote(raw_key, "key")
        if not key or key.startswith("["):
            continue
        key = codec_php._number_appends(key, counters)
        flat.pop(key, None)
        flat[key] = codec_php._unquote(raw_value, "value")
    options = codec_php._decode_options(codec.MAX_INPUT_NESTING_LEVEL, codec.MAX_INPUT_VARS)
    tree = qs_codec.decode(flat, options)
    return {key: codec_php._listify(value) for key, value in tree.items()}


_key_parts = st.sampled_from(["a", "b", "wstoken", "groups", "0", "1", "x.y", "[", "]", "[]", "[0]",
                              "[1]", "[name]", "[a]", "[]]", "%5B", "%5D", "_"])
_pairs = st.lists(st.tuples(st.lists(_key_parts, min_size=1, max_size=5).map("".join),
                            st.sampled_from(["", "1", "x", "a%20b", "+"])), min_size=1, max_size=8)


@given(_pairs)
@example([("a", "1"), ("a[x]", "2")])
@example([("wstoken", "t"), ("a[0]", "1"), ("a", "2"), ("b", "3")])
@example([("a]", "1"), ("a[b", "2"), ("c[d]", "3")])
def test_plain_names_split_off_decode_exactly_as_the_whole_body_through_qs_codec(pairs: list) -> None:
    """Only bracketed names go to qs-codec now: same values, same names, same order as before."""
    body = "&".join(f"{k}={v}" for k, v in pairs)
    try:
        expected = _whole_body_through_qs_codec(body)
    except IndexError:
        return
    assert list(codec.decode(body).items()) == list(expected.items())


@given(_pairs, st.lists(st.sampled_from(["", "1", "x", "a%20b", "%00", "%5B0%5D"]), min_size=8, max_size=8))
def test_the_same_names_with_other_values_decode_as_qs_codec_does(pairs: list, values: list) -> None:
    """The second body with the same names is filled from the first one's template."""
    first = "&".join(f"{k}={v}" for k, v in pairs)
    second = "&".join(f"{k}={values[i]}" for i, (k, _) in enumerate(pairs))
    for body in (first, second):
        try:
            expected = _whole_body_through_qs_codec(body)
        except IndexError:
            return
        assert list(codec.decode(body).items()) == list(expected.items())


def _outcome(fn, *args) -> tuple:
    try:
        return ("ok", list(fn(*args).items()))
    except codec.CodecError as exc:
        return (type(exc).__name__, str(exc))


_values = st.sampled_from(["", "1", "x", "a%20b", "+", "%00", "%5B0%5D", "%ff", "%C3%A9", "%"])


@given(_pairs, st.lists(_values, min_size=8, max_size=8), st.lists(_values, min_size=8, max_size=8))
@example([("a", "1"), ("%ff", "2")], ["1"] * 8, ["%ff"] * 8)
@example([("a[x]", "1"), ("[", "%ff"), ("a[y]", "")], ["1"] * 8, ["", "%ff", "2"] + ["1"] * 5)
def test_a_body_decoded_by_its_names_plan_is_decoded_as_pair_by_pair(pairs: list, first: list,
                                                                     second: list) -> None:
    """``decode`` replays the plan made for a sequence of names (cached) with each body's values:
    the same answer as decoding pair by pair, and the same refusal (type and words) when a name
    or a value is refused, for the body that made the plan and for later bodies with the names."""
    for values in (first, second):
        body = "&".join(f"{k}={values[i]}" for i, (k, _) in enumerate(pairs))
        direct = _outcome(codec._decode_pairs, [p.partition("=") for p in body.split("&") if p],
                          codec.MAX_INPUT_NESTING_LEVEL, codec.MAX_INPUT_VARS)
        assert _outcome(codec.decode, body) == direct


def _ordered(value: object) -> object:
    """The value with every map's key order made part of it (== ignores a dict's order)."""
    if isinstance(value, dict):
        return [(k, _ordered(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [_ordered(v) for v in value]
    return value


@given(_pairs, st.lists(_values, min_size=8, max_size=8))
@example([("groups[0][courseid]", "2"), ("groups[0][name]", ""), ("wstoken", "t")], ["x"] * 8)
def test_a_compiled_plan_builds_what_walking_it_builds(pairs: list, values: list) -> None:
    """A plan's generated ``apply`` answers as its step-by-step ``walk``, in every map's order."""
    names = tuple(k for k, _ in pairs)
    empty = tuple(not values[i] for i in range(len(pairs)))
    try:
        plan = codec_plans._plan(names, empty, codec.MAX_INPUT_NESTING_LEVEL, codec.MAX_INPUT_VARS)
    except codec.CodecError:
        return
    if plan is None:
        return
    given_values = [f"<{v}{i}>" if v else "" for i, v in enumerate(values[: len(pairs)])]
    assert _ordered(plan.apply(given_values)) == _ordered(plan.walk(given_values))


def test_a_web_service_body_takes_a_compiled_plan() -> None:
    names = ("wstoken", "groups%5B0%5D%5Bcourseid%5D", "groups%5B0%5D%5Bname%5D")
    plan = codec_plans._plan(names, (False, False, False), codec.MAX_INPUT_NESTING_LEVEL,
                             codec.MAX_INPUT_VARS)
    assert plan is not None and plan.apply != plan.walk
    assert _ordered(plan.apply(["t", "2", "G"])) == [("wstoken", "t"),
                                                     ("groups", [[("courseid", "2"), ("name", "G")]])]
