"""Live re-scoring: every interval, score the latest window of each configured series owned by this replica
and export the last point's score and band as gauges for PrometheusRules (`aiops_anomaly_score > 1`).

Replicas split the series by rendezvous hash; inside one pod only the worker holding the
`<state_dir>/scheduler.lock` file lock runs the loop, so several workers do not score twice.
"""
from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import time
from pathlib import Path

from runtime.aiops.registry import ModelNotFound, ModelRejected
from runtime.aiops.sharding import ReplicaIdentity
from runtime.config import LiveSeries, SchedulerSettings
from runtime.web.errors import InputError, UpstreamError

log = logging.getLogger("runtime.aiops.scheduler")


class WorkerLock:
    """Non-blocking exclusive flock; released by the kernel if the worker dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class LiveScorer:
    def __init__(self, settings: SchedulerSettings, service, replica: ReplicaIdentity, gauges: dict,
                 lock: WorkerLock) -> None:
        self.settings = settings
        self.service = service
        self.replica = replica
        self.gauges = gauges
        self.lock = lock
        self._labels: dict[str, tuple[str, str, str]] = {}
        self.last_run: dict = {"at": None, "scored": 0, "errors": {}}

    def owned(self) -> list[LiveSeries]:
        return [item for item in self.settings.series if self.replica.owns(f"{item.service}/{item.metric}")]

    async def run_once(self, now: float | None = None) -> dict:
        """Score every owned series once; returns {"scored": n, "errors": {metric: message}}."""
        now = time.time() if now is None else now
        errors, scored = {}, 0
        for item in self.owned():
            try:
                await self._score_one(item, now)
                scored += 1
            except (InputError, UpstreamError, ModelNotFound, ModelRejected, ValueError) as exc:
                errors[item.metric] = getattr(exc, "message", None) or str(exc)
                log.warning("live scoring failed", extra={"metric": item.metric, "error": errors[item.metric]})
        self.last_run = {"at": now, "scored": scored, "errors": errors}
        return self.last_run

    async def _score_one(self, item: LiveSeries, now: float) -> None:
        step = self.settings.step_seconds
        path = f"scheduler.series.{item.metric}"
        try:
            self.service.registry.find(item.metric, None)
        except ModelNotFound:
            if not self.settings.auto_train:
                raise
            history = await self.service.prometheus.range_series(
                item.query, now - self.settings.train_lookback_seconds, now, step, path)
            await asyncio.to_thread(self.service.train, {item.metric: history}, self.settings.detector,
                                    item.service, "scheduler")
        window = await self.service.prometheus.range_series(
            item.query, now - self.settings.lookback_seconds, now, step, path)
        version, result, _ = await asyncio.to_thread(self.service.score, item.metric, window, None, path)
        labels = (item.metric, item.service, version)
        previous = self._labels.get(item.metric)
        if previous and previous != labels:
            for gauge in self.gauges.values():
                gauge.remove(*previous)
        self._labels[item.metric] = labels
        for name, values in (("score", result.score), ("expected", result.expected),
                             ("lower", result.lower), ("upper", result.upper)):
            self.gauges[name].labels(*labels).set(float(values[-1]))

    async def loop(self) -> None:
        while True:
            started = time.monotonic()
            if self.lock.try_acquire():
                try:
                    await self.run_once()
                except Exception:
                    log.exception("live scoring round failed")
            await asyncio.sleep(max(0.0, self.settings.interval_seconds - (time.monotonic() - started)))
