"""Serialising output files to bytes: stable key order, no timestamps, a header naming the source."""
from __future__ import annotations

import json

import yaml

from . import conventions as names
from .output import OutputFile, Tree

try:
    _BaseDumper = yaml.CSafeDumper
except AttributeError:  # pragma: no cover - the C extension ships with PyYAML wheels
    _BaseDumper = yaml.SafeDumper


class _Dumper(_BaseDumper):
    """Never emits anchors and aliases: Kubernetes tooling reads them poorly, and reviewers cannot."""

    def ignore_aliases(self, data) -> bool:
        return True


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
