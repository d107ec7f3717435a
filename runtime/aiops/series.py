"""Time series input: inline `[[ts, value], ...]` lists and Prometheus range queries, as numpy arrays."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import httpx
import numpy as np

from runtime.web.errors import InputError, UpstreamError

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)?$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}


def parse_step(step: str | float, path: str = "body.step") -> float:
    """'30s', '5m', '1h' or a number of seconds, as seconds."""
    if isinstance(step, (int, float)):
        seconds = float(step)
    else:
        match = _DURATION.match(step.strip())
        if not match:
            raise InputError(path, f"invalid duration {step!r}; use e.g. 30s, 5m, 1h or seconds")
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if not math.isfinite(seconds) or seconds <= 0:
        raise InputError(path, "step must be positive")
    return seconds


@dataclass(frozen=True)
class Series:
    ts: np.ndarray
    values: np.ndarray


def series_from_points(points, path: str) -> Series:
    """Sorted by time, duplicate timestamps dropped (last wins); non-finite values refused."""
    if len(points) == 0:
        raise InputError(path, "series is empty")
    array = points if isinstance(points, np.ndarray) else np.asarray(points, dtype=float)
    if array.ndim != 2 or array.shape[1] != 2:
        raise InputError(path, "each point must be [unix_ts, value]")
    if not np.isfinite(array).all():
        raise InputError(path, "timestamps and values must be finite numbers")
    ts, values = array[:, 0], array[:, 1]
    if np.any(np.diff(ts) <= 0):
        order = np.argsort(ts, kind="stable")
        ts, values = ts[order], values[order]
        keep = np.append(np.diff(ts) > 0, True)
        ts, values = ts[keep], values[keep]
    return Series(ts=ts, values=values)


class PrometheusClient:
    """Just the HTTP API calls the runtime needs: range and instant queries."""

    def __init__(self, base_url: str, timeout_seconds: float, max_points: int,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.max_points = max_points
        self._client = httpx.AsyncClient(base_url=self.base_url, timeout=timeout_seconds, transport=transport)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _get(self, path: str, params: dict) -> dict:
        try:
            response = await self._client.get(path, params=params)
        except httpx.HTTPError as exc:
            raise UpstreamError(f"Prometheus at {self.base_url} unreachable: {exc.__class__.__name__}: {exc}") from None
        try:
            payload = response.json()
        except ValueError:
            raise UpstreamError(f"Prometheus answered {response.status_code} with a non-JSON body") from None
        if payload.get("status") != "success":
            error = payload.get("error", "unknown error")
            if response.status_code in (400, 422):
                raise InputError(params.get("_path", "body.queries"), f"Prometheus rejected the query: {error}")
            raise UpstreamError(f"Prometheus query failed ({response.status_code}): {error}")
        return payload["data"]

    async def range_matrix(self, query: str, start: float, end: float, step: float) -> list[dict]:
        """All series of a range query: [{"metric": {...labels}, "ts": array, "values": array}]."""
        if end <= start:
            raise InputError("body.end", "end must be after start")
        if (end - start) / step + 1 > self.max_points:
            raise InputError("body.step", f"range/step gives more than {self.max_points} points; raise the step")
        data = await self._get("/api/v1/query_range", {"query": query, "start": f"{start:.3f}",
                                                       "end": f"{end:.3f}", "step": f"{step:g}"})
        if data.get("resultType") != "matrix":
            raise InputError("body.queries", f"query {query!r} did not return a range vector")
        out = []
        for item in data["result"]:
            pairs = np.asarray(item["values"], dtype=float) if item["values"] else np.empty((0, 2))
            finite = np.isfinite(pairs[:, 1]) if len(pairs) else np.zeros(0, dtype=bool)
            out.append({"metric": item.get("metric", {}), "ts": pairs[finite, 0], "values": pairs[finite, 1]})
        return out

    async def range_series(self, query: str, start: float, end: float, step: float, path: str) -> Series:
        """Exactly one series is expected; several mean the query needs aggregating."""
        matrix = await self.range_matrix(query, start, end, step)
        if len(matrix) != 1:
            raise InputError(path, f"query returned {len(matrix)} series; it must return exactly one "
                                   "(aggregate it, e.g. sum by () (...))")
        only = matrix[0]
        if len(only["ts"]) == 0:
            raise InputError(path, "query returned no finite samples in the range")
        return Series(ts=only["ts"], values=only["values"])

    async def instant_value(self, query: str) -> float | None:
        data = await self._get("/api/v1/query", {"query": query})
        result = data.get("result", [])
        if data.get("resultType") == "scalar":
            return float(result[1])
        if not result:
            return None
        return float(result[0]["value"][1])
