"""Runtime configuration: one YAML or JSON file, validated with pydantic.

Every section has safe defaults, so `python -m runtime aiops` starts without a file. Secrets never live in
the file itself: the API token comes from `RUNTIME_API_TOKEN` or from the file named by
`server.api_token_file` (a mounted Secret), the upstream key from the file `llm.upstream.api_key_file` (a mounted
Secret) or the variable named by `llm.upstream.api_key_env`, the pgvector password likewise from
`llm.rag.pgvector_password_file` or the variable named by `llm.rag.pgvector_password_env`.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator


class ConfigError(Exception):
    """The configuration file is missing, unreadable or invalid; the message says where."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _default_state_dir() -> Path:
    return Path(os.environ.get("RUNTIME_STATE_DIR", "/var/lib/runtime"))


class ServerSettings(_Strict):
    max_body_bytes: int = Field(1_048_576, gt=0, description="requests with a larger body get 413")
    api_token_file: Path | None = Field(None, description="file holding the bearer token (else RUNTIME_API_TOKEN)")
    allow_unauthenticated: bool = Field(
        False, description="only for local experiments: accept mutating calls when no token is configured")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    state_dir: Path = Field(default_factory=_default_state_dir, description="writable directory (emptyDir/PVC)")


class PrometheusSettings(_Strict):
    url: str = "http://prometheus-operated.monitoring.svc:9090"
    timeout_seconds: float = Field(10.0, gt=0)
    max_points_per_query: int = Field(11_000, gt=0)


class RegistrySettings(_Strict):
    path: Path | None = Field(None, description="model registry directory (default: <state_dir>/models)")
    max_model_bytes: int = Field(50 * 1_048_576, gt=0, description="larger model files are refused on load")
    signing_key_env: str = Field("RUNTIME_MODEL_SIGNING_KEY",
                                 description="if this variable is set, manifests are HMAC-signed and checked")


class LiveSeries(_Strict):
    metric: str = Field(min_length=1)
    service: str = Field(min_length=1)
    query: str = Field(min_length=1)


class SchedulerSettings(_Strict):
    enabled: bool = False
    interval_seconds: float = Field(30.0, gt=0)
    lookback_seconds: float = Field(900.0, gt=0)
    step_seconds: float = Field(30.0, gt=0)
    auto_train: bool = Field(True, description="train a model from train_lookback when a series has none")
    train_lookback_seconds: float = Field(7 * 86400.0, gt=0)
    detector: str = "ensemble"
    series: list[LiveSeries] = Field(default_factory=list)


class ShardingSettings(_Strict):
    """Which replica this is. Unset values come from RUNTIME_REPLICA_ORDINAL/RUNTIME_REPLICA_COUNT, then
    from the StatefulSet pod name's `-N` suffix in HOSTNAME; a lone process is replica 0 of 1."""
    ordinal: int | None = Field(None, ge=0)
    count: int | None = Field(None, ge=1)


class ChangeSource(_Strict):
    name: str = Field(min_length=1, description="e.g. flux, deploy")
    query: str = Field(min_length=1, description="PromQL whose new series or value changes mark a change")


class RcaService(_Strict):
    metrics: dict[str, str] = Field(default_factory=dict, description="metric name -> PromQL")
    depends_on: list[str] = Field(default_factory=list)


class RcaSettings(_Strict):
    services: dict[str, RcaService] = Field(default_factory=dict)
    changes: list[ChangeSource] = Field(default_factory=list)
    window_seconds: float = Field(3600.0, gt=0)
    step_seconds: float = Field(30.0, gt=0)


class RemediationSettings(_Strict):
    policy_file: Path | None = None
    audit_log: Path | None = Field(None, description="JSON lines file (default: <state_dir>/audit.jsonl)")
    rca_on_alert: bool = True


class AiopsSettings(_Strict):
    default_detector: str = "ensemble"
    max_metrics_per_request: int = Field(100, gt=0)
    max_points_per_metric: int = Field(50_000, gt=0)
    registry: RegistrySettings = Field(default_factory=RegistrySettings)
    prometheus: PrometheusSettings = Field(default_factory=PrometheusSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    sharding: ShardingSettings = Field(default_factory=ShardingSettings)
    rca: RcaSettings = Field(default_factory=RcaSettings)
    remediation: RemediationSettings = Field(default_factory=RemediationSettings)


def read_secret_file(path: Path, setting: str) -> str:
    """A secret from a mounted file, surrounding whitespace dropped; unreadable or empty is a ConfigError."""
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"cannot read {setting} {path}: {exc.strerror}") from None
    if not secret:
        raise ConfigError(f"{setting} {path} is empty")
    return secret


class UpstreamSettings(_Strict):
    url: str = Field("local-echo", description="base URL of an OpenAI-compatible server, or local-echo")
    api_key_env: str | None = Field(None, description="environment variable holding the upstream API key")
    api_key_file: Path | None = Field(None, description="file holding the upstream API key (a mounted Secret); "
                                      "read at start, wins over api_key_env")
    timeout_seconds: float = Field(120.0, gt=0)
    request_usage_in_stream: bool = Field(True, description="ask for stream_options.include_usage")

    def api_key(self) -> str:
        """The upstream key: the file's content (surrounding whitespace dropped), else the variable, else ''."""
        if self.api_key_file is not None:
            return read_secret_file(self.api_key_file, "llm.upstream.api_key_file")
        return os.environ.get(self.api_key_env, "") if self.api_key_env else ""

    @field_validator("url")
    @classmethod
    def _url_shape(cls, value: str) -> str:
        if value != "local-echo" and not value.startswith(("http://", "https://")):
            raise ValueError("must be 'local-echo' or an http(s) URL")
        return value.rstrip("/")


