"""The `model` block of a Service spec: train, validate, register, serve and roll out an ML model.

`version` is the version in production: changing it changes the serving pods' template, which Flagger
turns into a canary judged by the service's SLOs and `rollout.rollbackOn`.
"""
from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from .base import CpuQuantity, DnsLabel, Duration, MemoryQuantity, SpecModel, duration_seconds
from .images import Image

if TYPE_CHECKING:
    from .service import ServiceSpec

FRAMEWORKS = ("sklearn", "xgboost", "onnx", "custom")
ROLLOUT_PROVIDERS = ("linkerd", "istio", "kubernetes")
REGISTRY = re.compile(r"^(s3://|gs://)[a-z0-9][a-z0-9.-]{1,62}(/[A-Za-z0-9._/-]*)?$"
                      r"|^pvc://[a-z0-9]([-a-z0-9]*[a-z0-9])?(/[A-Za-z0-9._/-]*)?$|^runtime$")
CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")
CRON_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
METRIC_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
FLAGGER_INTERVAL = re.compile(r"^\d+(s|m)$")


def _cron(value: str) -> str:
    if value in CRON_MACROS:
        return value
    fields = value.split()
    if len(fields) != 5 or not all(CRON_FIELD.match(f) for f in fields):
        raise ValueError(f"'{value}' is not a cron schedule; write five fields like '0 2 * * *' "
                         "(minute hour day-of-month month day-of-week) or a macro like '@daily'")
    return value


def _registry(value: str) -> str:
    if not REGISTRY.match(value):
        raise ValueError(f"'{value}' is not a model registry; write 's3://bucket/prefix', 'gs://bucket/prefix', "
                         "'pvc://<claim>/<path>' or 'runtime' (the platform runtime's registry)")
    return value


def _flagger_interval(value: str) -> str:
    if not FLAGGER_INTERVAL.match(value):
        raise ValueError(f"'{value}' is not a rollout interval; Flagger takes seconds or minutes, e.g. '30s' or '1m'")
    return value


CronSchedule = Annotated[str, AfterValidator(_cron)]
RegistryUrl = Annotated[str, AfterValidator(_registry)]
RolloutInterval = Annotated[str, AfterValidator(_flagger_interval)]


class TrainingResources(SpecModel):
    cpu: CpuQuantity = "1"
    memory: MemoryQuantity = "2Gi"


class Training(SpecModel):
    schedule: CronSchedule = Field(description="When the training CronJob runs (UTC).")
    image: Image = Field(description="Training image; it gets the dataset, registry, version and validation gate "
                                     "as PLATFORM_MODEL_* environment variables.")
    resources: TrainingResources = TrainingResources()
    dataset: str = Field(min_length=1, max_length=1024, description="Passed to the job as PLATFORM_MODEL_DATASET.")
    timeout: Duration = Field("2h", description="A run taking longer is stopped (activeDeadlineSeconds).")
    retries: int = Field(1, ge=0, le=10, description="Retries of a failed run (Job backoffLimit).")


class Validation(SpecModel):
    """The gate a candidate must pass to be registered: its score on `metric` at least `min`."""

    metric: str = Field(description="Validation metric name the training image reports, e.g. auc.")
    min: float = Field(description="A candidate scoring below this is not registered.")

    @model_validator(mode="after")
    def _metric_name(self) -> "Validation":
        if not METRIC_NAME.match(self.metric):
            raise ValueError(f"metric '{self.metric}' must be a plain identifier such as 'auc' or 'f1'")
        return self


class RetrainOn(SpecModel):
    drift: float | None = Field(None, gt=0, le=100, description="Retrain when model_drift_score stays above this.")
    driftFor: Duration = Field("15m", description="How long the drift score must stay high before alerting.")
    schedule: bool = Field(True, description="Also retrain on training.schedule; false keeps only drift-triggered runs.")


class RollbackOn(SpecModel):
    """Canary limits: a canary above either for `rollout.threshold` checks is rolled back."""

    errorRatio: float | None = Field(None, gt=0, le=100, description="Percent of 5xx responses.")
    latencyP99: Duration | None = Field(None, description="99th percentile request latency, e.g. 300ms.")

    @property
    def latency_seconds(self) -> float | None:
        return duration_seconds(self.latencyP99) if self.latencyP99 else None


class Rollout(SpecModel):
    provider: Literal["linkerd", "istio", "kubernetes"] | None = Field(
        None, description="Flagger traffic provider; defaults to the platform's `meshProvider`. 'kubernetes' has "
        "no traffic split and runs blue/green.")
    stepWeight: int = Field(10, ge=1, le=100, description="Percent of traffic moved to the canary per step.")
    maxWeight: int = Field(50, ge=1, le=100, description="Canary share at which it is promoted.")
    interval: RolloutInterval = Field("1m", description="Time between analysis steps.")
    threshold: int = Field(5, ge=1, le=100, description="Failed checks before the canary is rolled back.")
    rollbackOn: RollbackOn = RollbackOn()

    @model_validator(mode="after")
    def _weights(self) -> "Rollout":
        if self.stepWeight > self.maxWeight:
            raise ValueError(f"stepWeight ({self.stepWeight}) is greater than maxWeight ({self.maxWeight}); "
                             "lower stepWeight or raise maxWeight")
        return self


