"""AIOps role: `/train`, `/detect`, `/models`, `/rca`, `/alerts`, plus the live scoring scheduler."""
from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib.util
import logging
import os
from pathlib import Path

from fastapi import Depends, Request
from fastapi.responses import Response

from runtime.aiops import kernels
from runtime.aiops.fastpath import parse_series_body
from runtime.aiops.rca import RootCauseAnalyser
from runtime.aiops.registry import ModelRegistry
from runtime.aiops.remediation import AuditLog, KubernetesExecutor, RemediationEngine, load_policy
from runtime.aiops.scheduler import LiveScorer, WorkerLock
from runtime.aiops.schemas import (AlertmanagerWebhook, DetectRequest, DetectResponse, ModelsResponse, RcaRequest,
                                   RcaResponse, TrainRequest, TrainResponse)
from runtime.aiops.series import PrometheusClient
from runtime.aiops.service import AiopsService
from runtime.aiops.sharding import ReplicaIdentity
from runtime.config import RuntimeConfig
from runtime.web.base import create_base_app
from runtime.web.body import documented_body, parse_body, register_schemas
from runtime.web.errors import InputError, error_responses

log = logging.getLogger("runtime.aiops")

_DESCRIPTION = """Anomaly detection on metric series (one score scale for every detector: above 1 is anomalous),
a versioned model registry, root cause ranking and policy-driven remediation from Alertmanager webhooks.
Every POST needs `Authorization: Bearer <token>`."""


