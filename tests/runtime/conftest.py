"""Fixtures for runtime tests: a token, configs, in-process clients."""
from __future__ import annotations

import warnings

import pytest

TOKEN = "test-token-7f3a"
AUTH = {"authorization": f"Bearer {TOKEN}"}

warnings.filterwarnings("ignore", message=".*httpx2.*")


@pytest.fixture(autouse=True)
def api_token(monkeypatch):
    monkeypatch.setenv("RUNTIME_API_TOKEN", TOKEN)
    for name in ("RUNTIME_REPLICA_ORDINAL", "RUNTIME_REPLICA_COUNT", "RUNTIME_MODEL_SIGNING_KEY"):
        monkeypatch.delenv(name, raising=False)
    return TOKEN


@pytest.fixture
def aiops_client(tmp_path):
    from fastapi.testclient import TestClient

    from runtime.app import create_app
    from runtime.config import RuntimeConfig

    config = RuntimeConfig.model_validate({"server": {"state_dir": str(tmp_path), "max_body_bytes": 4_000_000}})
    with TestClient(create_app("aiops", config)) as client:
        yield client
