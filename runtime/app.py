"""App factories per role; heavy imports (fastapi, scikit-learn) happen only here, never at `import runtime`."""
from __future__ import annotations

import os

from runtime.config import RuntimeConfig, load_config


def create_app(role: str, config: RuntimeConfig | None = None, **overrides):
    """The ASGI app for `role` ("aiops" or "llm"); `overrides` inject collaborators in tests."""
    config = config or RuntimeConfig()
    if role == "aiops":
        from runtime.aiops.app import create_aiops_app
        return create_aiops_app(config, **overrides)
    if role == "llm":
        from runtime.llm.app import create_llm_app
        return create_llm_app(config, **overrides)
    raise ValueError(f"unknown role {role!r}; expected aiops or llm")


def create_from_env():
    """uvicorn factory: role from RUNTIME_ROLE, config file from RUNTIME_CONFIG; sets up JSON logging."""
    from runtime.web.logs import configure_logging

    config = load_config(os.environ.get("RUNTIME_CONFIG"))
    configure_logging(config.server.log_level)
    return create_app(os.environ.get("RUNTIME_ROLE", ""), config)
