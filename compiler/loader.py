"""Safe YAML loading that remembers where every value came from.

PyYAML's C composer builds the node tree (with marks); this module turns nodes into plain Python values
itself so it can refuse what a spec must never contain — duplicate keys, merge keys, non-string keys,
alias expansion beyond a small budget, unknown tags — and so every value keeps its `line:col`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from .errors import Diagnostic, SpecError

try:
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - the C extension ships with PyYAML wheels
    _Loader = yaml.SafeLoader

MAX_FILE_BYTES = 1 << 20
MAX_EXPANDED_NODES = 50_000
MAX_DEPTH = 64

Loc = tuple[str | int, ...]


class Mark(NamedTuple):
    """Where a value sits in its file (a tuple: one is made for every value of every spec, cheaply)."""

    path: str
    line: int
    col: int


@dataclass
class LoadedDoc:
    """A parsed YAML document plus the position of every value (`marks`) and mapping key (`key_marks`)."""

    path: str
    data: Any
    marks: dict[Loc, Mark] = field(default_factory=dict)
    key_marks: dict[Loc, Mark] = field(default_factory=dict)

    def mark(self, loc: Loc, *, key: bool = False) -> Mark:
        """The mark of `loc`, or of its nearest ancestor that has one (a missing field points at its parent)."""
        loc = tuple(loc)
        while True:
            if key and loc in self.key_marks:
                return self.key_marks[loc]
            if loc in self.marks:
                return self.marks[loc]
            if not loc:
                return Mark(self.path, 1, 1)
            loc = loc[:-1]

    def diagnostic(self, loc: Loc, message: str, *, key: bool = False, severity: str = "error") -> Diagnostic:
        m = self.mark(loc, key=key)
        return Diagnostic(m.path, m.line, m.col, message, severity)


def _mark(path: str, node: Node) -> Mark:
    return Mark(path, node.start_mark.line + 1, node.start_mark.column + 1)


_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_SCALAR_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null")}
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_STR_TAG = "tag:yaml.org,2002:str"
_KIND_NAMES = {bool: "a boolean", int: "a number", float: "a number", type(None): "null"}


def _tag_problem(tag: str) -> str:
    short = tag.replace("tag:yaml.org,2002:", "!!")
    return (f"the tag '{short}' is not allowed in a spec; remove it (a spec holds only mappings, lists, "
            "strings, numbers and booleans)")


class _Converter:
    def __init__(self, path: str):
        self.path = path
        self.constructor = yaml.constructor.SafeConstructor()
        self.marks: dict[Loc, Mark] = {}
        self.key_marks: dict[Loc, Mark] = {}
        self.problems: list[Diagnostic] = []
        self.expanded = 0
        self.open_nodes: set[int] = set()  # the collections being converted: an alias back into one is a cycle

    def problem(self, node: Node, message: str) -> None:
        m = _mark(self.path, node)
        self.problems.append(Diagnostic(m.path, m.line, m.col, message))

    def convert(self, node: Node, loc: Loc, depth: int = 0) -> Any:
        self.expanded += 1
        if self.expanded > MAX_EXPANDED_NODES:
            raise _Abort(node, f"the document expands to more than {MAX_EXPANDED_NODES} values "
                               "(an alias bomb?); write the values out instead of aliasing them")
        if depth > MAX_DEPTH:
            raise _Abort(node, f"nesting deeper than {MAX_DEPTH} levels; flatten the structure")
        self.marks[loc] = _mark(self.path, node)
        if isinstance(node, ScalarNode):
            return self._scalar(node)
        if id(node) in self.open_nodes:
            self.problem(node, "this alias refers to a value that contains it (a cycle); write the values out")
            return None
        expected = _MAP_TAG if isinstance(node, MappingNode) else _SEQ_TAG
        if node.tag != expected:
            self.problem(node, _tag_problem(node.tag))
            return None
        self.open_nodes.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self._mapping(node, loc, depth)
            return [self.convert(item, loc + (i,), depth + 1) for i, item in enumerate(node.value)]
        finally:
            self.open_nodes.discard(id(node))

    def _scalar(self, node: ScalarNode) -> Any:
        """Plain values only; a date stays the text it was written as (YAML 1.2 has no timestamps)."""
        if node.tag == _STR_TAG or node.tag == _TIMESTAMP_TAG:
            return node.value
        if node.tag not in _SCALAR_TAGS:
            self.problem(node, _tag_problem(node.tag))
            return None
        try:
            return self.constructor.construct_object(node, deep=True)
        except (yaml.constructor.ConstructorError, ValueError) as exc:
            detail = getattr(exc, "problem", None) or str(exc)
            self.problem(node, f"cannot read this value ({detail}); use a plain string, number or boolean")
            return None

    def _mapping(self, node: MappingNode, loc: Loc, depth: int) -> dict:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.problem(key_node, "merge keys (<<) are not supported; write the keys out")
                continue
            if not isinstance(key_node, ScalarNode):
                self.problem(key_node, "a mapping key must be a plain string, not a list or mapping")
                continue
            key = self._scalar(key_node)
            if key is None and key_node.tag not in _SCALAR_TAGS:
                continue
            if not isinstance(key, str):
                kind = _KIND_NAMES.get(type(key), f"a {type(key).__name__}")
                self.problem(key_node, f"the key {key_node.value!r} is read as {kind}, not a string; "
                                       f"quote it: \"{key_node.value}\"")
                continue
            if key in result:
                first = self.key_marks[loc + (key,)]
                self.problem(key_node, f"duplicate key '{key}' (first defined at line {first.line}); "
                                       "remove one of them")
                continue
            self.key_marks[loc + (key,)] = _mark(self.path, key_node)
            result[key] = self.convert(value_node, loc + (key,), depth + 1)
        return result


class _Abort(Exception):
    def __init__(self, node: Node, message: str):
        self.node = node
        self.message = message


def _decode(raw: bytes, path: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = len(before[before.rfind(b"\n") + 1:].decode("utf-8", errors="replace")) + 1  # in characters
        raise SpecError([Diagnostic(path, line, col,
                                    f"the file is not valid UTF-8 (byte 0x{raw[exc.start]:02x}); "
                                    "save it as UTF-8")]) from None


def _syntax_problem(exc: yaml.MarkedYAMLError, text: str, line: int, col: int) -> str:
    """PyYAML's description of a syntax error, with the fix for the mistakes people actually make."""
    problem = exc.problem or ""
    lines = text.splitlines()
    char = lines[line - 1][col - 1] if line <= len(lines) and col <= len(lines[line - 1]) else ""
    if "tab" in problem or ("cannot start any token" in problem and char == "\t"):
        return "a tab character; YAML must be indented with spaces"
    if "cannot start any token" in problem and char:
        return f"a plain value cannot start with {char!r}; put the value in quotes"
    if "expected a single document" in (exc.context or ""):
        return "a second document (after '---'); a spec file holds exactly one document"
    opened = {"flow sequence": "a [ list", "flow mapping": "a { mapping"}
    for context, what in opened.items():
        if context in (exc.context or "") and exc.context_mark is not None:
            close = "]" if "list" in what else "}"
            return (f"{what} opened at line {exc.context_mark.line + 1}, column {exc.context_mark.column + 1} "
                    f"is not closed; add '{close}' (or a missing ',')")
    if "undefined alias" in problem:
        return "an alias (*name) with no matching anchor (&name) before it"
    return " ".join(part for part in (exc.context, exc.problem) if part)


