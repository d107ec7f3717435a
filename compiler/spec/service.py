"""The `platform/v1` Service spec: what a team writes in `specs/<service>/platform.yaml`.

The field names are a public contract: later versions add fields, never rename them.
"""
from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from .base import (CpuQuantity, DnsLabel, HttpPath, MemoryQuantity, SecretRef, ServiceName, SpecModel,
                   SpecValueError)
from .chaos import ChaosExperiment
from .llm import LlmSpec
from .model import ModelSpec
from .slo import SLO, ErrorBudgetPolicy

IMAGE = re.compile(
    r"^(?P<name>[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SECRET_NAME_HINT = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL)", re.I)
SECRET_VALUE_HINT = re.compile(
    r"^(sk-[A-Za-z0-9_-]{16,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|xox[abpr]-[A-Za-z0-9-]{10,}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----.*)", re.S)
CHECK_ID = re.compile(r"^CKV2?_[A-Z0-9]+_\d+$")


def _image(value: str) -> str:
    match = IMAGE.match(value)
    if not match:
        raise ValueError(f"'{value}' is not a container image reference; write e.g. 'ghcr.io/acme/app:1.4.2'")
    if match.group("tag") == "latest":
        raise ValueError(f"'{value}' uses the ':latest' tag, which is not reproducible; "
                         "pin a version tag or an @sha256 digest")
    if not match.group("tag") and not match.group("digest"):
        raise ValueError(f"'{value}' has no tag; pin a version tag (':1.4.2') or an @sha256 digest")
    return value


Image = Annotated[str, AfterValidator(_image)]


class Metadata(SpecModel):
    name: ServiceName = Field(description="Service name: a DNS label of at most 40 characters; also its folder under specs/.")
    team: DnsLabel = Field(description="Owning team; becomes the Kubernetes namespace.")
    tier: Literal["critical", "standard", "experimental"] = "standard"




class Limits(SpecModel):
    cpu: CpuQuantity | None = None
    memory: MemoryQuantity | None = None


class Resources(SpecModel):
    cpu: CpuQuantity = Field("100m", description="CPU request.")
    memory: MemoryQuantity = Field("128Mi", description="Memory request.")
    limits: Limits | None = Field(None, description="Limits; derived from the requests (2x) where not given.")


class Health(SpecModel):
    liveness: HttpPath = "/healthz"
    readiness: HttpPath = "/readyz"
    startup: HttpPath | None = Field(None, description="Optional startup probe path, for slow starters.")


class ScaleDown(SpecModel):
    stabilizationWindowSeconds: int = Field(300, ge=0, le=3600, strict=True)
    maxPercentPerMinute: int = Field(50, ge=1, le=100, strict=True, description="At most this share of pods removed per minute.")


class Scaling(SpecModel):
    minReplicas: int = Field(2, ge=1, le=1000, strict=True)
    maxReplicas: int = Field(10, ge=1, le=1000, strict=True)
    targetCPUUtilization: int = Field(70, ge=1, le=100, strict=True, description="Average CPU utilisation target, percent of requests.")
    targetMemoryUtilization: int | None = Field(None, ge=1, le=100, strict=True)
    requestsPerSecond: float | None = Field(None, gt=0, le=1_000_000, description="Target HTTP requests per second "
                                            "per pod, served to the HPA by prometheus-adapter.")
    scaleDown: ScaleDown = ScaleDown()

    @model_validator(mode="after")
    def _min_not_above_max(self) -> "Scaling":
        if self.minReplicas > self.maxReplicas:
            raise SpecValueError(f"{self.minReplicas} is greater than maxReplicas "
                                 f"({self.maxReplicas}); raise maxReplicas or lower minReplicas", at=("minReplicas",))
        return self


class Metrics(SpecModel):
    path: HttpPath = Field("/metrics", description="Path Prometheus scrapes on the service port.")
    interval: Literal["15s", "30s", "60s"] = "30s"


