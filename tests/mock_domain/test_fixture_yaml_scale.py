"""YAML fixtures load row by row, with exactly the data (and errors) of `yaml.load(..., CSafeLoader)`.

`nexsis_mock.fixtures.load_yaml` streams the items of top-level lists so a 1M-enrolment fixture
does not need PyYAML's node graph of the whole document (3.4 GiB). Every test here compares with
PyYAML's own whole-document load: same types (YAML 1.1 booleans, octal, sexagesimal, timestamps),
same key order, same sharing of aliased objects, same error text. The memory test counts
allocations with tracemalloc, never time, so a slow or busy CI machine cannot make it flaky.
"""

from __future__ import annotations

import math
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import yaml

from nexsis_mock import fixtures
from nexsis_mock.fixtures import DEFAULT_FIXTURE, FixtureError, load_yaml, yaml_stream

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # bench/ is a folder of the repository, not an installed package
    sys.path.insert(0, str(ROOT))

from bench import gen_fixture  # noqa: E402

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
STREAM_FROM = yaml_stream._STREAM_FROM


@pytest.fixture(autouse=True)
def stream_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small documents normally keep PyYAML's load; here they go through the streaming loader."""
    monkeypatch.setattr(yaml_stream, "_STREAM_FROM", 0)


def whole(raw: bytes) -> Any:
    return yaml.load(raw, Loader=LOADER)


def assert_same(got: Any, want: Any) -> None:
    """Equal values of the very same types, key order, and the same object sharing (aliases)."""
    forward: dict[int, Any] = {}
    backward: dict[int, Any] = {}
    stack = [("$", got, want)]
    while stack:  # iterative: documents nest deeper than Python's recursion limit
        path, g, w = stack.pop()
        assert type(g) is type(w), f"{path}: {type(g).__name__} {g!r} != {type(w).__name__} {w!r}"
        if isinstance(w, dict | list | set | bytes | tuple):
            if isinstance(w, dict | list | set):
                if id(w) in forward or id(g) in backward:
                    assert forward.get(id(w)) is g and backward.get(id(g)) is w, f"{path}: sharing differs"
                    continue
                forward[id(w)], backward[id(g)] = g, w
            if isinstance(w, dict):
                assert [(type(k), k) for k in g] == [(type(k), k) for k in w], f"{path}: keys differ"
                stack.extend((f"{path}.{k}", g[k], w[k]) for k in w)
            elif isinstance(w, list | tuple):
                assert len(g) == len(w), f"{path}: length {len(g)} != {len(w)}"
                stack.extend((f"{path}[{i}]", a, b) for i, (a, b) in enumerate(zip(g, w, strict=True)))
            else:
                assert g == w, path
        elif isinstance(w, float) and math.isnan(w):
            assert math.isnan(g), path
        else:
            assert g == w, f"{path}: {g!r} != {w!r}"
            if hasattr(w, "tzinfo"):
                assert g.tzinfo == w.tzinfo, f"{path}: tzinfo {g.tzinfo} != {w.tzinfo}"


def assert_loads_like_pyyaml(raw: bytes) -> Any:
    """The same data as PyYAML, or the same YAMLError with the same text."""
    try:
        want = whole(raw)
    except yaml.YAMLError as exc:
        with pytest.raises(type(exc)) as caught:
            load_yaml(raw)
        assert str(caught.value) == str(exc)
        return None
    got = load_yaml(raw)
    assert_same(got, want)
    return got


def test_the_comparison_sees_type_and_sharing_differences() -> None:
    with pytest.raises(AssertionError):
        assert_same({"a": True}, {"a": 1})
    with pytest.raises(AssertionError):
        assert_same({"a": 1, "b": 2}, {"b": 2, "a": 1})
    shared: list[int] = [1]
    with pytest.raises(AssertionError, match="sharing"):
        assert_same([[1], [1]], [shared, shared])


def test_big_files_stream_and_small_ones_keep_pyyamls_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(yaml_stream, "_STREAM_FROM", STREAM_FROM)
    streamed: list[int] = []
    load_document = yaml_stream._SectionStreamingLoader.load_document
    monkeypatch.setattr(
        yaml_stream._SectionStreamingLoader,
        "load_document",
        lambda self, **options: streamed.append(1) or load_document(self, **options),
    )
    assert fixtures.load_files([DEFAULT_FIXTURE])["users"]
    assert streamed == []
    size = gen_fixture.Size(users=3_000, courses=20, enrolments=24_000)
    big = gen_fixture.write(size, tmp_path / "big.yaml")
    assert big.stat().st_size > STREAM_FROM
    assert_same(fixtures.read_document(big), whole(big.read_bytes()))
    assert streamed == [1]


def test_default_fixture() -> None:
    data = assert_loads_like_pyyaml(DEFAULT_FIXTURE.read_bytes())
    assert isinstance(data, dict) and data["users"]


@pytest.mark.parametrize("size", ["tiny", "small"])
def test_generated_fixtures(tmp_path: Path, size: str) -> None:
    path = gen_fixture.write(gen_fixture.SIZES[size], tmp_path / f"{size}.yaml")
    data = assert_loads_like_pyyaml(path.read_bytes())
    assert len(data["enrolments"]) == gen_fixture.SIZES[size].enrolments