def parse_yaml(text_or_bytes: str | bytes, path: str) -> LoadedDoc:
    """Parse one YAML document; raise SpecError listing every problem found in it."""
    raw = text_or_bytes.encode() if isinstance(text_or_bytes, str) else text_or_bytes
    if len(raw) > MAX_FILE_BYTES:
        raise SpecError([Diagnostic(path, 1, 1, f"the file is larger than {MAX_FILE_BYTES} bytes; "
                                                "a spec this large is a mistake")])
    text = _decode(raw, path)
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise SpecError([Diagnostic(path, line, col, f"invalid YAML: {_syntax_problem(exc, text, line, col)}")]) from None
    except yaml.YAMLError as exc:
        raise SpecError([Diagnostic(path, 1, 1, f"invalid YAML: {exc}")]) from None
    if root is None or (isinstance(root, ScalarNode) and root.tag.endswith(":null") and not root.value):
        raise SpecError([Diagnostic(path, 1, 1, "the file is empty; a spec needs apiVersion, kind, "
                                                "metadata and spec (see `platformc init`)")])
    converter = _Converter(path)
    try:
        data = converter.convert(root, ())
    except _Abort as abort:
        converter.problem(abort.node, abort.message)
        data = None
    if converter.problems:
        raise SpecError(converter.problems)
    return LoadedDoc(path, data, converter.marks, converter.key_marks)


def load_yaml(file: Path, display_path: str) -> LoadedDoc:
    """Read and parse a spec file; `display_path` is how diagnostics name it."""
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise SpecError([Diagnostic(display_path, 1, 1, f"cannot read the file: {exc.strerror}")]) from None
    return parse_yaml(raw, display_path)
