"""The YAML loader: positions of every value, refusal of what a spec must never contain, and no crash on any input."""
from __future__ import annotations

import time

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.errors import SpecError
from compiler.loader import MAX_DEPTH, MAX_EXPANDED_NODES, MAX_FILE_BYTES, LoadedDoc, load_yaml, parse_yaml

PATH = "specs/svc/platform.yaml"


def problems(text: str | bytes) -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse_yaml(text, PATH)
    return [str(d) for d in caught.value.diagnostics]


def test_marks_point_at_values_and_keys():
    doc = parse_yaml("a: 1\nb:\n  c: [x, {d: y}]\n", PATH)
    assert doc.data == {"a": 1, "b": {"c": ["x", {"d": "y"}]}}
    assert (doc.marks[("a",)].line, doc.marks[("a",)].col) == (1, 4)
    assert (doc.key_marks[("b", "c")].line, doc.key_marks[("b", "c")].col) == (3, 3)
    assert (doc.marks[("b", "c", 1, "d")].line, doc.marks[("b", "c", 1, "d")].col) == (3, 14)
    assert doc.marks[("b", "c", 1, "d")].path == PATH


def test_a_missing_location_falls_back_to_its_nearest_ancestor():
    doc = parse_yaml("spec:\n  port: 1\n", PATH)
    assert doc.mark(("spec", "image")) == doc.marks[("spec",)]
    assert doc.mark(("nowhere", "at", "all")).line == 1
    assert str(doc.diagnostic(("spec", "port"), "bad", key=True)) == f"{PATH}:2:3: bad"


def test_every_problem_in_a_file_is_reported_together():
    found = problems("a: 1\na: 2\n<<: {b: 1}\n1: x\nc: !!binary aGk=\n")
    assert found == [
        f"{PATH}:2:1: duplicate key 'a' (first defined at line 1); remove one of them",
        f"{PATH}:3:1: merge keys (<<) are not supported; write the keys out",
        f"{PATH}:4:1: the key '1' is read as a number, not a string; quote it: \"1\"",
        f"{PATH}:5:4: the tag '!!binary' is not allowed in a spec; remove it (a spec holds only mappings, "
        "lists, strings, numbers and booleans)",
    ]


@pytest.mark.parametrize("text", [
    "!!python/object/apply:os.system [ls]\n",
    "a: !!python/name:os.system\n",
    "a: !!set {x, y}\n",
    "a: !!omap [{x: 1}]\n",
    "a: !custom value\n",
])
def test_tags_are_refused_never_constructed(text: str):
    assert any("is not allowed in a spec" in line for line in problems(text))


def test_dates_stay_the_text_they_were_written_as():
    assert parse_yaml("released: 2024-01-31\nat: 2001-12-14t21:59:43.10-05:00\n", PATH).data == {
        "released": "2024-01-31", "at": "2001-12-14t21:59:43.10-05:00"}


def test_a_bad_explicit_number_is_a_problem_not_a_crash():
    assert problems("a: !!float abc\n")[0].startswith(f"{PATH}:1:4: cannot read this value")


def test_an_alias_bomb_is_stopped_quickly():
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [{', '.join(['*' + prev] * 10)}]")
    started = time.perf_counter()
    found = problems("\n".join(lines) + "\n")
    assert time.perf_counter() - started < 5
    assert len(found) == 1 and f"more than {MAX_EXPANDED_NODES} values" in found[0]


def test_a_few_aliases_are_fine():
    assert parse_yaml("a: &x {p: 1}\nb: *x\n", PATH).data == {"a": {"p": 1}, "b": {"p": 1}}


@pytest.mark.parametrize("text", ["a: &loop [1, *loop]\n", "a: &loop {b: *loop}\n"])
def test_an_alias_cycle_is_reported(text: str):
    assert problems(text) == [f"{PATH}:1:4: this alias refers to a value that contains it (a cycle); "
                              "write the values out"]


def test_deep_nesting_is_refused():
    text = "a: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n"
    assert any(f"deeper than {MAX_DEPTH} levels" in line for line in problems(text))


def test_non_utf8_is_located_at_the_bad_byte():
    assert problems(b"a: ok\nb: caf\xe9\n") == [f"{PATH}:2:7: the file is not valid UTF-8 (byte 0xe9); save it as UTF-8"]