class ModelSpec(SpecModel):
    name: DnsLabel = Field(description="Model name; the value of the `model` label on model metrics.")
    framework: Literal["sklearn", "xgboost", "onnx", "custom"] = Field(
        description="sklearn | xgboost | onnx | custom (the service's image serves it itself).")
    registry: RegistryUrl = Field(description="Where versions are registered: s3://, gs://, pvc://<claim>/ or runtime.")
    version: Annotated[str, Field(min_length=1, max_length=63, pattern=r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")] = Field(
        description="The version in production; changing it starts a canary.")
    training: Training | None = None
    validation: Validation | None = None
    retrainOn: RetrainOn | None = None
    rollout: Rollout | None = None

    @model_validator(mode="before")
    @classmethod
    def _version_text(cls, data):
        if isinstance(data, dict) and isinstance(data.get("version"), int) and not isinstance(data["version"], bool):
            data = dict(data, version=str(data["version"]))
        return data

    @model_validator(mode="after")
    def _training_needs(self) -> "ModelSpec":
        if self.training is not None and self.validation is None:
            raise ValueError("training is set without validation; add validation: {metric: auc, min: 0.85} so only "
                             "candidates that pass are registered")
        if self.retrainOn is not None and self.training is None:
            raise ValueError("retrainOn needs a training block (image, schedule, dataset) to retrain with")
        return self


CANARY_HTTP_LATENCY_METRIC = "http_request_duration_seconds"
"""The histogram the canary's p99 query reads; only latency SLOs on it are comparable with latencyP99."""
P99_OBJECTIVE = 99


def _slo_error_budgets(spec: "ServiceSpec") -> list[tuple[str, Decimal]]:
    """(SLO name, allowed 5xx percent) of every availability SLO."""
    return [(slo.name, 100 - Decimal(str(slo.objective))) for slo in spec.slos if slo.sli.availability is not None]


def _slo_latency_bounds(spec: "ServiceSpec") -> list[tuple[str, float]]:
    """(SLO name, seconds) of latency SLOs on the HTTP histogram that bound the p99 (objective >= 99%)."""
    return [(slo.name, slo.sli.latency.threshold) for slo in spec.slos
            if slo.sli.latency is not None and slo.sli.latency.metric == CANARY_HTTP_LATENCY_METRIC
            and not slo.sli.latency.selector and slo.objective >= P99_OBJECTIVE]


def canary_limits(spec: "ServiceSpec") -> dict[str, float | None]:
    """The canary's limits: `rollbackOn` where given, else the strictest matching SLO."""
    rollback = spec.model.rollout.rollbackOn if spec.model and spec.model.rollout else RollbackOn()
    error = rollback.errorRatio
    if error is None and _slo_error_budgets(spec):
        error = float(min(b for _, b in _slo_error_budgets(spec)))
    latency = rollback.latency_seconds
    if latency is None and _slo_latency_bounds(spec):
        latency = min(b for _, b in _slo_latency_bounds(spec))
    return {"error-ratio": error, "latency-p99": latency}


def rollout_problems(spec: "ServiceSpec") -> list[tuple[tuple, str]]:
    """(location under spec, message) for rollback limits looser than an SLO, or a rollout with no limit."""
    model = spec.model
    if model is None or model.rollout is None:
        return []
    rollback = model.rollout.rollbackOn
    where = ("model", "rollout", "rollbackOn")
    problems = []
    if rollback.errorRatio is not None:
        for name, allowed in _slo_error_budgets(spec):
            if Decimal(str(rollback.errorRatio)) > allowed:
                problems.append((where + ("errorRatio",),
                                 f"rollbackOn.errorRatio {rollback.errorRatio:g}% is looser than SLO '{name}', which "
                                 f"allows {allowed.normalize():f}% errors; a canary that bad would be promoted while "
                                 f"burning the budget. Lower it to at most {allowed.normalize():f}"))
    if rollback.latencyP99 is not None:
        for name, bound in _slo_latency_bounds(spec):
            if rollback.latency_seconds > bound:
                problems.append((where + ("latencyP99",),
                                 f"rollbackOn.latencyP99 {rollback.latencyP99} is looser than SLO '{name}' "
                                 f"({bound:g}s for at least 99% of requests); lower it to at most {bound * 1000:g}ms"))
    limits = canary_limits(spec)
    if all(v is None for v in limits.values()):
        problems.append((("model", "rollout"),
                         "the canary has nothing to judge: add rollbackOn {errorRatio, latencyP99} or an "
                         "availability or latency SLO to spec.slos"))
    return problems
