"""Deep merge of YAML documents that keeps every value's original position."""
from __future__ import annotations

from typing import Any

from .loader import LoadedDoc, Loc


def subdoc(doc: LoadedDoc, loc: Loc) -> LoadedDoc:
    """The part of `doc` at `loc`, with its marks rebased so that `loc` becomes the root."""
    data: Any = doc.data
    for part in loc:
        data = data[part]
    n = len(loc)
    marks = {k[n:]: m for k, m in doc.marks.items() if k[:n] == loc}
    key_marks = {k[n:]: m for k, m in doc.key_marks.items() if k[:n] == loc and len(k) > n}
    return LoadedDoc(doc.path, data, marks, key_marks)


def without(doc: LoadedDoc, key: str) -> LoadedDoc:
    """`doc` (a mapping) without one top-level key."""
    data = {k: v for k, v in doc.data.items() if k != key}
    marks = {k: m for k, m in doc.marks.items() if not (k and k[0] == key)}
    key_marks = {k: m for k, m in doc.key_marks.items() if k[0] != key}
    return LoadedDoc(doc.path, data, marks, key_marks)


def deep_merge(base: LoadedDoc, over: LoadedDoc) -> LoadedDoc:
    """`over` merged onto `base`: mappings merge key by key, anything else replaces, and null removes a key."""
    marks = dict(base.marks)
    key_marks = dict(base.key_marks)

    def drop(loc: Loc) -> None:
        n = len(loc)
        for table in (marks, key_marks):
            for k in [k for k in table if k[:n] == loc]:
                del table[k]

    def take(loc: Loc) -> None:
        n = len(loc)
        marks.update({k: m for k, m in over.marks.items() if k[:n] == loc})
        key_marks.update({k: m for k, m in over.key_marks.items() if k[:n] == loc})

    def merge(a: Any, b: Any, loc: Loc) -> Any:
        if not (isinstance(a, dict) and isinstance(b, dict)):
            drop(loc)
            take(loc)
            return b
        result = dict(a)
        for key, value in b.items():
            here = loc + (key,)
            if value is None:
                result.pop(key, None)
                drop(here)
                take(here)  # a required key removed here is reported at the null that removed it
            elif key in result:
                result[key] = merge(result[key], value, here)
            else:
                result[key] = value
                take(here)
        return result

    data = merge(base.data, over.data, ())
    marks[()] = base.marks.get((), over.marks.get(()))
    return LoadedDoc(base.path, data, marks, key_marks)
