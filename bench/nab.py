"""Detection quality of the AIOps detectors on the Numenta Anomaly Benchmark (NAB), walk-forward.

For each of NAB's files: train on the first 15% (NAB's probation period), score the next stretch
(half as long), retrain on everything seen so far (the most recent MAX_TRAIN points), score the next
stretch, and so on. A point's score depends only on models trained before its stretch and on points
at or before it. Repeated timestamps in NAB are nudged (see `strictly_increasing`).

NAB counts every flagged row outside a window as a separate false positive, while the runtime
reports merged intervals; so, as the runtime's alerts do, only the onset of an episode is reported:
a row keeps its score only if it is higher than every score in the HOLD rows before it (see
`onset_scores`). The per-row scores are then scored with NAB's rules (bench/nabscore/scoring.py),
one threshold per corpus and profile.

Usage: python bench/nab.py [--data DIR] [--detector ensemble|seasonal|iforest|null|perfect] [--jobs N]
Ends with one JSON line of the three profile scores.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.nabscore.corpus import DataFile, load_corpus  # noqa: E402
from bench.nabscore.scoring import PROFILES, CorpusScorer, probation_length  # noqa: E402
from runtime.aiops.detectors import DETECTOR_KINDS, MIN_TRAIN_POINTS, train_metric  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "datasets" / "nab"
MAX_TRAIN = 4000
CONTEXT = 512
HOLD = 200
SANITY_DETECTORS = ("null", "perfect")


def walk_forward_scores(ts: np.ndarray, values: np.ndarray, kind: str, first_train: int,
                        stretch: int) -> np.ndarray:
    """Causal per-row scores: rows before first_train get 0, later rows are scored by a model
    trained on the rows before their stretch (see module docstring)."""
    n = len(values)
    scores = np.zeros(n)
    start = max(first_train, MIN_TRAIN_POINTS)
    while start < n:
        train_from = max(0, start - MAX_TRAIN)
        model = train_metric(ts[train_from:start], values[train_from:start], kind, validate=False)
        end = min(n, start + stretch)
        context_from = max(0, start - CONTEXT)
        result = model.score(ts[context_from:end], values[context_from:end])
        scores[start:end] = result.score[start - context_from:]
        start = end
    return scores


def onset_scores(scores: np.ndarray, hold: int = HOLD) -> np.ndarray:
    """Keep a row's score only when it beats every score of the `hold` rows before it, else 0.

    Causal, and independent of the threshold chosen later: for any threshold, an episode that stays
    above it produces a detection at its onset and again only if it climbs higher.
    """
    n = len(scores)
    if n == 0:
        return scores.copy()
    padded = np.concatenate((np.full(hold, -np.inf), scores))
    windows = np.lib.stride_tricks.sliding_window_view(padded[:-1], hold)
    previous_max = windows.max(axis=1)
    return np.where(scores > previous_max, scores, 0.0)


def strictly_increasing(ts: np.ndarray) -> np.ndarray:
    """NAB has a few repeated (and one backwards) timestamps; the detectors need strictly increasing
    ones, so each such row is moved to one second after the row before it. Rows stay aligned with
    NAB's row-based windows."""
    offset = np.arange(len(ts), dtype=np.float64)
    return np.maximum.accumulate(ts - offset) + offset


def file_scores(job: tuple[DataFile, str]) -> np.ndarray:
    data, detector = job
    n = len(data.values)
    if detector == "null":
        return np.zeros(n)
    if detector == "perfect":
        out = np.zeros(n)
        out[[left for left, _ in data.windows]] = 1.0
        return out
    first_train = int(np.ceil(probation_length(n)))
    raw = walk_forward_scores(strictly_increasing(data.timestamps), data.values, detector, first_train,
                              stretch=max(1, first_train // 2))
    return onset_scores(raw)


def run(data_dir: Path, detector: str, jobs: int) -> dict:
    started = time.perf_counter()
    corpus = load_corpus(data_dir)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        all_scores = list(pool.map(file_scores, [(f, detector) for f in corpus]))
    scorer = CorpusScorer()
    for data, scores in zip(corpus, all_scores):
        scorer.add_file(scores, data.windows)
    result: dict = {"detector": detector}
    for name, profile in PROFILES.items():
        result[name] = round(scorer.best(profile).normalised, 2)
    result.update(files=len(corpus), windows=scorer.n_windows,
                  seconds=round(time.perf_counter() - started, 1))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="NAB corpus directory")
    parser.add_argument("--detector", default="ensemble", choices=DETECTOR_KINDS + SANITY_DETECTORS)
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    args = parser.parse_args(argv)
    try:
        result = run(args.data, args.detector, max(1, args.jobs))
    except (FileNotFoundError, ValueError) as exc:
        print(f"nab bench: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
