"""Request and response shapes of the AIOps API: the public contract shown in the OpenAPI schema."""
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

MetricName = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_:./\-{}=\",]+$")]
Point = tuple[float, float]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class SeriesInput(_Input):
    """Exactly one of `series` (inline points) or `queries` (PromQL range queries with start/end/step)."""

    series: dict[MetricName, list[Point]] | None = Field(
        None, description="metric name -> [[unix_ts, value], ...]", examples=[{"cpu": [[1700000000, 0.4]]}])
    queries: dict[MetricName, str] | None = Field(None, description="metric name -> PromQL (one series each)")
    start: float | None = Field(None, description="unix seconds; with queries")
    end: float | None = Field(None, description="unix seconds; with queries")
    step: str = Field("30s", description="query resolution, e.g. 30s, 1m")
    service: str | None = Field(None, max_length=200, description="service the metrics belong to")

    @model_validator(mode="after")
    def _one_source(self):
        if (self.series is None) == (self.queries is None):
            raise ValueError("give exactly one of 'series' or 'queries'")
        if self.queries is not None and (self.start is None or self.end is None):
            raise ValueError("'queries' needs 'start' and 'end'")
        source = self.series if self.series is not None else self.queries
        if not source:
            raise ValueError("no metrics given")
        return self


class TrainRequest(SeriesInput):
    detector: str | None = Field(None, description="detector kind (default from config), e.g. ensemble")


class TrainedMetric(BaseModel):
    kind: str
    n_points: int
    validation_score: float


class TrainResponse(BaseModel):
    model_version: str
    trained: dict[str, TrainedMetric]


class DetectRequest(SeriesInput):
    model_version: str | None = Field(None, description="registry version; default: newest with the metric")


class Anomaly(BaseModel):
    start: float
    end: float
    peak_score: float


class ScoredPoint(BaseModel):
    ts: float
    value: float
    score: float = Field(description="above 1 is anomalous, same scale for every detector")
    expected: float
    lower: float
    upper: float


class MetricResult(BaseModel):
    model_version: str
    anomalies: list[Anomaly]
    points: list[ScoredPoint]


class DetectResponse(BaseModel):
    model_version: str = Field(description="newest version used (per metric in results)")
    results: dict[str, MetricResult]


class ModelsResponse(BaseModel):
    versions: list[dict]


class RcaRequest(_Input):
    service: str = Field(min_length=1, max_length=200)
    start: float | None = Field(None, description="unix seconds (default: end - rca.window_seconds)")
    end: float | None = Field(None, description="unix seconds (default: now)")
    series: dict[MetricName, list[Point]] | None = Field(
        None, description="inline series instead of the configured queries, keyed 'service/metric'")


class RankedCause(BaseModel):
    rank: int
    service: str
    metric: str
    model_version: str | None
    peak_score: float
    onset: float | None
    anomalous: bool
    explanation: str


class Change(BaseModel):
    source: str
    at: float
    labels: dict[str, str]
    description: str


class RcaResponse(BaseModel):
    service: str
    start: float
    end: float
    causes: list[RankedCause]
    changes: list[Change]
    summary: str


class AlertmanagerAlert(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: str = Field(pattern="^(firing|resolved)$")
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: str | None = None
    endsAt: str | None = None
    fingerprint: str | None = None


class AlertmanagerWebhook(BaseModel):
    """Alertmanager webhook payload (version 4)."""
    model_config = ConfigDict(extra="allow")
    version: str | None = None
    status: str | None = None
    receiver: str | None = None
    alerts: list[AlertmanagerAlert] = Field(max_length=1000)
