"""Bearer-token check for mutating endpoints."""
from __future__ import annotations

import hmac
import os
from pathlib import Path

from fastapi import HTTPException, Request

TOKEN_ENV = "RUNTIME_API_TOKEN"


class TokenSource:
    """Holds the expected token: RUNTIME_API_TOKEN as it was at start, or a token file, re-read when it
    changes (Secret rotation)."""

    def __init__(self, token_file: Path | None, allow_unauthenticated: bool) -> None:
        self._file = token_file
        self._file_mtime: float | None = None
        self._file_token = ""
        self.allow_unauthenticated = allow_unauthenticated
        self._env_token = os.environ.get(TOKEN_ENV, "").strip()
        if token_file is not None and not token_file.is_file():
            raise ValueError(f"server.api_token_file {token_file} does not exist")

    def expected(self) -> str:
        if self._file is not None:
            mtime = self._file.stat().st_mtime
            if mtime != self._file_mtime:
                self._file_token = self._file.read_text(encoding="utf-8").strip()
                self._file_mtime = mtime
            return self._file_token
        return self._env_token

    def configured(self) -> bool:
        return bool(self.expected())


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def bearer_dependency(source: TokenSource):
    """A FastAPI dependency refusing requests without the right `Authorization: Bearer` header."""

    async def require_token(request: Request) -> None:
        expected = source.expected()
        if not expected:
            if source.allow_unauthenticated:
                return
            raise _unauthorized(f"no API token is configured on the server (set {TOKEN_ENV} or server.api_token_file)")
        header = request.headers.get("authorization", "")
        scheme, _, supplied = header.partition(" ")
        if scheme.lower() != "bearer" or not supplied:
            raise _unauthorized("missing bearer token")
        if not hmac.compare_digest(supplied.strip().encode(), expected.encode()):
            raise _unauthorized("invalid bearer token")

    return require_token
