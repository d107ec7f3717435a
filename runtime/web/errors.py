"""Error responses: 422 lists every bad field by its path; domain errors carry a clear message."""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

log = logging.getLogger("runtime.errors")


class InputError(Exception):
    """Input that parsed but cannot be used; answered as 422 with the field path."""

    def __init__(self, path: str, message: str, status_code: int = 422) -> None:
        super().__init__(message)
        self.path = path
        self.message = message
        self.status_code = status_code


class FieldError(BaseModel):
    path: str
    message: str
    type: str


class ErrorBody(BaseModel):
    """Every error answer: a message, and for 422 the offending fields by path (e.g. body.series.cpu.3)."""
    detail: str
    errors: list[FieldError] | None = None


_ERROR_TEXT = {401: "missing or wrong bearer token", 404: "unknown model, prompt or metric",
               409: "stored model refused (integrity/safety check) or store conflict",
               413: "request body over server.max_body_bytes", 422: "invalid input, with field paths",
               429: "token budget used up", 502: "dependency (Prometheus, LLM upstream, Qdrant, pgvector) failed"}


def error_responses(*codes: int) -> dict:
    """`responses=` entries documenting error answers in the OpenAPI schema."""
    return {code: {"model": ErrorBody, "description": _ERROR_TEXT[code]} for code in codes}


class UpstreamError(Exception):
    """A dependency (Prometheus, the LLM upstream) failed; answered as 502."""


def _path(location) -> str:
    return ".".join(str(part) for part in location)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"path": _path(item.get("loc", ())), "message": item.get("msg", "invalid"),
                   "type": item.get("type", "value_error")} for item in exc.errors()]
        return JSONResponse(status_code=422, content={"detail": "invalid request", "errors": errors})

    @app.exception_handler(InputError)
    async def _input(request: Request, exc: InputError) -> JSONResponse:
        return JSONResponse(status_code=exc.status_code, content={
            "detail": exc.message, "errors": [{"path": exc.path, "message": exc.message, "type": "input_error"}]})

    @app.exception_handler(UpstreamError)
    async def _upstream(request: Request, exc: UpstreamError) -> JSONResponse:
        log.warning("upstream failure", extra={"error": str(exc)})
        return JSONResponse(status_code=502, content={"detail": str(exc)})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error", exc_info=exc)
        return JSONResponse(status_code=500, content={"detail": "internal error; see the server log by trace id"})
