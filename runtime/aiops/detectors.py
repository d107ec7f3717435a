"""Anomaly detectors for one metric: train on history, score new points on one common scale.

Every detector maps a point to a score where 1.0 is the edge of "normal" and above 1.0 is anomalous,
so alerts can use `aiops_anomaly_score > 1` whatever detector produced the score. Each detector is
calibrated on its own training data: 1.0 sits CALIBRATION_MARGIN (1.2) times beyond the 99.9th
percentile of what the training history showed.

- "seasonal": expected value = median profile per time-of-day bucket (daily or weekly period inferred
  from the history, else a single bucket) plus the trailing level; score = |value - expected| /
  (z_limit * bucket sigma), with z_limit = 1.2 * max(4, 99.9th percentile of training |z|).
- "iforest": a scikit-learn IsolationForest over causal window features of the deseasonalised series
  (level, first difference, distance from the recent median, recent vs longer-term level), plus how far
  a feature lies beyond its training range (where isolation depth saturates).
- "ensemble": the power mean of order 4 of the two scores, with the seasonal band. It behaves like the
  larger score when both detectors agree, while one detector alone needs 2^(1/4) = 1.19 to cross 1.0,
  so the noisier of the two cannot raise an alarm on its own with a borderline score.

Scores are causal: the score of point i depends on the trained model and on points at or before i only.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.ensemble import IsolationForest

from runtime.aiops.features import (
    DAY,
    WEEK,
    infer_period,
    lagged_diff,
    robust_sigma,
    rolling_mean,
    rolling_medians,
    sampling_step,
)
from runtime.aiops.forest import ForestTables

DETECTOR_KINDS = ("seasonal", "iforest", "ensemble")
MIN_TRAIN_POINTS = 32
BAND_SIGMAS = 4.0
CALIBRATION_MARGIN = 1.2
_Z_QUANTILE = 0.999
_IF_QUANTILE = 0.999
STATE_VERSION = 1
_HOLDOUT_FRACTION = 0.2
_BUCKETS_PER_PERIOD = {DAY: 48, WEEK: 168}
_FOREST_TREES = 24
_FOREST_SAMPLES = 256
_SHORT_WINDOW = 4
_LEVEL_DIVISOR = 4
_FLAT_LEVEL_WINDOW = 16
_LONG_WINDOW = 64
_SEED = 20260101


@dataclass
class ScoreResult:
    """Per-point arrays, all the length of the scored input."""
    score: np.ndarray
    expected: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


def _as_series(ts: Any, values: Any, min_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Validated float arrays, or ValueError saying what is wrong with the input."""
    try:
        ts_arr = np.asarray(ts, dtype=np.float64)
        val_arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"timestamps and values must be numbers: {exc}") from None
    if ts_arr.ndim != 1 or val_arr.ndim != 1:
        raise ValueError("timestamps and values must be one-dimensional sequences")
    if len(ts_arr) != len(val_arr):
        raise ValueError(f"got {len(ts_arr)} timestamps but {len(val_arr)} values")
    if len(ts_arr) < min_points:
        raise ValueError(f"need at least {min_points} points, got {len(ts_arr)}")
    if not np.all(np.isfinite(ts_arr)):
        raise ValueError("timestamps contain NaN or infinite numbers")
    if not np.all(np.isfinite(val_arr)):
        raise ValueError("values contain NaN or infinite numbers")
    if len(ts_arr) > 1 and not np.all(np.diff(ts_arr) > 0):
        raise ValueError("timestamps must be strictly increasing (sorted, no duplicates)")
    return ts_arr, val_arr


def _scale_floor(values: np.ndarray) -> float:
    """Smallest spread we trust, so a flat history does not turn every wiggle into infinity."""
    return 1e-6 * (1.0 + float(np.median(np.abs(values))))