class SecurityException(SpecModel):
    """A checkov check that does not apply to this service, with the reason shown in the manifests."""

    check: str = Field(description="Checkov check id, e.g. CKV_K8S_35.")
    reason: str = Field(min_length=10, description="Why the check does not apply; written into the manifest.")

    @field_validator("check")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not CHECK_ID.match(value):
            raise ValueError(f"'{value}' is not a checkov check id; write e.g. 'CKV_K8S_35'")
        return value


EnvValue = str | int | float | bool


def _secret_like(value: EnvValue) -> bool:
    """A value under a secret-sounding name that is not obviously harmless (a number, a path, a URL, a word)."""
    text = str(value)
    return (isinstance(value, str) and len(text) >= 8 and not text.startswith("/") and "://" not in text
            and not text.isdigit() and " " not in text)


class ServiceSpec(SpecModel):
    image: Image
    port: int = Field(ge=1, le=65535, strict=True, description="The container port serving HTTP (and /metrics).")
    command: list[str] | None = None
    args: list[str] | None = None
    env: dict[str, EnvValue] = Field(default_factory=dict, description="Plain environment values; never secrets.")
    secretEnv: dict[str, SecretRef] = Field(default_factory=dict, description="Environment values read from Secrets.")
    resources: Resources = Resources()
    health: Health = Health()
    metrics: Metrics = Metrics()
    replicas: int = Field(2, ge=0, le=1000, strict=True, description="Fixed replica count, used when there is no scaling block.")
    scaling: Scaling | None = None
    securityExceptions: list[SecurityException] = Field(default_factory=list)
    slos: list[SLO] = Field(default_factory=list, description="Service level objectives: recording rules, "
                            "burn-rate alerts and error budgets.")
    errorBudgetPolicy: ErrorBudgetPolicy = ErrorBudgetPolicy()
    chaos: list[ChaosExperiment] = Field(default_factory=list, description="Chaos Mesh experiments on a schedule.")
    model: ModelSpec | None = Field(None, description="An ML model this service serves: training, registry, canary.")
    llm: LlmSpec | None = Field(None, description="An LLM gateway for this service: prompts, budgets, LLM SLOs, RAG.")
    environments: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Per-environment overrides deep-merged over spec (null removes a key). An override that sets "
                    "replicas without scaling drops the scaling block in that environment.")

    @field_validator("env")
    @classmethod
    def _plain_env(cls, env: dict[str, EnvValue]) -> dict[str, EnvValue]:
        for name, value in env.items():
            if not ENV_NAME.match(name):
                raise SpecValueError(f"'{name}' is not a valid environment variable name; use letters, digits "
                                     "and '_', not starting with a digit", at=(name,), on_key=True)
            if SECRET_VALUE_HINT.match(str(value)) or (SECRET_NAME_HINT.search(name) and _secret_like(value)):
                raise SpecValueError(f"this looks like a literal secret; never put secrets in the spec: store it "
                                     f"in a Secret and write secretEnv: {{{name}: {{secret: <secret-name>, "
                                     "key: <key>}} instead", at=(name,))
        return env

    @field_validator("secretEnv")
    @classmethod
    def _secret_env_names(cls, env: dict[str, SecretRef]) -> dict[str, SecretRef]:
        for name in env:
            if not ENV_NAME.match(name):
                raise SpecValueError(f"'{name}' is not a valid environment variable name; use letters, digits "
                                     "and '_', not starting with a digit", at=(name,), on_key=True)
        return env

    @model_validator(mode="after")
    def _names_unique(self) -> "ServiceSpec":
        both = sorted(set(self.env) & set(self.secretEnv))
        if both:
            raise SpecValueError(f"'{both[0]}' is set in both env and secretEnv; keep one",
                                 at=("env", both[0]), on_key=True)
        checks = [e.check for e in self.securityExceptions]
        for index, check in enumerate(checks):
            if check in checks[:index]:
                raise SpecValueError(f"{check} is already listed (entry {checks.index(check) + 1}); merge the "
                                     "reasons into one entry", at=("securityExceptions", index, "check"))
        return self


class ServiceFile(SpecModel):
    apiVersion: Literal["platform/v1"]
    kind: Literal["Service"]
    metadata: Metadata
    spec: ServiceSpec
