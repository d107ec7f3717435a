"""The FastAPI app both roles start from: auth, limits, errors, metrics, health."""
from __future__ import annotations

from collections.abc import Callable

import orjson
from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response

from runtime.config import RuntimeConfig
from runtime.web.auth import TokenSource, bearer_dependency
from runtime.web.errors import install_error_handlers
from runtime.web.metrics import HttpMetrics, MetricSet
from runtime.web.middleware import RequestMiddleware


class FastJSONResponse(JSONResponse):
    """JSON via orjson; numpy arrays serialise directly (large /detect answers)."""

    def render(self, content) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


class AppContext:
    """What route modules need from the base app."""

    def __init__(self, app: FastAPI, config: RuntimeConfig, metrics: MetricSet, tokens: TokenSource) -> None:
        self.app = app
        self.config = config
        self.metrics = metrics
        self.tokens = tokens
        self.require_token = bearer_dependency(tokens)


def create_base_app(config: RuntimeConfig, role: str, title: str, description: str,
                    readiness: Callable[[], dict], lifespan=None) -> AppContext:
    """Build the app with middleware and `/healthz` `/readyz` `/metrics`; `readiness` returns checks."""
    app = FastAPI(title=title, description=description, version="1", default_response_class=FastJSONResponse,
                  lifespan=lifespan)
    metrics = MetricSet()
    tokens = TokenSource(config.server.api_token_file, config.server.allow_unauthenticated)
    app.add_middleware(RequestMiddleware, metrics=HttpMetrics(metrics), max_body_bytes=config.server.max_body_bytes)
    install_error_handlers(app)

    @app.get("/healthz", tags=["health"], summary="liveness")
    async def healthz() -> dict:
        return {"status": "ok", "role": role}

    @app.get("/readyz", tags=["health"], summary="readiness with the checks behind it")
    async def readyz() -> Response:
        checks = readiness()
        ready = all(check.get("ok", False) for check in checks.values() if isinstance(check, dict))
        return FastJSONResponse(status_code=200 if ready else 503,
                                content={"status": "ready" if ready else "not_ready", "role": role,
                                         "auth": "token" if tokens.configured() else (
                                             "disabled" if tokens.allow_unauthenticated else "no_token"),
                                         "checks": checks})

    @app.get("/metrics", tags=["health"], summary="Prometheus exposition", response_class=Response)
    async def metrics_endpoint() -> Response:
        body, content_type = metrics.exposition()
        return Response(content=body, media_type=content_type)

    return AppContext(app, config, metrics, tokens)