@dataclass
class SeasonalBaseline:
    """Median/MAD per time-of-day bucket plus a trailing level (see module docstring).

    A bucket's sigma is the root mean square of its own robust sigma and the overall one: a bucket
    holds few points, and its MAD alone is noisy enough to make ordinary points look anomalous.
    """
    period: float
    n_buckets: int
    level_window: int
    profile: np.ndarray
    sigma: np.ndarray
    z_limit: float = BAND_SIGMAS

    @classmethod
    def fit(cls, ts: np.ndarray, values: np.ndarray) -> "SeasonalBaseline":
        step = sampling_step(ts)
        period = infer_period(ts, values)
        if period is None:
            period, n_buckets = DAY, 1
        else:
            per_cycle = max(1, int(round(period / step)))
            n_buckets = min(_BUCKETS_PER_PERIOD[period], per_cycle)
        points_per_period = max(1, int(round(period / step)))
        level_window = int(np.clip(points_per_period // _LEVEL_DIVISOR if n_buckets > 1 else _FLAT_LEVEL_WINDOW,
                                   4, 256))
        model = cls(period=float(period), n_buckets=n_buckets, level_window=level_window,
                    profile=np.zeros(n_buckets), sigma=np.ones(n_buckets))
        buckets = model._buckets(ts)
        if n_buckets > 1:
            trend = _centred_mean(values, points_per_period)
            model.profile = _bucket_stat(values - trend, buckets, n_buckets, np.median)
        expected = model._expected(ts, values, buckets)
        residual = values - expected
        overall = max(robust_sigma(residual), 0.1 * float(np.std(residual)), _scale_floor(values))
        per_bucket = _bucket_stat(residual, buckets, n_buckets, robust_sigma, default=overall)
        model.sigma = np.sqrt(0.5 * (per_bucket ** 2 + overall ** 2))
        train_z = np.abs(residual) / model.sigma[buckets]
        model.z_limit = CALIBRATION_MARGIN * max(BAND_SIGMAS, float(np.quantile(train_z, _Z_QUANTILE)))
        return model

    def _buckets(self, ts: np.ndarray) -> np.ndarray:
        return bucket_index(ts, self.period, self.n_buckets)

    def _expected(self, ts: np.ndarray, values: np.ndarray, buckets: np.ndarray) -> np.ndarray:
        seasonal = self.profile[buckets]
        level = rolling_mean(values - seasonal, self.level_window, exclude_current=True)
        return seasonal + level

    def score(self, ts: np.ndarray, values: np.ndarray) -> ScoreResult:
        buckets = self._buckets(ts)
        expected = self._expected(ts, values, buckets)
        half_band = self.z_limit * self.sigma[buckets]
        return ScoreResult(score=np.abs(values - expected) / half_band, expected=expected,
                           lower=expected - half_band, upper=expected + half_band)

    def to_state(self) -> dict:
        return {"period": self.period, "n_buckets": self.n_buckets, "level_window": self.level_window,
                "profile": self.profile.copy(), "sigma": self.sigma.copy(), "z_limit": self.z_limit}

    @classmethod
    def from_state(cls, state: dict) -> "SeasonalBaseline":
        return cls(period=float(state["period"]), n_buckets=int(state["n_buckets"]),
                   level_window=int(state["level_window"]),
                   profile=np.asarray(state["profile"], dtype=np.float64),
                   sigma=np.asarray(state["sigma"], dtype=np.float64), z_limit=float(state["z_limit"]))


def bucket_index(ts: np.ndarray, period: float, n_buckets: int) -> np.ndarray:
    """Time-of-period bucket of each timestamp (UTC based, so it is the same on every replica)."""
    phase = np.mod(ts, period) / period
    return np.minimum((phase * n_buckets).astype(np.intp), n_buckets - 1)


