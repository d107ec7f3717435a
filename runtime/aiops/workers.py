"""Large `/detect` requests scored and encoded in worker processes, outside the server's GIL.

Scoring is numpy work split into many small calls and the answer's encoding is orjson and bytes
work; in one process both hold the GIL most of the time, so two threads on two cores run little
faster than one. The metrics are split into contiguous shares of about equal size, one per core:
the request's own thread scores the first share while worker processes (one per other core) score and
encode the others and send back finished JSON fragments; the server process then joins and sends.

Each worker opens the same on-disk registry (same size limit, SHA-256 and signature checks) and
keeps its own model cache. The pool starts on the first large request, in the background: until
its workers have started (a second or two) requests run on threads, and if processes cannot be
started or a worker dies, the service falls back to threads as well.
"""
from __future__ import annotations

import fcntl
import gc
import importlib
import logging
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np

from runtime.aiops.registry import ModelRegistry
from runtime.aiops.series import Series

log = logging.getLogger("runtime.aiops.workers")

MIN_POINTS = 5_000
"""Requests with fewer points in total are scored on threads: for them the hand-off costs more than
it saves."""

_PIPE_BYTES = 1 << 20

_worker_registry: ModelRegistry | None = None


def score_with_intervals(model, data: Series):
    """(ScoreResult, anomalous intervals) of one series under one model."""
    from runtime.aiops.detectors import merge_intervals

    result = model.score(data.ts, data.values)
    return result, merge_intervals(data.ts, np.asarray(result.score), threshold=1.0)


def score_and_encode(model, data: Series) -> tuple[list[dict], bytes]:
    """(anomalous intervals, the metric's `points` JSON) of one series under one model."""
    from runtime.aiops.encoding import points_json

    result, intervals = score_with_intervals(model, data)
    columns = [data.ts, data.values] + [finite(getattr(result, key)) for key in ("score", "expected", "lower",
                                                                                  "upper")]
    anomalies = [{"start": float(item["start"]), "end": float(item["end"]), "peak_score": float(item["peak_score"])}
                 for item in intervals]
    return anomalies, points_json(columns)


def finite(values) -> np.ndarray:
    """JSON has no NaN/inf: NaN becomes 0, infinities a large finite bound."""
    array = np.asarray(values, dtype=np.float64)
    if not np.isfinite(array).all():
        array = np.nan_to_num(array, nan=0.0, posinf=1e300, neginf=-1e300)
    return array


def _start_worker(root: str, max_model_bytes: int, signing_key: bytes | None) -> None:
    global _worker_registry
    for module in ("runtime.aiops.detectors", "runtime.aiops.encoding"):
        importlib.import_module(module)  # here, not inside the first request
    _worker_registry = ModelRegistry(Path(root), max_model_bytes, signing_key)
    gc.freeze()


def _worker_started() -> bool:
    return _worker_registry is not None


def _score_share(share: list[tuple[str, str, np.ndarray, np.ndarray]]) -> list[tuple[list[dict], bytes]]:
    """(intervals, points JSON) per metric of a share: (metric, registry version, ts, values)."""
    out = []
    for metric, version, ts, values in share:
        model = _worker_registry.load(_worker_registry.find(metric, version))
        out.append(score_and_encode(model, Series(ts=ts, values=values)))
    return out


