"""Serialising output files to bytes: stable key order, no timestamps, a header naming the source."""
from __future__ import annotations

import json
import re

import yaml

from . import conventions as names
from .output import OutputFile, Tree

try:
    _BaseDumper = yaml.CSafeDumper
except AttributeError:  # pragma: no cover - the C extension ships with PyYAML wheels
    _BaseDumper = yaml.SafeDumper


# Strings PyYAML (YAML 1.1) leaves unquoted but the Go YAML readers of kubectl, kustomize and Flux read as
# numbers or booleans: 1e3 and 0o17 become numbers, y and n booleans (an env value 1e3 reaches the API as 1000).
_READ_AS_ANOTHER_TYPE = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|0o[0-7]+|0x[0-9a-fA-F]+|0b[01]+|[yYnN])$")


class _Dumper(_BaseDumper):
    """Never emits anchors and aliases: Kubernetes tooling reads them poorly, and reviewers cannot."""

    def ignore_aliases(self, data) -> bool:
        return True


_FIRST_CHARS = frozenset("+-.0123456789yYnN")


def _represent_str(dumper: _Dumper, value: str) -> yaml.Node:
    if value[:1] in _FIRST_CHARS and _READ_AS_ANOTHER_TYPE.match(value):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="'")
    return dumper.represent_str(value)


_Dumper.add_representer(str, _represent_str)


def render_file(file: OutputFile) -> bytes:
    if file.format == "json":
        return (json.dumps(file.doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    body = yaml.dump(file.doc, Dumper=_Dumper, sort_keys=True, default_flow_style=False,
                     allow_unicode=True, width=120)
    return (names.GENERATED_HEADER.format(source=file.source) + body).encode()


def owned_listing(paths) -> bytes:
    """The content of `.platformc-owned`: every path the compiler owns, itself included."""
    listed = sorted(set(paths) | {names.OWNED_FILES_LIST})
    return ("# Files platformc owns in this folder; any other file is left alone.\n"
            + "".join(f"{p}\n" for p in listed)).encode()


def render_tree(tree: Tree) -> dict[str, bytes]:
    rendered = {path: render_file(file) for path, file in tree.items()}
    rendered[names.OWNED_FILES_LIST] = owned_listing(rendered)
    return rendered