def _centred_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Moving average centred on each point (training only, where the future is known)."""
    half = window // 2
    padded = np.concatenate((np.full(half, values[0]), values, np.full(half, values[-1])))
    csum = np.concatenate(([0.0], np.cumsum(padded)))
    width = 2 * half + 1
    return (csum[width:] - csum[:-width])[: len(values)] / width


def _bucket_stat(x: np.ndarray, buckets: np.ndarray, n_buckets: int, stat, default: float = 0.0) -> np.ndarray:
    out = np.full(n_buckets, default, dtype=np.float64)
    order = np.argsort(buckets, kind="stable")
    sorted_buckets = buckets[order]
    bounds = np.searchsorted(sorted_buckets, np.arange(n_buckets + 1))
    for b in range(n_buckets):
        chunk = x[order[bounds[b]:bounds[b + 1]]]
        if len(chunk) >= 3:
            out[b] = stat(chunk)
    return out


@dataclass
class ForestDetector:
    """IsolationForest over standardised causal window features, calibrated on its training data.

    The features are computed on the deseasonalised series (value minus the time-of-day profile of a
    seasonal baseline fitted to the same history, zero when no period was found), so the daily cycle
    itself does not look unusual.
    """
    forest: IsolationForest
    period: float
    profile: np.ndarray
    centre: float
    scale: float
    raw_median: float
    raw_high: float
    feature_low: np.ndarray
    feature_high: np.ndarray
    tables: ForestTables

    def _features(self, ts: np.ndarray, values: np.ndarray) -> np.ndarray:
        deseasonalised = values - self.profile[bucket_index(ts, self.period, len(self.profile))]
        z = (deseasonalised - self.centre) / self.scale
        short_now, short_prev = rolling_medians(z, _SHORT_WINDOW)
        long_prev = rolling_mean(z, _LONG_WINDOW, exclude_current=True)
        return np.column_stack((
            z,
            lagged_diff(z, 1),
            z - short_prev,
            short_now - long_prev,
        ))

    @classmethod
    def fit(cls, ts: np.ndarray, values: np.ndarray, seasonal: SeasonalBaseline) -> "ForestDetector":
        deseasonalised = values - seasonal.profile[bucket_index(ts, seasonal.period, seasonal.n_buckets)]
        centre = float(np.median(deseasonalised))
        scale = max(robust_sigma(deseasonalised), 0.1 * float(np.std(deseasonalised)), _scale_floor(values))
        forest = IsolationForest(n_estimators=_FOREST_TREES, max_samples=min(_FOREST_SAMPLES, len(values)),
                                 random_state=_SEED)
        x = np.zeros((0, 0))
        detector = cls(forest=forest, period=seasonal.period, profile=seasonal.profile.copy(), centre=centre,
                       scale=scale, raw_median=0.0, raw_high=1.0, feature_low=x, feature_high=x, tables=None)
        x = detector._features(ts, values)
        forest.fit(x)
        detector.feature_low = np.quantile(x, 1.0 - _IF_QUANTILE, axis=0)
        detector.feature_high = np.quantile(x, _IF_QUANTILE, axis=0)
        detector.tables = ForestTables.from_forest(forest)
        raw = -detector.tables.score_samples(x)
        detector.raw_median = float(np.median(raw))
        detector.raw_high = max(float(np.quantile(raw, _IF_QUANTILE)), detector.raw_median + 1e-6)
        return detector

    def score(self, ts: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Calibrated forest score plus how far the furthest feature lies beyond its training range.

        The second term (in units of that range) only matters for points outside what the forest was
        trained on, where isolation depth saturates and can no longer tell "unusual" from "extreme".
        """
        x = self._features(ts, values)
        raw = -self.tables.score_samples(x)
        forest_score = np.maximum(raw - self.raw_median, 0.0) / (self.raw_high - self.raw_median)
        spread = np.maximum(self.feature_high - self.feature_low, 1e-9)
        beyond = np.maximum(x - self.feature_high, self.feature_low - x) / spread
        # The largest of a row's few columns, taken column against column: `max(axis=1)` over rows
        # this short loops once per row and costs more than the rest of this method.
        furthest = functools.reduce(np.maximum, beyond.T)
        return (forest_score + np.maximum(furthest, 0.0)) / CALIBRATION_MARGIN

    def band(self, ts: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Seasonal profile plus the trailing short-window level, +- K training sigmas."""
        seasonal = self.profile[bucket_index(ts, self.period, len(self.profile))]
        expected = seasonal + rolling_mean(values - seasonal, _SHORT_WINDOW, exclude_current=True)
        half = BAND_SIGMAS * self.scale
        return expected, expected - half, expected + half

    def to_state(self) -> dict:
        return {"estimator": self.forest, "period": self.period, "profile": self.profile.copy(),
                "centre": self.centre, "scale": self.scale, "raw_median": self.raw_median,
                "raw_high": self.raw_high, "feature_low": self.feature_low.copy(),
                "feature_high": self.feature_high.copy()}

    @classmethod
    def from_state(cls, state: dict) -> "ForestDetector":
        forest = state["estimator"]
        if not isinstance(forest, IsolationForest):
            raise ValueError("forest state does not hold an IsolationForest")
        return cls(forest=forest, period=float(state["period"]),
                   profile=np.asarray(state["profile"], dtype=np.float64), centre=float(state["centre"]),
                   scale=float(state["scale"]), raw_median=float(state["raw_median"]),
                   raw_high=float(state["raw_high"]),
                   feature_low=np.asarray(state["feature_low"], dtype=np.float64),
                   feature_high=np.asarray(state["feature_high"], dtype=np.float64),
                   tables=ForestTables.from_forest(forest))


class MetricModel:
    """A trained detector for one metric.

    validation_score: the share of a held-out tail of the training data (the last 20%) that a model
    trained on the rest scores as normal (score <= 1), i.e. how well the model explains data it has
    not seen; 1.0 means it explained every held-out point. It is 0.0 when the history was too short
    to hold a tail out (a model on fewer than MIN_TRAIN_POINTS points) or validation was skipped.
    """

    def __init__(self, kind: str, n_points: int, validation_score: float,
                 seasonal: SeasonalBaseline | None, forest: ForestDetector | None):
        self.kind = kind
        self.n_points = n_points
        self.validation_score = validation_score
        self.seasonal = seasonal
        self.forest = forest

    def score(self, ts: Any, values: Any) -> ScoreResult:
        """Scores for every input point; rolling features only look back within the input."""
        ts_arr, val_arr = _as_series(ts, values, 1)
        if self.kind == "iforest":
            expected, lower, upper = self.forest.band(ts_arr, val_arr)
            return ScoreResult(score=self.forest.score(ts_arr, val_arr), expected=expected, lower=lower,
                               upper=upper)
        base = self.seasonal.score(ts_arr, val_arr)
        if self.kind == "ensemble":
            forest = self.forest.score(ts_arr, val_arr)
            base.score = np.sqrt(np.sqrt(0.5 * (base.score ** 4 + forest ** 4)))
        return base

    def to_state(self) -> dict:
        return {
            "state_version": STATE_VERSION,
            "kind": self.kind,
            "n_points": self.n_points,
            "validation_score": self.validation_score,
            "seasonal": self.seasonal.to_state() if self.seasonal else None,
            "forest": self.forest.to_state() if self.forest else None,
        }

    @classmethod
    def from_state(cls, state: dict) -> "MetricModel":
        if not isinstance(state, dict) or state.get("state_version") != STATE_VERSION:
            raise ValueError(f"not a detector state of version {STATE_VERSION}")
        kind = state.get("kind")
        if kind not in DETECTOR_KINDS:
            raise ValueError(f"unknown detector kind {kind!r} in state")
        seasonal = SeasonalBaseline.from_state(state["seasonal"]) if state.get("seasonal") else None
        forest = ForestDetector.from_state(state["forest"]) if state.get("forest") else None
        if (kind != "iforest" and seasonal is None) or (kind != "seasonal" and forest is None):
            raise ValueError(f"state of kind {kind!r} lacks its detector parts")
        return cls(kind, int(state["n_points"]), float(state["validation_score"]), seasonal, forest)


def _fit_parts(kind: str, ts: np.ndarray, values: np.ndarray) -> tuple[SeasonalBaseline | None, ForestDetector | None]:
    seasonal = SeasonalBaseline.fit(ts, values)
    forest = ForestDetector.fit(ts, values, seasonal) if kind in ("iforest", "ensemble") else None
    return (None if kind == "iforest" else seasonal), forest


def train_metric(ts: Any, values: Any, kind: str = "ensemble", validate: bool = True) -> MetricModel:
    """Train a detector of `kind` on a metric's history (unix seconds, values).

    With validate=False the held-out check is skipped (validation_score 0.0); the walk-forward
    benchmark retrains often and does not need it.
    """
    if kind not in DETECTOR_KINDS:
        raise ValueError(f"unknown detector kind {kind!r}; choose one of {', '.join(DETECTOR_KINDS)}")
    ts_arr, val_arr = _as_series(ts, values, MIN_TRAIN_POINTS)
    validation = 0.0
    if validate:
        split = len(ts_arr) - max(8, int(len(ts_arr) * _HOLDOUT_FRACTION))
        if split >= MIN_TRAIN_POINTS:
            head = MetricModel(kind, split, 0.0, *_fit_parts(kind, ts_arr[:split], val_arr[:split]))
            tail_scores = head.score(ts_arr, val_arr).score[split:]
            validation = float(np.mean(tail_scores <= 1.0))
    return MetricModel(kind, len(ts_arr), validation, *_fit_parts(kind, ts_arr, val_arr))


def merge_intervals(ts: Any, score: Any, threshold: float = 1.0, max_gap: int = 3) -> list[dict]:
    """Anomalous points (score > threshold) merged into intervals.

    Two anomalous points merge when they are at most `max_gap` positions apart, so a short dip below
    the threshold inside one incident does not split it.
    """
    ts_arr = np.asarray(ts, dtype=np.float64)
    score_arr = np.asarray(score, dtype=np.float64)
    if ts_arr.shape != score_arr.shape or ts_arr.ndim != 1:
        raise ValueError("timestamps and scores must be one-dimensional and of equal length")
    hits = np.flatnonzero(score_arr > threshold)
    if len(hits) == 0:
        return []
    breaks = np.flatnonzero(np.diff(hits) > max_gap)
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [len(hits) - 1]))
    intervals = []
    for first, last in zip(starts, ends):
        lo, hi = hits[first], hits[last]
        intervals.append({"start": float(ts_arr[lo]), "end": float(ts_arr[hi]),
                          "peak_score": float(score_arr[lo:hi + 1].max())})
    return intervals
