"""The `platform` section of platform-config.yaml: how big the shared stack is, and where alerts go.

Sizing has defaults for every environment; `environments.<env>` overrides single fields of it, so a
production cluster can keep more history on bigger volumes without repeating the rest.
"""
from __future__ import annotations

import re
from typing import Literal, Annotated

from pydantic import AfterValidator, Field, model_validator

from .. import conventions as names
from .base import CpuQuantity, DnsLabel, Duration, MemoryQuantity, ObjectName, SecretRef, SpecModel
from .images import Image

URL_PATTERN = r"^https?://[^\s]+$"
GO_DURATION = re.compile(r"^(\d+(h|m|s))+$")
RESERVED_RECEIVERS = (names.AIOPS_SERVICE, names.RECEIVER_BLACKHOLE)


def _go_duration(value: str) -> str:
    """Tempo reads Go durations, which have no day or week unit."""
    if not GO_DURATION.match(value):
        raise ValueError(f"'{value}' is not a Go duration; write hours, e.g. '72h' (Tempo has no 'd' unit)")
    return value


GoDuration = Annotated[str, AfterValidator(_go_duration)]


class StackResources(SpecModel):
    cpu: CpuQuantity = Field("500m", description="CPU request of Prometheus.")
    memory: MemoryQuantity = Field("2Gi", description="Memory request (and limit) of Prometheus.")


class Sizing(SpecModel):
    retention: Duration = Field("15d", description="How long Prometheus keeps samples.")
    traceRetention: GoDuration = Field("72h", description="How long Tempo keeps traces.")
    storage: MemoryQuantity = Field("50Gi", description="Prometheus volume size.")
    traceStorage: MemoryQuantity = Field("20Gi", description="Tempo volume size.")
    replicas: int = Field(1, ge=1, le=5, description="Replicas of Prometheus, Alertmanager and Grafana.")
    resources: StackResources = StackResources()


class SizingOverride(SpecModel):
    """The fields of Sizing an environment changes; anything left out keeps the default."""

    retention: Duration | None = None
    traceRetention: GoDuration | None = None
    storage: MemoryQuantity | None = None
    traceStorage: MemoryQuantity | None = None
    replicas: int | None = Field(None, ge=1, le=5)
    resources: StackResources | None = None




class Receiver(SpecModel):
    """A webhook receiver (PagerDuty, Opsgenie, ticketing bridges all accept Alertmanager's webhook payload)."""

    name: DnsLabel
    url: Annotated[str, Field(pattern=URL_PATTERN, description="Webhook URL (http or https).")]


class AiopsWebhook(SpecModel):
    namespace: DnsLabel = Field("aiops", description="Namespace of the AIOps runtime's Service `aiops`.")
    tokenSecret: SecretRef = Field(SecretRef(secret="aiops-api-token", key="token"),
                                   description="Bearer token Alertmanager sends to /alerts.")


class Alerting(SpecModel):
    page: Receiver = Receiver(name="oncall-page", url="https://alerts.acme.example/page")
    ticket: Receiver = Receiver(name="oncall-ticket", url="https://alerts.acme.example/ticket")
    aiops: AiopsWebhook = AiopsWebhook()

    @model_validator(mode="after")
    def _distinct_names(self) -> "Alerting":
        if self.page.name == self.ticket.name:
            raise ValueError(f"page and ticket receivers are both named '{self.ticket.name}'; "
                             "give them distinct names")
        for receiver in (self.page, self.ticket):
            if receiver.name in RESERVED_RECEIVERS:
                raise ValueError(f"receiver name '{receiver.name}' is used by the platform itself; "
                                 f"pick another (reserved: {', '.join(RESERVED_RECEIVERS)})")
        return self


class AiopsRuntime(SpecModel):
    """The AIOps runtime the platform layer deploys (generated/platform/<env>/aiops/): one StatefulSet whose
    replicas follow the environment's sizing, scoring live series and remediating alerts."""

    image: Image = Field(names.RUNTIME_IMAGE, description="The runtime image, pinned by digest.")
    remediateIn: list[DnsLabel] = Field(
        default_factory=list, description="Environments where remediation acts; everywhere else it only "
        "records what it would do (dry-run).")
    maxActionsPerHour: int = Field(5, ge=0, le=100, description="Cap on remediation actions per replica and hour.")
    cooldown: Duration = Field("15m", description="Least time between two actions on the same target.")
    retrainCooldown: Duration = Field("6h", description="Least time between two retrain jobs of one model.")
    cpu: CpuQuantity = Field("200m", description="CPU request of each replica.")
    memory: MemoryQuantity = Field("512Mi", description="Memory request of each replica.")
    storage: MemoryQuantity = Field("2Gi", description="Volume of each replica (model registry, audit log).")


class PlatformStack(SpecModel):
    storageClass: ObjectName = Field("gp3", description="StorageClass of the Prometheus, Alertmanager and Tempo "
                                     "volumes.")
    createStorageClass: bool = Field(True, description="Create `storageClass` as an encrypted EBS gp3 class "
                                     "(ebs.csi.aws.com); false when the cluster already has it.")
    defaults: Sizing = Sizing()
    environments: dict[str, SizingOverride] = Field(
        default_factory=dict, description="Per-environment sizing; fields left out keep `defaults`.")
    alerting: Alerting = Alerting()
    aiops: AiopsRuntime = Field(AiopsRuntime(), description="The AIOps runtime: image, where remediation acts, "
                                "its rate limits and size.")
    meshProvider: Literal["kubernetes", "linkerd", "istio"] = Field(
        "kubernetes", description="How Flagger shifts traffic for model canaries. 'kubernetes' needs no mesh and "
        "runs blue/green (no traffic split); 'linkerd' and 'istio' need that mesh installed in the cluster.")

    def sizing(self, env: str) -> Sizing:
        override = self.environments.get(env)
        if override is None:
            return self.defaults
        changed = {k: v for k, v in override.model_dump(exclude_none=True).items()}
        return Sizing.model_validate({**self.defaults.model_dump(), **changed})