class Price(_Strict):
    prompt_per_million: float = Field(ge=0)
    completion_per_million: float = Field(ge=0)


class Budget(_Strict):
    name: str = Field(min_length=1)
    daily_tokens: int = Field(gt=0)


class BudgetSettings(_Strict):
    header: str = Field("x-llm-budget", description="request header naming the budget (service or team)")
    default: str | None = Field(None, description="budget charged when the header is absent")
    budgets: list[Budget] = Field(default_factory=list)
    state_path: Path | None = Field(
        None, description="SQLite file shared by the pod's workers (default: in memory, per process)")


class TelemetrySettings(_Strict):
    capture_content: bool = Field(False, description="put prompts and completions on spans (off: privacy)")


class RagSettings(_Strict):
    embedder: Literal["auto", "minilm", "hashing"] = "auto"
    store: Literal["embedded", "qdrant", "pgvector"] = Field(
        "embedded", description="embedded (in process), a Qdrant server or PostgreSQL with pgvector")
    store_path: Path | None = Field(None, description="persist the embedded vector store here (default: memory)")
    qdrant_url: str | None = Field(None, description="Qdrant REST base URL, e.g. http://qdrant:6333")
    qdrant_api_key_env: str | None = Field(None, description="environment variable holding Qdrant's API key")
    qdrant_timeout_seconds: float = Field(10.0, gt=0)
    pgvector_host: str | None = Field(None, description="PostgreSQL host with the pgvector extension")
    pgvector_port: int = Field(5432, ge=1, le=65535)
    pgvector_database: str = Field("postgres", min_length=1, max_length=63)
    pgvector_user: str = Field("postgres", min_length=1, max_length=63)
    pgvector_password_env: str | None = Field(None, description="environment variable holding the password")
    pgvector_password_file: Path | None = Field(
        None, description="file holding the password (a mounted Secret); read at start, wins over the variable")
    pgvector_sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] = "prefer"
    pgvector_timeout_seconds: float = Field(10.0, gt=0, le=600,
                                            description="connect timeout and per-statement timeout")
    chunk_words: int = Field(200, gt=0)
    chunk_overlap_words: int = Field(40, ge=0)
    max_documents_per_request: int = Field(256, gt=0)

    @model_validator(mode="after")
    def _store_needs_url(self):
        if self.store == "qdrant" and not (self.qdrant_url or "").startswith(("http://", "https://")):
            raise ValueError("store qdrant needs qdrant_url, an http(s) URL")
        if self.store == "pgvector":
            if not (self.pgvector_host or "").strip():
                raise ValueError("store pgvector needs pgvector_host")
            if not (self.pgvector_password_env or self.pgvector_password_file):
                raise ValueError("store pgvector needs pgvector_password_env or pgvector_password_file "
                                 "(the password itself never goes in the config)")
        return self

    def pgvector_password(self) -> str:
        """The file's content (surrounding whitespace dropped), else the named variable; empty is an error."""
        if self.pgvector_password_file is not None:
            return read_secret_file(self.pgvector_password_file, "llm.rag.pgvector_password_file")
        password = os.environ.get(self.pgvector_password_env or "", "")
        if not password:
            raise ConfigError(f"llm.rag.pgvector_password_env names {self.pgvector_password_env}, "
                              "which is unset or empty")
        return password


class LlmSettings(_Strict):
    upstream: UpstreamSettings = Field(default_factory=UpstreamSettings)
    prompt_paths: list[Path] = Field(default_factory=list, description="prompt files or directories")
    prices: dict[str, Price] = Field(default_factory=dict, description="USD per million tokens, by model")
    budgets: BudgetSettings = Field(default_factory=BudgetSettings)
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)
    rag: RagSettings = Field(default_factory=RagSettings)


class RuntimeConfig(_Strict):
    server: ServerSettings = Field(default_factory=ServerSettings)
    aiops: AiopsSettings = Field(default_factory=AiopsSettings)
    llm: LlmSettings = Field(default_factory=LlmSettings)


def _error_lines(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        path = ".".join(str(part) for part in item["loc"]) or "<root>"
        lines.append(f"  {path}: {item['msg']}")
    return "\n".join(lines)


def load_config(path: str | Path | None) -> RuntimeConfig:
    """Read and validate a YAML/JSON config file; None gives the defaults."""
    if path is None:
        return RuntimeConfig()
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config {file}: {exc.strerror}") from None
    try:
        data = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise ConfigError(f"config {file} is not valid {'JSON' if file.suffix == '.json' else 'YAML'}: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"config {file}: the top level must be a mapping")
    try:
        return RuntimeConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"config {file} is invalid:\n{_error_lines(exc)}") from None
