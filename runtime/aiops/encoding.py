"""JSON encoding of `/detect` answers without building one dict per point.

A 20-metric x 1,000-point answer has 20,000 point objects; creating them as Python dicts and serialising
those costs far more than the scoring. Here each column is serialised once by orjson (numpy arrays are
formatted in C) and the compiled kernel (runtime.aiops.kernels) interleaves the columns' numbers with the
constant key fragments in one pass; without it they are split into their numbers and interleaved by
slice assignment, the same bytes several times slower. Either way no Python code runs per point.

`ts` and `value` keep full float64 precision; the derived `score`, `expected`, `lower` and `upper` are
written with float32 precision (7 significant digits), which is all a score or band carries and makes
the answer about a third smaller (a column with a number beyond float32's range keeps float64).
"""
from __future__ import annotations

import numpy as np
import orjson

from runtime.aiops import kernels

POINT_KEYS = ("ts", "value", "score", "expected", "lower", "upper")
_FRAGMENTS = (b'{"ts":',) + tuple(f',"{key}":'.encode() for key in POINT_KEYS[1:])
_ROW_END = b"}"


def _array_text(column: np.ndarray, dtype) -> bytes:
    return orjson.dumps(np.ascontiguousarray(column, dtype=dtype), option=orjson.OPT_SERIALIZE_NUMPY)


def _derived_text(column: np.ndarray) -> bytes:
    """float32 precision, unless a number lies beyond float32's range (it would be written as null)."""
    with np.errstate(over="ignore"):
        narrow = np.asarray(column, dtype=np.float64).astype(np.float32)
    return _array_text(column, np.float64) if not np.isfinite(narrow).all() else _array_text(narrow, np.float32)


def column_texts(columns: list[np.ndarray]) -> tuple[bytes, ...]:
    """Each column as a JSON array: `ts` and `value` in float64, the derived ones as `_derived_text`."""
    return (_array_text(columns[0], np.float64), _array_text(columns[1], np.float64),
            *map(_derived_text, columns[2:]))


def points_json(columns: list[np.ndarray]) -> bytes:
    """`[{"ts":..,"value":..,...}, ...]` for equally long finite float columns in POINT_KEYS order."""
    texts = column_texts(columns)
    if kernels.compiled is not None:
        return kernels.compiled.join_points(texts, _FRAGMENTS, _ROW_END)
    return _joined_by_slices(texts)


def _joined_by_slices(texts: tuple[bytes, ...]) -> bytes:
    """What the kernel's join_points returns, from Python's bytes operations."""
    columns = [text[1:-1].split(b",") if len(text) > 2 else [] for text in texts]
    count = len(columns[0])
    if count == 0:
        return b"[]"
    width = 2 * len(texts) + 1
    pieces: list[bytes | None] = [None] * (width * count + 2)
    for index, numbers in enumerate(columns):
        pieces[1 + 2 * index:-1:width] = [_FRAGMENTS[index]] * count
        pieces[2 + 2 * index:-1:width] = numbers
    pieces[width:-1:width] = [_ROW_END + b","] * count
    pieces[0], pieces[-2], pieces[-1] = b"[", _ROW_END, b"]"
    return b"".join(pieces)


def detect_json(model_version: str, results: dict[str, dict]) -> bytes:
    """The whole `/detect` answer; each result holds model_version, anomalies and its `points_json`."""
    out = [b'{"model_version":', orjson.dumps(model_version), b',"results":{']
    for position, (name, result) in enumerate(results.items()):
        out.append((b"," if position else b"") + orjson.dumps(name) + b':{"model_version":'
                   + orjson.dumps(result["model_version"]) + b',"anomalies":' + orjson.dumps(result["anomalies"])
                   + b',"points":')
        out.append(result["points"])
        out.append(b"}")
    out.append(b"}}")
    return b"".join(out)
