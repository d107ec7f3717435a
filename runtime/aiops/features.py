"""Causal, vectorised window statistics shared by the detectors.

Every function here computes the value at index i from points at or before i only, so scores built
from them never change when later points change (the benchmark and live scoring rely on that).
At the start of a series the windows are simply shorter ("expanding" until they are full).
"""
from __future__ import annotations

import numpy as np

DAY = 86400.0
WEEK = 7 * DAY


def _window_sums(x: np.ndarray, window: int, exclude_current: bool) -> tuple[np.ndarray, np.ndarray]:
    """Sum and count over the trailing window ending at i (or at i-1 when exclude_current)."""
    csum = np.concatenate(([0.0], np.cumsum(x, dtype=np.float64)))
    idx = np.arange(len(x))
    end = idx if exclude_current else idx + 1
    start = np.maximum(end - window, 0)
    return csum[end] - csum[start], (end - start).astype(np.float64)


def rolling_mean(x: np.ndarray, window: int, exclude_current: bool = False) -> np.ndarray:
    """Trailing mean; with exclude_current the mean of the `window` points before i (x[0] for i=0)."""
    total, count = _window_sums(x, window, exclude_current)
    out = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
    if exclude_current and len(x):
        out[0] = x[0]
    return out


def _window_medians(padded: np.ndarray, window: int) -> np.ndarray:
    """Median of every run of `window` consecutive values.

    A window of four (the detectors' short window) uses a min/max network instead of sorting each
    window: the two middle values are exactly those a sort would give, at a fraction of the cost.
    """
    if window == 4 and not np.isnan(padded).any():
        a, b, c, d = (padded[k:len(padded) - 3 + k] for k in range(4))
        low = np.maximum(np.minimum(a, b), np.minimum(c, d))
        high = np.minimum(np.maximum(a, b), np.maximum(c, d))
        return 0.5 * (low + high)
    ordered = np.sort(np.lib.stride_tricks.sliding_window_view(padded, window), axis=1)
    middle = window // 2
    if window % 2:
        return ordered[:, middle]
    return 0.5 * (ordered[:, middle - 1] + ordered[:, middle])


def rolling_median(x: np.ndarray, window: int, exclude_current: bool = False) -> np.ndarray:
    """Trailing median, robust to a single spike; before the window fills, x[0] stands in for the
    missing earlier points."""
    including, excluding = rolling_medians(x, window)
    return excluding if exclude_current else including


def rolling_medians(x: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """(trailing median at i, trailing median of the `window` points before i), as `rolling_median`
    computes them, from one pass: the window before i+1 is the window ending at i."""
    if len(x) == 0:
        empty = x.astype(np.float64)
        return empty, empty
    medians = _window_medians(np.concatenate((np.full(window, x[0], dtype=np.float64), x)), window)
    return medians[1:], medians[:-1]


def lagged_diff(x: np.ndarray, lag: int) -> np.ndarray:
    """x[i] - x[i-lag], zero where there is no earlier point."""
    out = np.zeros_like(x, dtype=np.float64)
    if lag < len(x):
        out[lag:] = x[lag:] - x[:-lag]
    return out


def robust_sigma(x: np.ndarray) -> float:
    """1.4826 * MAD: the standard deviation of Gaussian data, ignoring outliers."""
    if len(x) == 0:
        return 0.0
    return float(1.4826 * np.median(np.abs(x - np.median(x))))


def sampling_step(ts: np.ndarray) -> float:
    """Typical spacing between points in seconds (median, so gaps do not distort it)."""
    return float(np.median(np.diff(ts))) if len(ts) > 1 else 1.0


def autocorrelation(x: np.ndarray, lag: int) -> float:
    """Pearson correlation of the series with itself `lag` points later (0 when undefined)."""
    if lag <= 0 or lag >= len(x) - 2:
        return 0.0
    a, b = x[:-lag], x[lag:]
    sa, sb = a.std(), b.std()
    if sa == 0 or sb == 0:
        return 0.0
    return float(np.mean((a - a.mean()) * (b - b.mean())) / (sa * sb))


def infer_period(ts: np.ndarray, values: np.ndarray, min_cycles: int = 3,
                 min_correlation: float = 0.3) -> float | None:
    """Daily or weekly period in seconds when the history shows it, else None.

    A candidate must be covered `min_cycles` times by the history and the series, with its slow trend
    removed, must correlate with itself one period later by at least `min_correlation`; the strongest
    candidate wins.
    """
    step = sampling_step(ts)
    span = float(ts[-1] - ts[0]) if len(ts) > 1 else 0.0
    best, best_corr = None, min_correlation
    for period in (DAY, WEEK):
        lag = int(round(period / step))
        if lag < 4 or span < min_cycles * period:
            continue
        detrended = values - rolling_mean(values, lag)
        corr = autocorrelation(detrended[lag:], lag)
        if corr > best_corr:
            best, best_corr = period, corr
    return best
