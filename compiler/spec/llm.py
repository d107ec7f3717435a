"""The `llm` block of a Service spec: an LLM gateway (the platform runtime in its llm role) in front of an
OpenAI-compatible upstream, with versioned prompts, daily token and cost budgets, LLM SLOs, retrieval and
optionally a self-hosted vLLM server as the upstream.
"""
from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from pydantic import ValidationError

from .base import CpuQuantity, DnsLabel, MemoryQuantity, ObjectName, SecretRef, SpecModel
from .images import Image
from .slo import SLI, SLO, LatencySLI

# USD per million tokens (prompt, completion), as the providers list them; a spec's `price` wins.
KNOWN_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
}
UPSTREAM = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?(/[A-Za-z0-9._~/-]*)?$")
PROMPT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}$")


def _upstream(value: str) -> str:
    value = value.rstrip("/")
    if not UPSTREAM.match(value) or not value.endswith("/v1"):
        raise ValueError(f"'{value}' is not an OpenAI-compatible base URL; write it as SDKs take it, ending in "
                         "/v1, e.g. 'https://api.openai.com/v1'")
    return value


def _prompt_file(value: str) -> str:
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts or "\\" in value or not value.strip():
        raise ValueError(f"'{value}' must be a path relative to the spec's folder, e.g. 'prompts/summarize.md'")
    return value


def _model_id(value: str) -> str:
    if not MODEL_ID.match(value):
        raise ValueError(f"'{value}' is not a model id; write e.g. 'gpt-4o-mini' or 'Qwen/Qwen2.5-7B-Instruct'")
    return value


UpstreamUrl = Annotated[str, AfterValidator(_upstream)]
PromptFilePath = Annotated[str, AfterValidator(_prompt_file)]
ModelId = Annotated[str, AfterValidator(_model_id)]
Percent = Annotated[int, Field(ge=1, le=100)]




class Prompt(SpecModel):
    name: Annotated[str, Field(max_length=40)] = Field(description="Prompt name requests refer to.")
    file: PromptFilePath = Field(description="Prompt text (the system message), relative to the spec's folder.")
    version: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
    label: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_-]+$")] | None = Field(
        None, description="A label (e.g. production, staging) naming this version; requests ask for a label.")

    @model_validator(mode="before")
    @classmethod
    def _version_text(cls, data):
        if isinstance(data, dict) and isinstance(data.get("version"), int) and not isinstance(data["version"], bool):
            data = dict(data, version=str(data["version"]))
        return data

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not PROMPT_NAME.match(value):
            raise ValueError(f"'{value}' is not a prompt name; use lower-case letters, digits and '-'")
        return value


def _alert_levels(levels: list[int]) -> list[int]:
    if len(set(levels)) != len(levels):
        raise ValueError("alertAt lists a percentage more than once")
    return sorted(levels)


AlertLevels = Annotated[list[Percent], AfterValidator(_alert_levels)]


class TokenBudget(SpecModel):
    daily: int = Field(gt=0, description="Tokens (prompt + completion) per UTC day; requests beyond get HTTP 429.")
    alertAt: AlertLevels = Field(default_factory=lambda: [50, 80, 95], description="Percent used that alerts.")


class CostBudget(SpecModel):
    dailyUSD: float = Field(gt=0, description="Spend per day, from the gateway's price table.")
    alertAt: AlertLevels = Field(default_factory=lambda: [50, 80, 95], description="Percent spent that alerts.")


class Price(SpecModel):
    promptPerMillionUSD: float = Field(ge=0)
    completionPerMillionUSD: float = Field(ge=0)


class LlmLatency(SpecModel):
    threshold: float = Field(gt=0, le=600, description="Seconds.")
    of: Literal["request", "time_to_first_token"] = Field(
        "request", description="request: the whole call; time_to_first_token: streamed calls' first token.")


LLM_LATENCY_METRIC = "llm_request_latency_seconds"
LLM_TTFT_METRIC = "llm_time_to_first_token_seconds"
LLM_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60)
LLM_TTFT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10)
"""The runtime's histogram buckets (briefs/metric-names.md): an SLO threshold must be one of them."""


