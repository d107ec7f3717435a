"""Fast parsing of inline series bodies (`{"series": {name: [[ts, value], ...]}, ...}`).

Validating tens of thousands of `[ts, value]` pairs one by one through pydantic costs tens of
milliseconds; numpy converts a well-formed list in a fraction of that. Well-formed bodies take this path
and only their small remainder goes through the pydantic model; anything unusual falls back to full
pydantic validation, which produces the exact field paths for the 422 answer.

Decoding such a body allocates tens of thousands of lists at once, which would trigger several
garbage collections in the middle of the request, each walking every container object of the process
(tens of milliseconds on a loaded model heap: the tail of the /detect latency). Those lists hold only
numbers and are freed by reference counting, so the collector is paused while they are decoded and
converted, and resumes afterwards.
"""
from __future__ import annotations

import gc
from contextlib import contextmanager
from itertools import chain

import numpy as np
import orjson
from fastapi import Request
from pydantic import BaseModel, ValidationError

from runtime.aiops import kernels
from runtime.web.body import as_request_error


def _arrays(series: dict) -> dict[str, np.ndarray] | None:
    """{metric: (n, 2) float array} when every series is a non-empty list of [ts, value] pairs of
    finite numbers, else None."""
    arrays = {}
    for name, points in series.items():
        if not isinstance(points, list) or not points:
            return None
        array = _pairs_array(points)
        if array is None:
            return None
        arrays[name] = array
    return arrays


def _pairs_array(points: list) -> np.ndarray | None:
    """The compiled kernel checks and converts the pairs in one pass; numpy checks their shape first
    and converts them as one flat run of numbers, faster than discovering the shape of nested lists."""
    if kernels.compiled is not None:
        array = np.empty((len(points), 2))
        return array if kernels.compiled.float_pairs(points, array) else None
    if set(map(type, points)) != {list} or set(map(len, points)) != {2} \
            or not set(map(type, chain.from_iterable(points))) <= {int, float}:
        return None
    try:
        array = np.fromiter(chain.from_iterable(points), dtype=float, count=2 * len(points)).reshape(-1, 2)
    except OverflowError:
        return None
    return array if np.isfinite(array).all() else None


@contextmanager
def _collector_paused():
    """Synchronous sections only: another coroutine must not run (and allocate) while paused."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _decode(raw: bytes) -> tuple[dict | None, dict[str, np.ndarray] | None]:
    """(the decoded body with its series left out, inline series as arrays) when the fast path applies."""
    with _collector_paused():
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None, None
        if not (isinstance(data, dict) and isinstance(data.get("series"), dict) and data["series"]):
            return None, None
        arrays = _arrays(data["series"])
        if arrays is None:
            return None, None
        data["series"] = {name: [] for name in arrays}
        return data, arrays


async def parse_series_body(request: Request, model: type[BaseModel]) -> tuple[BaseModel, dict | None]:
    """(validated request without its points, {metric: (n, 2) array}) or (fully validated request, None)."""
    raw = await request.body()
    data, arrays = _decode(raw)
    if arrays is not None:
        try:
            return model.model_validate(data), arrays
        except ValidationError as exc:
            raise as_request_error(exc) from None
    try:
        return model.model_validate_json(raw), None
    except ValidationError as exc:
        raise as_request_error(exc) from None