EDGE_DOCUMENTS = {
    "anchors across list items": """
users:
  - &alice {username: alice, tags: [a, b], address: {city: X}}
  - {username: bob, tags: [z]}
  - *alice
  - {username: carol, friend: *alice}
""",
    "anchors in one section, aliases in another": """
site: {now: 1767225600, defaults: &defaults {auth: manual, lastname: Same, tags: [x]}}
users:
  - {<<: *defaults, username: u1}
  - {<<: *defaults, username: u2, auth: ldap}
  - {<<: [*defaults, {extra: 1}], username: u3}
courses:
  - &c1
    shortname: C1
    meta: {<<: *defaults}
  - {<<: *c1, shortname: C2}
""",
    "a merge key inside an item over an earlier item's anchor": """
enrolments:
  - &base {course: C1, role: student, status: 0}
  - {<<: *base, user: 2}
  - <<: *base
    user: 3
    role: teacher
""",
    "an anchor first merged, then aliased in two later items": """
users:
  - {<<: &m {a: [1]}, b: 1}
  - {x: *m}
  - {y: *m}
""",
    "an anchored section list aliased later": """
users: &everyone
  - {username: a}
  - {username: b}
x-notes: *everyone
""",
    "recursive aliases": """
users:
  - &loop [1, *loop]
  - &self {name: me, me: *self}
""",
    "YAML 1.1 scalars": """
site:
  booleans: [yes, no, on, off, true, False, Y, n, "yes"]
  ints: [0, -12, 012, 0x1F, 0b101, 1_000, 190:20:30, +5]
  floats: [1.5, -.5, 1e3, 1.0e+3, .inf, -.Inf, .NaN, 6.8523015e+5, 190:20:30.15, 1_000.5]
  nulls: [~, null, Null, "", ]
  empty:
  dates: [2024-01-02, 2001-12-14t21:59:43.10-05:00, 2001-12-14 21:59:43.10 -5, 2024-01-02T03:04:05Z,
          2002-12-14, "2024-01-02"]
  value_key: {=: default}
  strings: ['single ''quoted''', "double \\"esc\\" \\u00e9 \\t", plain text, 123abc, !!str 123, !!float 1]
  tagged: {set: !!set {a, b}, omap: !!omap [{a: 1}, {b: 2}], pairs: !!pairs [{a: 1}, {a: 2}],
           binary: !!binary aGVsbG8=}
""",
    "multi-line strings": """
logs:
  - message: |
      first line
        indented
      last
    detail: >
      folded
      text

      paragraph
    params: |-
      keep no newline
    request_body: >+
      keep all

  - message: "a
      continued
      double-quoted"
    detail: plain
      continued
      plain
""",
    "tags, directives, explicit documents": """%YAML 1.1
%TAG !e! tag:yaml.org,2002:
--- !!map
users: !!seq
  - {id: !e!int "7", name: !!str yes}
courses: ! [a, b]
...
""",
    "a tagged and anchored root": "--- &root\nusers: [{a: 1}]\n",
    "duplicate top-level keys": "users: [{a: 1}]\ncourses: []\nusers: [{b: 2}]\n",
    "a top-level merge key": "base: &b {users: [{a: 1}]}\n<<: *b\ncourses: [1]\n",
    "a top-level merge key after big lists": "users: [{a: 1}, {a: 2}]\n<<: {courses: [3]}\n",
    "non-string top-level keys": "1: one\nyes: true\nnull: nothing\n3.5: x\n2024-01-01: day\n",
    "a complex top-level key": "? [a, b]\n: list-key\n? {c: d}\n: x\n",  # unhashable: an error
    "sections that are not lists": "site: {a: 1}\nusers: {not: a list}\ncourses: 5\ngroups:\n",
    "empty lists and nested lists": "users: []\ncourses: [[], [[]], [1, [2, [3]]]]\n",
    "a top level that is a list": "- {a: 1}\n- b\n",
    "a top level that is a scalar": "just text\n",
    "a top level that is a tagged scalar": "--- !!int '42'\n",
    "an empty file": "",
    "only comments": "# nothing here\n   # at all\n",
    "an empty document": "---\n",
    "an explicit null document": "--- ~\n...\n",
    "block style rows": (
        "users:\n  - username: a\n    idnumber: S1\n  -\n    username: b\n  - - nested\n    - list\n"
    ),
    "deep nesting": "users:\n  - " + "[" * 3000 + "]" * 3000 + "\n",
    "utf-8 with a BOM": "\ufeffusers: [{name: é}]\n",
}


@pytest.mark.parametrize("text", EDGE_DOCUMENTS.values(), ids=EDGE_DOCUMENTS.keys())
def test_edge_documents(text: str) -> None:
    assert_loads_like_pyyaml(text.encode())


def test_utf16_documents() -> None:
    assert_loads_like_pyyaml("users: [{name: é}]\ncourses: [1]\n".encode("utf-16"))


