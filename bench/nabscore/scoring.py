"""NAB's published scoring rules, written from their description (NAB whitepaper and documentation).

- Each file's first 15% of rows (at most 15% of 5,000 = 750 rows) is a probation period: detections
  there are ignored.
- A detection at row i inside a window [l, r] of width w = r - l + 1 rows has relative position
  -(r - i + 1) / w and earns tp * sigma(pos) / sigma(-1); only the best (= earliest) detection of a
  window counts; an undetected window costs -fn.
- A detection outside every window is a false positive: fp * sigma(pos) with pos = |i - r_prev| / (w_prev - 1)
  measured from the right edge of the previous window, or the full penalty -fp when no window precedes it.
- sigma(x) = 2 / (1 + exp(5x)) - 1, and -1 for x >= 3 ("scaled sigmoid").
- One threshold for the whole corpus per profile, chosen to maximise the corpus total; a row is a
  detection when its anomaly score >= threshold.
- Normalised score = 100 * (raw - null) / (perfect - null), where null is the raw score of a detector
  that never fires (-fn per window) and perfect is tp per window.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

PROBATION_PERCENT = 0.15
PROBATION_CAP_ROWS = 5000


@dataclass(frozen=True)
class Profile:
    name: str
    tp: float
    fp: float
    fn: float


PROFILES = {
    "standard": Profile("standard", tp=1.0, fp=0.11, fn=1.0),
    "reward_low_FP_rate": Profile("reward_low_FP_rate", tp=1.0, fp=0.22, fn=1.0),
    "reward_low_FN_rate": Profile("reward_low_FN_rate", tp=1.0, fp=0.11, fn=2.0),
}

OUTSIDE = -1
PROBATION = -2


def scaled_sigmoid(position: np.ndarray) -> np.ndarray:
    position = np.asarray(position, dtype=np.float64)
    return np.where(position >= 3.0, -1.0, 2.0 / (1.0 + np.exp(5.0 * np.minimum(position, 3.0))) - 1.0)


MAX_TP = float(scaled_sigmoid(np.array(-1.0)))


def probation_length(n_rows: int, percent: float = PROBATION_PERCENT) -> float:
    """Rows with index below this are in probation (a float, compared as NAB compares it)."""
    return min(math.floor(percent * n_rows), percent * PROBATION_CAP_ROWS)


@dataclass
class FileLayout:
    """Per row of one file: which window it is in (or OUTSIDE / PROBATION) and its unweighted reward.

    `tp_share` is sigma(pos) / sigma(-1) for rows in a window, `fp_share` is sigma(pos) (<= 0) for rows
    outside; the profile weights multiply these.
    """
    window_id: np.ndarray
    tp_share: np.ndarray
    fp_share: np.ndarray
    n_windows: int


def layout_file(n_rows: int, windows: list[tuple[int, int]], window_base: int = 0) -> FileLayout:
    """Window membership and rewards for a file whose windows are given as inclusive row ranges.

    Windows must be sorted and disjoint; ids are numbered from window_base so a corpus can
    concatenate files.
    """
    rows = np.arange(n_rows)
    window_id = np.full(n_rows, OUTSIDE, dtype=np.int64)
    tp_share = np.zeros(n_rows)
    fp_share = np.full(n_rows, -1.0)
    previous_end = -1
    for k, (left, right) in enumerate(windows):
        if not (0 <= left <= right < n_rows) or left <= previous_end:
            raise ValueError(f"window {k} ({left}, {right}) is out of range or overlaps the previous one")
        width = right - left + 1
        inside = slice(left, right + 1)
        window_id[inside] = window_base + k
        tp_share[inside] = scaled_sigmoid(-(right - rows[inside] + 1) / width) / MAX_TP
        fp_share[inside] = 0.0
        next_left = windows[k + 1][0] if k + 1 < len(windows) else n_rows
        after = slice(right + 1, next_left)
        if width > 1:
            fp_share[after] = scaled_sigmoid(np.abs(rows[after] - right) / (width - 1))
        previous_end = right
    in_probation = rows < probation_length(n_rows)
    window_id[in_probation] = PROBATION
    counted = {int(w) for w in np.unique(window_id) if w >= 0}
    return FileLayout(window_id=window_id, tp_share=tp_share, fp_share=fp_share,
                      n_windows=len(counted))


@dataclass
class SweepResult:
    threshold: float
    raw: float
    normalised: float
    true_positives: int
    false_positives: int
    false_negatives: int


class CorpusScorer:
    """Collects (scores, layout) for every file, then sweeps one threshold over the corpus."""

    def __init__(self) -> None:
        self._scores: list[np.ndarray] = []
        self._layouts: list[FileLayout] = []
        self.n_windows = 0

    def add_file(self, scores: np.ndarray, windows: list[tuple[int, int]]) -> None:
        scores = np.asarray(scores, dtype=np.float64)
        if not np.all(np.isfinite(scores)):
            raise ValueError("anomaly scores must be finite numbers")
        layout = layout_file(len(scores), windows, window_base=self.n_windows)
        self.n_windows += len(windows)
        self._scores.append(scores)
        self._layouts.append(layout)

    def _sweep(self, profile: Profile) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
        """Scores sorted high to low and, for a threshold equal to each of them, the corpus total
        and the counts of detected windows and false positives."""
        scores = np.concatenate(self._scores)
        window_id = np.concatenate([lay.window_id for lay in self._layouts])
        tp_share = np.concatenate([lay.tp_share for lay in self._layouts])
        fp_share = np.concatenate([lay.fp_share for lay in self._layouts])
        counted = window_id != PROBATION
        scores, window_id = scores[counted], window_id[counted]
        tp_gain, fp_gain = profile.tp * tp_share[counted], profile.fp * fp_share[counted]
        n_windows = sum(lay.n_windows for lay in self._layouts)

        order = np.argsort(-scores, kind="stable")
        scores, window_id = scores[order], window_id[order]
        tp_gain, fp_gain = tp_gain[order], fp_gain[order]
        outside = window_id == OUTSIDE
        delta = np.where(outside, fp_gain, 0.0)
        first_hit = np.zeros(len(scores), dtype=bool)
        for w in np.unique(window_id[~outside]):
            at = np.flatnonzero(window_id == w)
            credit = np.maximum.accumulate(np.concatenate(([-profile.fn], tp_gain[at])))
            delta[at] += np.diff(credit)
            first_hit[at[0]] = True
        totals = -profile.fn * n_windows + np.cumsum(delta)
        return scores, totals, np.cumsum(first_hit), np.cumsum(outside), n_windows

    def _result(self, profile: Profile, threshold: float, k: int | None, sweep) -> SweepResult:
        scores, totals, tp_count, fp_count, n_windows = sweep
        if k is None:
            raw, tp, fp = -profile.fn * n_windows, 0, 0
        else:
            raw, tp, fp = float(totals[k]), int(tp_count[k]), int(fp_count[k])
        return SweepResult(threshold=threshold, raw=raw, normalised=normalise(raw, profile, n_windows),
                           true_positives=tp, false_positives=fp, false_negatives=n_windows - tp)

    def at_threshold(self, profile: Profile, threshold: float) -> SweepResult:
        """The corpus total when every row with score >= threshold is a detection."""
        sweep = self._sweep(profile)
        detected = int(np.searchsorted(-sweep[0], -threshold, side="right"))
        return self._result(profile, threshold, detected - 1 if detected else None, sweep)

    def best(self, profile: Profile) -> SweepResult:
        """The threshold with the highest corpus total (no detection at all if nothing beats it)."""
        sweep = self._sweep(profile)
        scores, totals = sweep[0], sweep[1]
        last_of_value = np.flatnonzero(np.append(scores[1:] != scores[:-1], True)) if len(scores) else []
        if len(last_of_value):
            k = int(last_of_value[np.argmax(totals[last_of_value])])
            if totals[k] > -profile.fn * sweep[4]:
                return self._result(profile, float(scores[k]), k, sweep)
        return self._result(profile, float("inf"), None, sweep)


def normalise(raw: float, profile: Profile, n_windows: int) -> float:
    null = -profile.fn * n_windows
    perfect = profile.tp * n_windows
    if perfect == null:
        return 0.0
    return 100.0 * (raw - null) / (perfect - null)