def test_the_non_utf8_column_counts_characters_not_bytes():
    assert problems("a: \u2603\u2603 ".encode() + b"\xe9\n")[0].startswith(f"{PATH}:1:7: the file is not valid UTF-8")


def test_a_utf8_byte_order_mark_is_accepted():
    assert parse_yaml(b"\xef\xbb\xbfa: 1\n", PATH).data == {"a": 1}


@pytest.mark.parametrize("text", ["", "\n\n", "# just a comment\n", "---\n", b"\xef\xbb\xbf"])
def test_an_empty_file_has_its_own_message(text: str | bytes):
    assert problems(text) == [f"{PATH}:1:1: the file is empty; a spec needs apiVersion, kind, metadata and spec "
                              "(see `platformc init`)"]


def test_an_oversized_file_is_refused_before_parsing():
    assert "larger than" in problems(b"a: " + b"x" * MAX_FILE_BYTES + b"\n")[0]


@pytest.mark.parametrize(("text", "message"), [
    ("a:\n\tb: 1\n", "2:1: invalid YAML: a tab character; YAML must be indented with spaces"),
    ("a: 1\n---\nb: 2\n", "2:1: invalid YAML: a second document (after '---'); a spec file holds exactly one document"),
    ("a: [1, 2\nb: 3\n", "2:2: invalid YAML: a [ list opened at line 1, column 4 is not closed; add ']' (or a missing ',')"),
    ("a: *nothing\n", "1:4: invalid YAML: an alias (*name) with no matching anchor (&name) before it"),
    ("a: @handle\n", "1:4: invalid YAML: a plain value cannot start with '@'; put the value in quotes"),
])
def test_syntax_errors_say_what_to_do(text: str, message: str):
    assert problems(text) == [f"{PATH}:{message}"]


def test_load_yaml_reports_an_unreadable_file(tmp_path):
    with pytest.raises(SpecError) as caught:
        load_yaml(tmp_path / "missing.yaml", "missing.yaml")
    assert str(caught.value.diagnostics[0]).startswith("missing.yaml:1:1: cannot read the file")


# Property tests --------------------------------------------------------------------------------------------

KEYS = st.from_regex(r"[a-z][a-zA-Z0-9_]{0,11}", fullmatch=True).filter(
    lambda k: not isinstance(yaml.safe_load(f"{k}: 0"), dict) or isinstance(next(iter(yaml.safe_load(f"{k}: 0"))), str))
SCALARS = (st.none() | st.booleans() | st.integers(-10**12, 10**12)
           | st.floats(allow_nan=False, allow_infinity=False, width=32)
           | st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=30))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
                      max_leaves=15)
DOCUMENTS = st.dictionaries(KEYS, VALUES, min_size=1, max_size=6)


def _locations(value, loc=()):
    yield loc
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _locations(item, loc + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _locations(item, loc + (index,))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DOCUMENTS, st.booleans())
def test_any_dumped_document_loads_back_with_a_mark_for_every_value(data: dict, flow: bool):
    text = yaml.safe_dump(data, default_flow_style=flow, allow_unicode=True, sort_keys=False)
    doc = parse_yaml(text, PATH)
    assert isinstance(doc, LoadedDoc)
    assert doc.data == data
    lines = text.splitlines()
    for loc in _locations(data):
        mark = doc.marks[loc]
        assert 1 <= mark.line <= len(lines) + 1 and mark.col >= 1
        if loc and isinstance(loc[-1], str):
            key_mark = doc.key_marks[loc]
            assert lines[key_mark.line - 1][key_mark.col - 1:].lstrip("'\"").startswith(loc[-1])


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=400), st.text(max_size=400),
                 st.lists(st.sampled_from(["a:", " b", "- ", "&x", "*x", "<<:", "!!", "---", "\t", "{", "}", "[",
                                           "]", ",", "\n", "  ", "'", '"', "#", "?", ":", "1", "on", "~", "%"]),
                          max_size=60).map("".join)))
def test_any_input_loads_or_raises_a_spec_error_with_positions(raw):
    try:
        doc = parse_yaml(raw, PATH)
    except SpecError as error:
        assert error.diagnostics
        for diagnostic in error.diagnostics:
            assert diagnostic.path == PATH and diagnostic.line >= 1 and diagnostic.col >= 1
            assert diagnostic.message
        return
    assert () in doc.marks  # a document that loads has a position for its root