class ScoringProcesses:
    """A lazily started process pool; `score` returns None whenever the caller should use threads."""

    def __init__(self, registry: ModelRegistry, cores: int) -> None:
        self._start_args = (str(registry.root), registry.max_model_bytes, registry.signing_key)
        self._processes = cores - 1
        self._pool: ProcessPoolExecutor | None = None
        self._started: list[Future] = []
        self._off = self._processes < 1
        self._lock = threading.Lock()

    def _running_pool(self) -> ProcessPoolExecutor | None:
        """The pool once its workers run, else None; the first call starts them."""
        with self._lock:
            if self._off:
                return None
            if self._pool is None:
                try:
                    self._pool = ProcessPoolExecutor(self._processes, mp_context=multiprocessing.get_context("spawn"),
                                                     initializer=_start_worker, initargs=self._start_args)
                    _widen_pipes(self._pool)
                    self._started = [self._pool.submit(_worker_started) for _ in range(self._processes)]
                except OSError as exc:
                    log.warning("scoring processes unavailable, scoring on threads: %s", exc)
                    self._pool, self._off = None, True
                    return None
            if not all(future.done() for future in self._started):
                return None
            failure = next((future.exception() for future in self._started if future.exception()), None)
            if failure is not None:
                log.warning("scoring processes failed to start, scoring on threads: %s", failure)
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool, self._off = None, True
                return None
            return self._pool

    def ready(self) -> bool:
        """True when the workers run; the first call starts them."""
        return self._running_pool() is not None

    def state(self) -> str:
        """For /readyz: "not started" (no large request yet), "starting", "running" or "off"."""
        with self._lock:
            if self._off:
                return "off"
            if self._pool is None:
                return "not started"
            return "running" if all(future.done() for future in self._started) else "starting"

    def score(self, series: dict[str, Series], versions: dict[str, str],
              score_here: Callable[[str], tuple[list[dict], bytes]]) -> list[tuple[list[dict], bytes]] | None:
        """(intervals, points JSON) per metric in request order, or None (too small, not started, failed).
        `score_here(metric)` scores one metric of the first share in the calling thread."""
        sizes = [len(data.ts) for data in series.values()]
        if sum(sizes) < MIN_POINTS:
            return None
        pool = self._running_pool()
        if pool is None:
            return None
        first, *others = split_evenly(list(series), sizes, self._processes + 1)
        try:
            futures = [pool.submit(_score_share, [(name, versions[name], series[name].ts, series[name].values)
                                                  for name in share]) for share in others]
        except (BrokenProcessPool, RuntimeError) as exc:
            return self._discard(pool, exc)
        here = [score_here(name) for name in first]
        try:
            return here + [item for future in futures for item in future.result()]
        except (BrokenProcessPool, RuntimeError) as exc:
            return self._discard(pool, exc)

    def _discard(self, pool: ProcessPoolExecutor, exc: Exception) -> None:
        """Drop a pool that failed a request (broken, or shut down meanwhile by the service closing or by
        another request that found it broken); the next large request starts a new one."""
        log.warning("scoring processes unusable, this request is scored on threads: %s", exc)
        with self._lock:
            if self._pool is pool:
                self._pool, self._started = None, []
        pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the workers for good (at shutdown)."""
        with self._lock:
            pool, self._pool, self._started, self._off = self._pool, None, [], True
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


def _widen_pipes(pool: ProcessPoolExecutor) -> None:
    """Let a share's arrays and most of its answer (0.3 and 1.2 MB for 20,000 points) fit in the pipes
    between the server and its workers. With Linux's default 64 KiB a message crosses in 64 KiB steps,
    each waiting for the other process to be scheduled, which costs milliseconds per request on a
    busy machine. Best effort: the pipes are private attributes of ProcessPoolExecutor, and without
    them (or above /proc/sys/fs/pipe-max-size) the default stays."""
    for queue in (getattr(pool, "_call_queue", None), getattr(pool, "_result_queue", None)):
        reader = getattr(queue, "_reader", None)
        if reader is None or not hasattr(fcntl, "F_SETPIPE_SZ"):
            continue
        try:
            fcntl.fcntl(reader.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
        except OSError as exc:
            log.info("scoring pipes keep their default size: %s", exc)


def split_evenly(names: list[str], sizes: list[int], parts: int) -> list[list[str]]:
    """Consecutive runs of names with about equal total size, at most `parts` of them, none empty."""
    total = sum(sizes)
    shares: list[list[str]] = [[]]
    done = 0
    for name, size in zip(names, sizes):
        if shares[-1] and len(shares) < parts and done >= total * len(shares) / parts:
            shares.append([])
        shares[-1].append(name)
        done += size
    return shares
