"""The detector module's contract: common score scale, detection on seeded data, state round trips."""
from __future__ import annotations

import numpy as np
import pytest
import skops.io as sio
from sklearn.ensemble import IsolationForest

from runtime.aiops.detectors import (
    DETECTOR_KINDS,
    MIN_TRAIN_POINTS,
    MetricModel,
    ScoreResult,
    merge_intervals,
    train_metric,
)
from runtime.aiops.features import infer_period, rolling_mean, rolling_median, rolling_medians
from runtime.aiops.forest import float32_at_most

STEP = 300.0
DAY_POINTS = 288
T0 = 1_699_920_000.0


def seasonal_series(n: int, start: float = T0, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ts = start + np.arange(n) * STEP
    return ts, 50 + 10 * np.sin(2 * np.pi * ts / 86400) + rng.normal(0, 1.0, n)


@pytest.fixture(scope="module")
def history():
    return seasonal_series(7 * DAY_POINTS)


@pytest.fixture(scope="module")
def models(history):
    ts, values = history
    return {kind: train_metric(ts, values, kind) for kind in DETECTOR_KINDS}


def spike_and_shift(history) -> tuple[np.ndarray, np.ndarray]:
    ts, values = seasonal_series(DAY_POINTS, start=history[0][-1] + STEP, seed=9)
    values[60] += 12.0
    values[180:] += 8.0
    return ts, values


CLEAN = np.r_[0:60, 62:180]


@pytest.mark.parametrize("kind", ["seasonal", "ensemble"])
def test_finds_spike_and_level_shift_and_nothing_on_the_clean_part(models, history, kind):
    ts, values = spike_and_shift(history)
    result = models[kind].score(ts, values)
    intervals = merge_intervals(ts, result.score)
    assert any(i["start"] <= ts[60] <= i["end"] for i in intervals), intervals
    assert any(ts[180] <= i["start"] <= ts[183] for i in intervals), intervals
    assert (result.score[CLEAN] <= 1.0).all(), result.score[CLEAN].max()


def test_isolation_forest_alone_ranks_spike_and_shift_above_the_clean_part(models, history):
    """An IsolationForest saturates: a point far outside the training range scores about as high as
    the most extreme training points, so on its own it ranks anomalies first but sits near 1.0."""
    ts, values = spike_and_shift(history)
    score = models["iforest"].score(ts, values).score
    assert (score[CLEAN] <= 1.0).all()
    assert min(score[60], score[180:184].max()) > score[CLEAN].max()


@pytest.mark.parametrize("kind", DETECTOR_KINDS)
def test_model_reports_kind_size_validation_and_band(models, history, kind):
    model = models[kind]
    assert (model.kind, model.n_points) == (kind, len(history[0]))
    assert 0.95 <= model.validation_score <= 1.0
    ts, values = seasonal_series(500, start=history[0][-1] + STEP, seed=5)
    result = model.score(ts, values)
    assert isinstance(result, ScoreResult)
    for array in (result.score, result.expected, result.lower, result.upper):
        assert array.shape == (500,) and np.isfinite(array).all()
    assert (result.lower <= result.expected).all() and (result.expected <= result.upper).all()
    assert (result.score >= 0).all()


def test_seasonal_expectation_follows_the_daily_cycle(models, history):
    ts, values = seasonal_series(DAY_POINTS, start=history[0][-1] + STEP, seed=5)
    result = models["seasonal"].score(ts, values)
    truth = 50 + 10 * np.sin(2 * np.pi * ts / 86400)
    assert np.median(np.abs(result.expected - truth)) < 1.0
    assert infer_period(*history) == 86400.0


def test_scores_are_causal(models, history):
    ts, values = seasonal_series(600, start=history[0][-1] + STEP, seed=13)
    changed = values.copy()
    changed[300:] = np.random.default_rng(1).normal(500, 100, 300)
    for model in models.values():
        before = model.score(ts, values)
        after = model.score(ts, changed)
        for field in ("score", "expected", "lower", "upper"):
            np.testing.assert_array_equal(getattr(before, field)[:300], getattr(after, field)[:300])


@pytest.mark.parametrize("kind", DETECTOR_KINDS)
def test_state_round_trip_through_skops_gives_identical_scores(models, history, kind):
    state = models[kind].to_state()
    blob = sio.dumps(state)
    restored = MetricModel.from_state(sio.loads(blob, trusted=sio.get_untrusted_types(data=blob)))
    assert (restored.kind, restored.n_points, restored.validation_score) == (
        kind, models[kind].n_points, models[kind].validation_score)
    ts, values = seasonal_series(300, start=history[0][-1] + STEP, seed=17)
    original, again = models[kind].score(ts, values), restored.score(ts, values)
    for field in ("score", "expected", "lower", "upper"):
        np.testing.assert_array_equal(getattr(original, field), getattr(again, field))


def test_from_state_rejects_foreign_or_incomplete_states(models):
    with pytest.raises(ValueError, match="version"):
        MetricModel.from_state({"kind": "seasonal"})
    state = models["ensemble"].to_state()
    state["forest"] = None
    with pytest.raises(ValueError, match="lacks"):
        MetricModel.from_state(state)
    with pytest.raises(ValueError, match="unknown detector kind"):
        MetricModel.from_state({**models["seasonal"].to_state(), "kind": "magic"})


@pytest.mark.parametrize("ts,values,message", [
    (np.arange(10.0), np.ones(10), "at least"),
    (np.arange(40.0), np.r_[np.ones(39), np.nan], "NaN"),
    (np.r_[np.arange(39.0), 5.0], np.ones(40), "strictly increasing"),
    (np.r_[np.arange(39.0), 38.0], np.ones(40), "strictly increasing"),
    (np.arange(40.0), np.ones(41), "41 values"),
    (np.arange(40.0), ["x"] * 40, "numbers"),
])
def test_bad_training_input_gives_a_clear_error(ts, values, message):
    with pytest.raises(ValueError, match=message):
        train_metric(ts, values)


def test_unknown_kind_and_bad_score_input(models):
    ts, values = seasonal_series(MIN_TRAIN_POINTS)
    with pytest.raises(ValueError, match="unknown detector kind 'magic'"):
        train_metric(ts, values, kind="magic")
    with pytest.raises(ValueError, match="NaN"):
        models["ensemble"].score(ts, np.r_[values[:-1], np.inf])
    with pytest.raises(ValueError, match="at least 1"):
        models["ensemble"].score([], [])


def test_flat_history_still_scores_a_change_as_anomalous():
    ts = T0 + np.arange(200) * 60.0
    model = train_metric(ts, np.full(200, 7.0), "ensemble")
    result = model.score(ts[:50], np.r_[np.full(49, 7.0), 9.0])
    assert (result.score[:49] <= 1.0).all() and result.score[49] > 1.0


def test_rolling_statistics_against_direct_computation():
    x = np.random.default_rng(2).normal(size=50)
    mean = rolling_mean(x, 5)
    prior = rolling_mean(x, 5, exclude_current=True)
    median = rolling_median(x, 5)
    prior_median = rolling_median(x, 5, exclude_current=True)
    for i in (0, 3, 4, 20, 49):
        window = x[max(0, i - 4):i + 1]
        assert mean[i] == pytest.approx(window.mean())
    for i in (5, 20, 49):
        assert median[i] == np.median(x[i - 4:i + 1])
        assert prior_median[i] == np.median(x[i - 5:i])
    assert median[1] == np.median([x[0], x[0], x[0], x[0], x[1]])
    assert prior[0] == x[0] and prior[10] == pytest.approx(x[5:10].mean())


@pytest.mark.parametrize("window", [2, 3, 4, 5])
def test_rolling_medians_equal_the_median_of_each_padded_window(window):
    """Both medians of every point equal np.median of its window (the first value standing in before
    the start), ties and infinities included; window 4 takes the min/max network path."""
    rng = np.random.default_rng(window)
    x = np.round(rng.normal(size=60), 1)
    x[[7, 30]] = [np.inf, -np.inf]
    padded = np.concatenate((np.full(window, x[0]), x))
    including, excluding = rolling_medians(x, window)
    for i in range(len(x)):
        assert including[i] == np.median(padded[i + 1:i + 1 + window])
        assert excluding[i] == np.median(padded[i:i + window])
    assert np.array_equal(rolling_median(x, window), including)
    assert np.array_equal(rolling_median(x, window, exclude_current=True), excluding)
    assert [len(part) for part in rolling_medians(np.zeros(0), window)] == [0, 0]


def test_float32_thresholds_decide_like_the_float64_ones():
    """The walk compares float32 features with thresholds rounded down to float32; that must give
    the same decision as comparing with the float64 threshold for every float32 value nearby."""
    rng = np.random.default_rng(5)
    thresholds = np.concatenate((rng.normal(size=200) * 10.0 ** rng.integers(-30, 30, 200),
                                 [0.0, -0.0, 0.1, 1e39, -1e39, np.inf]))
    rounded = float32_at_most(thresholds)
    assert rounded.dtype == np.float32
    with np.errstate(over="ignore"):
        for threshold, low in zip(thresholds, rounded):
            near = np.float32(threshold) if np.isfinite(np.float32(threshold)) else low
            for value in (near, np.nextafter(near, np.float32(np.inf)), np.nextafter(near, np.float32(-np.inf)), low):
                assert (value > low) == (np.float64(value) > threshold), (threshold, value)


def test_merge_intervals_joins_points_within_the_gap():
    ts = np.arange(20.0) * 10
    score = np.zeros(20)
    score[[2, 3, 6]] = [1.5, 2.5, 1.2]
    score[[12, 19]] = [3.0, 1.0001]
    assert merge_intervals(ts, score) == [
        {"start": 20.0, "end": 60.0, "peak_score": 2.5},
        {"start": 120.0, "end": 120.0, "peak_score": 3.0},
        {"start": 190.0, "end": 190.0, "peak_score": 1.0001},
    ]
    assert merge_intervals(ts, score, max_gap=2)[0]["end"] == 30.0
    assert merge_intervals(ts, score, threshold=2.6) == [{"start": 120.0, "end": 120.0, "peak_score": 3.0}]
    assert merge_intervals(ts, np.ones(20)) == []
    with pytest.raises(ValueError):
        merge_intervals(ts, score[:5])


def test_state_is_plain_types_arrays_and_estimators(models):
    def check(value):
        if isinstance(value, dict):
            for key, item in value.items():
                assert isinstance(key, str)
                check(item)
        else:
            assert value is None or isinstance(value, (str, int, float, np.ndarray, IsolationForest)), type(value)
    check(models["ensemble"].to_state())
