"""NAB scoring rules on small hand-computed cases, and null = 0 / perfect = 100 on real NAB files.

Reference numbers, computed by hand from sigma(x) = 2 / (1 + e^(5x)) - 1:
  sigma(-1) = 0.98661430 (the earliest detection, NAB's maxTP)
  sigma(-0.6) / sigma(-1) = 0.91742868    sigma(-0.1) / sigma(-1) = 0.24824155
  sigma(1/3) = -0.68226179                sigma(3) and beyond = -1
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from bench.nabscore.corpus import load_corpus
from bench.nabscore.scoring import (
    PROFILES,
    CorpusScorer,
    layout_file,
    normalise,
    probation_length,
    scaled_sigmoid,
)

STANDARD = PROFILES["standard"]
NAB_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "nab"
# 100 rows: probation is rows 0..14; one window of 10 rows, 40..49.
N_ROWS, WINDOW = 100, (40, 49)


def raw_score(detections: list[int], profile=STANDARD, windows=(WINDOW,), n_rows=N_ROWS) -> float:
    scores = np.zeros(n_rows)
    scores[detections] = 1.0
    scorer = CorpusScorer()
    scorer.add_file(scores, list(windows))
    return scorer.at_threshold(profile, 1.0).raw


def test_scaled_sigmoid_reference_values():
    assert scaled_sigmoid(np.array(-1.0)) == pytest.approx(0.98661430, abs=1e-8)
    assert scaled_sigmoid(np.array(0.0)) == pytest.approx(0.0)
    assert scaled_sigmoid(np.array(1 / 3)) == pytest.approx(-0.68226179, abs=1e-8)
    assert scaled_sigmoid(np.array([3.0, 7.5])).tolist() == [-1.0, -1.0]


def test_probation_is_fifteen_percent_capped_at_750_rows():
    assert probation_length(100) == 15
    assert probation_length(4032) == 604
    assert probation_length(22695) == pytest.approx(750)


@pytest.mark.parametrize("detections,expected", [
    ([40], 1.0),                                   # first row of the window: full reward
    ([44], 0.91742868),                            # position -(49-44+1)/10 = -0.6
    ([49], 0.24824155),                            # last row: position -0.1
    ([42, 44, 48], 0.97710684),                    # only the earliest detection counts (-0.8)
    ([20], -1.0 - 0.11),                           # missed window plus a false positive before it
    ([52], -1.0 + 0.11 * -0.68226179),             # FP 3 rows after a 10-row window: position 3/9
    ([40, 52], 1.0 + 0.11 * -0.68226179),
    ([40, 80], 1.0 - 0.11),                        # 31/9 > 3: full FP penalty
    ([5, 10], -1.0),                               # detections in probation are ignored
])
def test_hand_computed_raw_scores(detections, expected):
    assert raw_score(detections) == pytest.approx(expected, abs=1e-7)


def test_profiles_weigh_false_positives_and_misses():
    assert raw_score([20], PROFILES["reward_low_FP_rate"]) == pytest.approx(-1.0 - 0.22)
    assert raw_score([40, 20], PROFILES["reward_low_FP_rate"]) == pytest.approx(1.0 - 0.22)
    assert raw_score([40, 20], PROFILES["reward_low_FN_rate"]) == pytest.approx(1.0 - 0.11)
    assert normalise(-2.0, PROFILES["reward_low_FN_rate"], 1) == 0.0
    assert normalise(0.0, PROFILES["reward_low_FN_rate"], 1) == pytest.approx(100 * 2 / 3)
    assert normalise(0.5, STANDARD, 2) == pytest.approx(100 * 2.5 / 4)


def test_one_threshold_is_swept_over_the_whole_corpus():
    """File A: window hit at score 0.5, a false positive at 0.9. File B: window hit at 0.7.
    Thresholds: 0.9 -> -2 - 0.11; 0.7 -> -1 + 1 - 0.11; 0.5 -> 1 + 1 - 0.11 (best)."""
    a, b = np.zeros(N_ROWS), np.zeros(N_ROWS)
    a[40], a[20], b[40] = 0.5, 0.9, 0.7
    scorer = CorpusScorer()
    scorer.add_file(a, [WINDOW])
    scorer.add_file(b, [WINDOW])
    result = scorer.best(STANDARD)
    assert (result.threshold, result.true_positives, result.false_positives) == (0.5, 2, 1)
    assert result.raw == pytest.approx(2 - 0.11)
    assert result.normalised == pytest.approx(100 * (2 - 0.11 + 2) / 4)


def test_best_threshold_prefers_silence_over_flooding():
    scorer = CorpusScorer()
    scorer.add_file(np.ones(N_ROWS), [WINDOW])
    flooded = scorer.at_threshold(STANDARD, 1.0)
    assert (flooded.true_positives, flooded.false_positives) == (1, N_ROWS - 15 - 10)
    best = scorer.best(STANDARD)
    assert (best.raw, best.threshold, best.normalised) == (-1.0, float("inf"), 0.0)


def test_layout_rejects_bad_windows():
    with pytest.raises(ValueError, match="overlaps"):
        layout_file(100, [(40, 49), (45, 60)])
    with pytest.raises(ValueError, match="out of range"):
        layout_file(100, [(90, 120)])


@pytest.fixture(scope="module")
def nab_subset():
    if not (NAB_DIR / "labels" / "combined_windows.json").is_file():
        message = f"NAB corpus not found at {NAB_DIR}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    corpus = load_corpus(NAB_DIR)
    assert len(corpus) == 58 and sum(len(f.windows) for f in corpus) == 116
    wanted = ("realKnownCause/nyc_taxi.csv", "realAdExchange/exchange-4_cpm_results.csv",
              "artificialNoAnomaly/art_flatline.csv", "realTraffic/speed_7578.csv")
    return [f for f in corpus if f.name in wanted]


def test_null_detector_scores_zero_and_perfect_detector_scores_100(nab_subset):
    for profile in PROFILES.values():
        null, perfect = CorpusScorer(), CorpusScorer()
        for data in nab_subset:
            null.add_file(np.full(len(data.values), 0.5), data.windows)
            hits = np.zeros(len(data.values))
            hits[[left for left, _ in data.windows]] = 1.0
            perfect.add_file(hits, data.windows)
        assert null.best(profile).normalised == 0.0
        assert perfect.best(profile).normalised == pytest.approx(100.0)
        assert perfect.n_windows == 13
