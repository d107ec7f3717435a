"""One pure-ASGI middleware for every request: trace id, body size limit, HTTP metrics, access log.

Pure ASGI (not BaseHTTPMiddleware) because it sits on the gateway's hot path.
"""
from __future__ import annotations

import logging
import random
import re
import time

from fastapi import HTTPException

from runtime.web.logs import current_trace_id
from runtime.web.metrics import HttpMetrics

log = logging.getLogger("runtime.access")

_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


def trace_id_from_headers(headers: list[tuple[bytes, bytes]]) -> str:
    """The W3C traceparent's trace id when the caller sent one, else a new random one (an identifier,
    not a secret, so the fast non-cryptographic generator is enough)."""
    for name, value in headers:
        if name == b"traceparent":
            match = _TRACEPARENT.match(value.decode("latin-1").strip())
            if match and match.group(1) != "0" * 32:
                return match.group(1)
    return f"{random.getrandbits(128):032x}"


class PayloadTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"request body larger than {limit} bytes")


class RequestMiddleware:
    def __init__(self, app, metrics: HttpMetrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        trace_id = trace_id_from_headers(scope["headers"])
        token = current_trace_id.set(trace_id)
        scope.setdefault("state", {})["trace_id"] = trace_id
        status = 500
        limit = self.max_body_bytes

        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > limit:
                    status = 413
                    await _send_413(send, limit, trace_id)
                    self._record(scope, status, started)
                    current_trace_id.reset(token)
                    return
                break

        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLarge(limit)
            return message

        async def send_with_trace(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-trace-id", trace_id.encode())]
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_trace)
        finally:
            self._record(scope, status, started)
            current_trace_id.reset(token)

    def _record(self, scope, status: int, started: float) -> None:
        elapsed = time.perf_counter() - started
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        method = scope["method"]
        self.metrics.requests(method, template, str(status)).inc()
        self.metrics.duration(method, template).observe(elapsed)
        if log.isEnabledFor(logging.INFO):
            log.info("request", extra={"method": method, "route": template, "path": scope["path"],
                                       "status": status, "duration_ms": round(elapsed * 1000, 3)})


async def _send_413(send, limit: int, trace_id: str) -> None:
    body = ('{"detail":"request body larger than %d bytes"}' % limit).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"x-trace-id", trace_id.encode()), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
