"""Seeded synthetic metric data: daily seasonality plus noise, with optional injected anomalies."""
from __future__ import annotations

import numpy as np

STEP = 300.0
DAY_POINTS = int(86400 / STEP)
T0 = 1_700_000_000.0 - (1_700_000_000.0 % 86400)


def seasonal(n: int, start: float = T0, seed: int = 7, step: float = STEP) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ts = start + np.arange(n) * step
    values = 10 + 3 * np.sin(2 * np.pi * ts / 86400) + rng.normal(0, 0.3, n)
    return ts, values


def points(ts, values) -> list[list[float]]:
    return [[float(a), float(b)] for a, b in zip(ts, values)]


def with_spike_and_shift(ts, values, spike_at: int, shift_from: int, spike: float = 8.0, shift: float = 5.0):
    out = values.copy()
    out[spike_at] += spike
    out[shift_from:] += shift
    return ts, out