class LlmSlo(SpecModel):
    """A latency SLO of the gateway, compiled by the same SLO machinery as `spec.slos`."""

    name: DnsLabel
    objective: float = Field(description="Percent of calls faster than the threshold, at least 50 and below 100.")
    window: str = Field("30d", description="Rolling window in days.")
    latency: LlmLatency

    def as_slo(self, selector: str = "") -> SLO:
        ttft = self.latency.of == "time_to_first_token"
        what = "time to first token" if ttft else "LLM request latency"
        sli = LatencySLI(metric=LLM_TTFT_METRIC if ttft else LLM_LATENCY_METRIC, selector=selector,
                         threshold=self.latency.threshold,
                         buckets=list(LLM_TTFT_BUCKETS if ttft else LLM_LATENCY_BUCKETS))
        return SLO(name=self.name, objective=self.objective, window=self.window, sli=SLI(latency=sli),
                   description=f"{self.objective:g}% of calls: {what} within {self.latency.threshold:g}s")

    @model_validator(mode="after")
    def _valid_slo(self) -> "LlmSlo":
        try:
            self.as_slo()
        except ValidationError as exc:
            raise ValueError("; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())) from None
        return self


class Rag(SpecModel):
    store: Literal["embedded", "qdrant", "pgvector"] = "embedded"
    collection: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.-]+$")] = "docs"
    image: Image | None = Field(None, description="Vector store image (qdrant or pgvector); pin a digest.")
    storage: MemoryQuantity = Field("10Gi", description="Size of the store's volume.")
    storageClassName: ObjectName | None = None
    passwordSecret: SecretRef | None = Field(None, description="pgvector: the postgres password.")

    @model_validator(mode="after")
    def _server_fields(self) -> "Rag":
        if self.store == "pgvector" and self.passwordSecret is None:
            raise ValueError("store pgvector needs passwordSecret: {secret: <name>, key: <key>} for postgres")
        if self.store == "embedded" and (self.image or self.passwordSecret):
            raise ValueError("image and passwordSecret only apply to a store server (qdrant or pgvector)")
        return self


class Serving(SpecModel):
    engine: Literal["vllm"] = "vllm"
    model: ModelId = Field(description="Model the engine loads, e.g. a Hugging Face id.")
    gpus: int = Field(1, ge=1, le=8)
    image: Image | None = Field(None, description="Engine image; pin a digest.")
    cpu: CpuQuantity = "4"
    memory: MemoryQuantity = "32Gi"
    cacheSize: MemoryQuantity = Field("50Gi", description="Model cache volume (weights are downloaded once into it).")
    storageClassName: ObjectName | None = None
    maxModelLen: int | None = Field(None, ge=256, le=1_048_576)
    nodeSelector: dict[str, str] = Field(default_factory=lambda: {"nvidia.com/gpu.present": "true"})
    hfTokenSecret: SecretRef | None = Field(None, description="Hugging Face token for gated models.")


class Gateway(SpecModel):
    image: Image | None = Field(None, description="The platform runtime image; defaults to the platform's.")
    replicas: int = Field(2, ge=1, le=50)
    cpu: CpuQuantity = "250m"
    memory: MemoryQuantity = "512Mi"
    tokenSecret: SecretRef | None = Field(
        None, description="Bearer token callers present; default: secret '<service>-llm-gateway', key 'token'.")


class LlmSpec(SpecModel):
    provider: DnsLabel = Field("openai", description="Label of the upstream; any OpenAI-compatible server works.")
    model: ModelId = Field(description="Default model requests use.")
    upstream: UpstreamUrl | None = Field(None, description="OpenAI-compatible base URL; omit with `serving`.")
    apiKeySecret: SecretRef | None = None
    prompts: list[Prompt] = Field(default_factory=list)
    tokenBudget: TokenBudget | None = None
    costBudget: CostBudget | None = None
    price: Price | None = Field(None, description="USD per million tokens; known models have a default.")
    slos: list[LlmSlo] = Field(default_factory=list)
    rag: Rag | None = None
    serving: Serving | None = None
    gateway: Gateway = Gateway()

    @model_validator(mode="after")
    def _consistent(self) -> "LlmSpec":
        if self.serving is None and self.upstream is None:
            raise ValueError("set upstream (an OpenAI-compatible URL) or serving (self-host the model with vLLM)")
        if self.serving is not None and self.upstream is not None:
            raise ValueError("upstream and serving are both set; with serving the gateway's upstream is the "
                             "vLLM server, so remove upstream")
        if self.costBudget is not None and self.price is None and self.model not in KNOWN_PRICES:
            raise ValueError(f"costBudget needs a price for model '{self.model}': add price: "
                             "{promptPerMillionUSD: ..., completionPerMillionUSD: ...}")
        names = [s.name for s in self.slos]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"slos lists {', '.join(dupes)} more than once")
        return self

    @field_validator("prompts")
    @classmethod
    def _prompt_versions(cls, prompts: list[Prompt]) -> list[Prompt]:
        seen: set[tuple[str, str]] = set()
        labels: dict[tuple[str, str], str] = {}
        for prompt in prompts:
            key = (prompt.name, prompt.version)
            if key in seen:
                raise ValueError(f"prompt '{prompt.name}' version {prompt.version} is listed twice")
            seen.add(key)
            if prompt.label:
                owner = labels.setdefault((prompt.name, prompt.label), prompt.version)
                if owner != prompt.version:
                    raise ValueError(f"prompt '{prompt.name}' has label '{prompt.label}' on versions {owner} and "
                                     f"{prompt.version}; a label names one version")
        return prompts

    def price_per_million(self) -> tuple[float, float] | None:
        if self.price is not None:
            return self.price.promptPerMillionUSD, self.price.completionPerMillionUSD
        return KNOWN_PRICES.get(self.model)