def test_aliases_share_objects_across_items_as_in_one_document() -> None:
    data = assert_loads_like_pyyaml(EDGE_DOCUMENTS["anchors across list items"].encode())
    users = data["users"]
    assert users[2] is users[0] and users[3]["friend"] is users[0]
    merged = assert_loads_like_pyyaml(EDGE_DOCUMENTS["anchors in one section, aliases in another"].encode())
    assert merged["users"][0]["tags"] is merged["site"]["defaults"]["tags"]
    assert merged["users"][1]["auth"] == "ldap" and merged["users"][2]["extra"] == 1


BAD_DOCUMENTS = {
    "unclosed flow sequence": ("users:\n  - {a: 1}\n  - [1, 2\n", 4),
    "bad indentation": ("users:\n  - a: 1\n   b: 2\n", 3),
    "tab indentation": ("users:\n\t- a\n", 2),
    "undefined alias": ("users:\n  - {a: 1}\n  - *nowhere\n", 3),
    "duplicate anchor": ("users:\n  - &a {x: 1}\n  - &a {x: 2}\n", 3),
    "unknown tag": ("users:\n  - {a: 1}\n  - !wat 3\n", 3),
    "unhashable key": ("users:\n  - {a: 1}\n  - {[1]: 2}\n", 3),
    "merge of a scalar": ("users:\n  - {a: 1}\n  - {<<: 5}\n", 3),
    "two documents": ("users: [{a: 1}]\n---\ncourses: []\n", 2),
    "two documents, the second one broken": ("users: [{a: 1}]\n--- [\n", 2),
    "a broken second item": ("users:\n  - {a: 1}\n  - {a: 1, b\n", 4),
    "bad escape": ('users:\n  - "\\q"\n', 2),
    "an invalid byte": (b"users:\n  - a\xff\n", None),
}


@pytest.mark.parametrize("text, line", BAD_DOCUMENTS.values(), ids=BAD_DOCUMENTS.keys())
def test_bad_yaml_reports_what_pyyaml_reports(tmp_path: Path, text: str | bytes, line: int | None) -> None:
    raw = text if isinstance(text, bytes) else text.encode()
    with pytest.raises(yaml.YAMLError) as expected:
        whole(raw)
    path = tmp_path / "broken.yaml"
    path.write_bytes(raw)
    with pytest.raises(FixtureError) as caught:
        fixtures.load([path])
    assert str(caught.value) == f"broken.yaml: invalid YAML: {expected.value}"
    if line is not None:
        assert f"line {line}," in str(caught.value)


@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "whole"])
@pytest.mark.parametrize(
    "text, line, what",
    [
        ("users:\n  - {timecreated: 2024-13-01}\n", 2, "month must be in 1..12"),
        ("site: {now: 1}\nusers:\n  - {a: 1}\n  - {id: !!int ten}\n", 4, "invalid literal for int()"),
        ("users: [{siteadmin: !!bool maybe}]\n", 1, "'maybe'"),
        ("users: [{x: !!timestamp never}]\n", 1, "'never'"),
        ("- [1, !!float one]\n", 1, "could not convert"),
        ("<<: {users: [{a: !!int x}]}\n", 1, "invalid literal for int()"),
    ],
)
def test_scalars_pyyaml_cannot_build_are_fixture_errors_with_a_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, line: int, what: str, streamed: bool
) -> None:
    """PyYAML lets these escape as a bare ValueError/KeyError/AttributeError with no position."""
    if not streamed:
        monkeypatch.setattr(yaml_stream, "_STREAM_FROM", STREAM_FROM)
    with pytest.raises((ValueError, KeyError, AttributeError)) as bare:
        whole(text.encode())
    assert not isinstance(bare.value, yaml.YAMLError)
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(FixtureError, match=r"^bad\.yaml: invalid YAML: cannot read ") as caught:
        fixtures.load([path])
    assert f"line {line}," in str(caught.value) and what in str(caught.value)


def _rows_yaml(rows: int) -> bytes:
    lines = ["site: {now: 1767225600}", "enrolments:"]
    lines += [f"  - {{user: {i % 5000 + 1}, course: {i % 97 + 1}, role: student}}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def _transient_bytes(load: Any, raw: bytes) -> tuple[int, int]:
    """(bytes held by the result, peak bytes allocated beyond it) while `load(raw)` runs."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        start = tracemalloc.get_traced_memory()[0]
        data = load(raw)
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert data["enrolments"]
    return current - start, peak - current


def test_rows_are_built_without_the_whole_documents_node_graph() -> None:
    """Allocation counts, not time: the streamed load's transient memory stays a fraction of its
    result, where PyYAML's whole-document load needs several times the result for its nodes."""
    raw = _rows_yaml(8_000)  # the streamed load's transient memory does not grow with the rows
    kept, transient = _transient_bytes(load_yaml, raw)
    whole_kept, whole_transient = _transient_bytes(whole, raw)
    assert kept <= whole_kept * 1.05  # no more data kept (less: the row keys share one str)
    assert whole_transient > 2 * whole_kept  # the measure can tell the two apart
    assert transient < 0.1 * whole_kept, (kept, transient, whole_kept, whole_transient)