def create_aiops_app(config: RuntimeConfig, executor_factory=KubernetesExecutor, prometheus_transport=None):
    settings = config.aiops
    registry_root = settings.registry.path or (config.server.state_dir / "models")
    signing_key = os.environ.get(settings.registry.signing_key_env, "").encode() or None
    registry = ModelRegistry(Path(registry_root), settings.registry.max_model_bytes, signing_key)
    prometheus = PrometheusClient(settings.prometheus.url, settings.prometheus.timeout_seconds,
                                  settings.prometheus.max_points_per_query, transport=prometheus_transport)
    service = AiopsService(settings, registry, prometheus)
    replica = ReplicaIdentity.resolve(settings.sharding.ordinal, settings.sharding.count)
    policy = load_policy(settings.remediation.policy_file)
    audit_path = settings.remediation.audit_log or (config.server.state_dir / "audit.jsonl")
    analyser = RootCauseAnalyser(settings.rca, service, settings.default_detector)
    if kernels.compiled is None:
        log.warning("compiled /detect kernels not built (no C compiler at install): scoring runs on numpy, "
                    "several times slower")

    def readiness() -> dict:
        try:
            registry.ensure_writable()
            registry_check = {"ok": True, "path": str(registry.root), "versions": len(registry.versions())}
        except OSError as exc:
            registry_check = {"ok": False, "path": str(registry.root), "error": str(exc)}
        detectors_ok = importlib.util.find_spec("runtime.aiops.detectors") is not None
        return {"registry": registry_check,
                "detectors": {"ok": detectors_ok, "compiled_kernels": kernels.compiled is not None},
                "replica": {"ok": True, "ordinal": replica.ordinal, "count": replica.count},
                "scoring_processes": {"ok": True, "state": service.scoring_processes.state()},
                "scheduler": {"ok": True, "enabled": settings.scheduler.enabled,
                              "owned_series": len(scorer.owned()), "last_run": scorer.last_run},
                "remediation": {"ok": True, "dry_run": policy.dry_run, "rules": len(policy.rules),
                                "allowlist": len(policy.allowlist)}}

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        # Everything imported and built so far lives as long as the process: moved out of the
        # collector's generations, a full collection no longer walks it in the middle of a request.
        gc.freeze()
        task = None
        if settings.scheduler.enabled and settings.scheduler.series:
            task = asyncio.create_task(scorer.loop())
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            scorer.lock.release()
            service.close()
            await prometheus.aclose()

    ctx = create_base_app(config, "aiops", "platform runtime: AIOps", _DESCRIPTION, readiness, lifespan)
    app, metrics, auth = ctx.app, ctx.metrics, Depends(ctx.require_token)
    labels = ("metric", "service", "model_version")
    gauges = {"score": metrics.gauge("aiops_anomaly_score", "Latest anomaly score (above 1 is anomalous)", labels),
              "expected": metrics.gauge("aiops_expected_value", "Expected value of the latest point", labels),
              "lower": metrics.gauge("aiops_band_lower", "Lower edge of the normal band", labels),
              "upper": metrics.gauge("aiops_band_upper", "Upper edge of the normal band", labels)}
    decisions = metrics.counter("aiops_remediation_decisions_total", "Remediation decisions", ("action", "outcome"))
    scorer = LiveScorer(settings.scheduler, service, replica, gauges,
                        WorkerLock(config.server.state_dir / "scheduler.lock"))
    engine = RemediationEngine(policy, replica, AuditLog(audit_path), decisions, executor_factory=executor_factory,
                               budget_lookup=prometheus.instant_value)
    app.state.aiops = {"service": service, "scorer": scorer, "engine": engine, "registry": registry}

    register_schemas(app, [TrainRequest, DetectRequest, RcaRequest, AlertmanagerWebhook])

    @app.post("/train", response_model=TrainResponse, dependencies=[auth], tags=["aiops"],
              openapi_extra=documented_body(TrainRequest), responses=error_responses(401, 413, 422, 502),
              summary="train one detector per metric and store them as a new registry version")
    async def train(http_request: Request) -> dict:
        request, arrays = await parse_series_body(http_request, TrainRequest)
        series = await service.collect(request, arrays)
        source = "inline" if request.series is not None else "prometheus"
        version, trained = await asyncio.to_thread(service.train, series,
                                                   request.detector or settings.default_detector,
                                                   request.service, source)
        return {"model_version": version, "trained": trained}

    @app.post("/detect", response_model=None, dependencies=[auth], tags=["aiops"],
              responses={200: {"model": DetectResponse}, **error_responses(401, 404, 409, 413, 422, 502)},
              openapi_extra=documented_body(DetectRequest),
              summary="score series with stored models; anomalous points merged into intervals")
    async def detect(http_request: Request) -> Response:
        request, arrays = await parse_series_body(http_request, DetectRequest)
        series = await service.collect(request, arrays)
        body = await asyncio.to_thread(service.detect, series, request.model_version)
        return Response(content=body, media_type="application/json")

    @app.get("/models", response_model=ModelsResponse, tags=["aiops"], summary="registry versions, newest first")
    async def models() -> dict:
        return {"versions": await asyncio.to_thread(registry.listing)}

    @app.post("/rca", response_model=RcaResponse, dependencies=[auth], tags=["aiops"],
              responses=error_responses(401, 413, 422, 502), openapi_extra=documented_body(RcaRequest),
              summary="rank the metrics of a service and its dependencies as root-cause candidates")
    async def rca(http_request: Request) -> dict:
        request = await parse_body(http_request, RcaRequest)
        return await analyser.analyse(request.service, request.start, request.end, request.series)

    @app.post("/alerts", dependencies=[auth], tags=["aiops"], responses=error_responses(401, 413, 422),
              openapi_extra=documented_body(AlertmanagerWebhook),
              summary="Alertmanager webhook: remediation decisions (dry-run by default) and root cause")
    async def alerts(http_request: Request) -> dict:
        webhook = await parse_body(http_request, AlertmanagerWebhook)
        out = []
        for alert in webhook.alerts:
            decision = await engine.handle_alert(alert)
            entry = {"alertname": alert.labels.get("alertname", ""), "fingerprint": alert.fingerprint,
                     "decision": decision}
            service_name = alert.labels.get("service")
            if (settings.remediation.rca_on_alert and alert.status == "firing" and service_name
                    and service_name in settings.rca.services):
                try:
                    entry["rca"] = await analyser.analyse(service_name, None, None, None)
                except InputError as exc:
                    entry["rca"] = {"error": exc.message}
            out.append(entry)
        return {"alerts": out}

    return app
