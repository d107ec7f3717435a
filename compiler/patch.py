"""RFC 6902 JSON patches between two manifests: what an overlay changes in its base."""
from __future__ import annotations

from typing import Any


def _pointer(loc: tuple) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in loc)


def json_patch(base: Any, target: Any) -> list[dict]:
    """Operations turning `base` into `target`: keys are diffed recursively, lists of the same length
    element by element, and lists of different lengths are replaced whole (readable, and never ambiguous)."""
    ops: list[dict] = []

    def walk(a: Any, b: Any, loc: tuple) -> None:
        if type(a) is type(b) and a == b:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in a:
                if key not in b:
                    ops.append({"op": "remove", "path": _pointer(loc + (key,))})
            for key, value in b.items():
                if key not in a:
                    ops.append({"op": "add", "path": _pointer(loc + (key,)), "value": value})
                else:
                    walk(a[key], value, loc + (key,))
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b)):
                walk(x, y, loc + (i,))
        elif a != b or type(a) is not type(b):
            ops.append({"op": "replace", "path": _pointer(loc), "value": b})

    walk(base, target, ())
    return ops
