"""Training and detection over named series, shared by the HTTP endpoints, the scheduler and RCA."""
from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

from runtime.aiops.registry import ModelNotFound, ModelRegistry, ModelRejected
from runtime.aiops.series import PrometheusClient, Series, parse_step, series_from_points
from runtime.aiops.workers import ScoringProcesses, score_and_encode, score_with_intervals
from runtime.config import AiopsSettings
from runtime.cpus import usable_cpus
from runtime.web.errors import InputError


def detector_kinds() -> tuple[str, ...]:
    from runtime.aiops.detectors import DETECTOR_KINDS
    return tuple(DETECTOR_KINDS)


class AiopsService:
    def __init__(self, settings: AiopsSettings, registry: ModelRegistry, prometheus: PrometheusClient) -> None:
        self.settings = settings
        self.registry = registry
        self.prometheus = prometheus
        cores = usable_cpus()
        self._scoring_pool = ThreadPoolExecutor(max_workers=cores, thread_name_prefix="aiops-score")
        self.scoring_processes = ScoringProcesses(registry, cores)

    def close(self) -> None:
        """Stop the scoring threads and processes (at shutdown)."""
        self._scoring_pool.shutdown(wait=False, cancel_futures=True)
        self.scoring_processes.close()

    async def collect(self, request, arrays: dict | None = None) -> dict[str, Series]:
        """The request's series, inline or fetched from Prometheus, checked against the size limits.
        `arrays` holds inline points already parsed to numpy by the fast path."""
        names = request.series if request.series is not None else request.queries
        if len(names) > self.settings.max_metrics_per_request:
            raise InputError("body", f"at most {self.settings.max_metrics_per_request} metrics per request")
        out: dict[str, Series] = {}
        if request.series is not None:
            for name, points in (arrays or request.series).items():
                if len(points) > self.settings.max_points_per_metric:
                    raise InputError(f"body.series.{name}",
                                     f"at most {self.settings.max_points_per_metric} points per metric")
                out[name] = series_from_points(points, f"body.series.{name}")
            return out
        step = parse_step(request.step)
        fetched = await asyncio.gather(*(
            self.prometheus.range_series(query, request.start, request.end, step, f"body.queries.{name}")
            for name, query in request.queries.items()))
        return dict(zip(request.queries.keys(), fetched))

    def train(self, series: dict[str, Series], kind: str, service: str | None,
              source: str) -> tuple[str, dict[str, dict]]:
        from runtime.aiops.detectors import train_metric

        if kind not in detector_kinds():
            raise InputError("body.detector", f"unknown detector {kind!r}; choose one of {list(detector_kinds())}")
        models = {}
        for name, data in series.items():
            try:
                model = train_metric(data.ts, data.values, kind=kind)
            except ValueError as exc:
                raise InputError(f"body.series.{name}", f"cannot train on this series: {exc}") from None
            models[name] = (model, {"service": service, "source": source, "trained_at": round(time.time(), 3),
                                    "start": float(data.ts[0]), "end": float(data.ts[-1])})
        try:
            version = self.registry.save(models)
        except ModelRejected as exc:
            raise InputError("body", str(exc)) from None
        trained = {name: {"kind": model.kind, "n_points": int(model.n_points),
                          "validation_score": float(model.validation_score)} for name, (model, _) in models.items()}
        return version, trained

    def model_for(self, metric: str, version: str | None, path: str):
        try:
            entry = self.registry.find(metric, version)
        except ModelNotFound as exc:
            raise InputError(path, str(exc), status_code=404) from None
        except ModelRejected as exc:
            raise InputError(path, str(exc), status_code=409) from None
        try:
            return entry.version, self.registry.load(entry)
        except ModelRejected as exc:
            raise InputError(path, str(exc), status_code=409) from None

    def score(self, metric: str, data: Series, version: str | None, path: str):
        """(version, ScoreResult, intervals) for one series."""
        used_version, model = self.model_for(metric, version, path)
        return (used_version, *score_with_intervals(model, data))

    def detect(self, series: dict[str, Series], version: str | None) -> bytes:
        """The `/detect` answer as JSON bytes (see runtime.aiops.encoding).

        Models are looked up first, in request order, so a missing one fails before any work is done.
        Large requests are then scored and encoded by this thread and worker processes together
        (runtime.aiops.workers); the others, and all of them until the workers have started, on a pool
        of one thread per core (the forest walk releases the GIL), and this thread joins the fragments
        in order.
        """
        from runtime.aiops.encoding import detect_json

        models = {name: self.model_for(name, version, f"body.series.{name}") for name in series}

        def score_here(name: str) -> tuple[list[dict], bytes]:
            return score_and_encode(models[name][1], series[name])

        try:
            encoded = self.scoring_processes.score(series, {name: used for name, (used, _) in models.items()},
                                                   score_here)
        except (ModelNotFound, ModelRejected) as exc:
            raise InputError("body.series", str(exc), status_code=409) from None
        if encoded is None:
            encoded = self._scoring_pool.map(score_here, series)
        results = {name: {"model_version": models[name][0], "anomalies": anomalies, "points": points}
                   for name, (anomalies, points) in zip(series, encoded)}
        return detect_json(max(r["model_version"] for r in results.values()), results)
