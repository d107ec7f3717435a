"""Reading the NAB corpus: data files and the official scoring windows (never recomputed)."""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

WINDOWS_FILE = Path("labels") / "combined_windows.json"


@dataclass
class DataFile:
    name: str
    timestamps: np.ndarray
    values: np.ndarray
    windows: list[tuple[int, int]]


def _parse_time(text: str) -> str:
    return text.strip()[:19].replace(" ", "T")


def read_series(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or [h.strip() for h in header[:2]] != ["timestamp", "value"]:
            raise ValueError(f"{path}: expected a 'timestamp,value' header")
        rows = [row for row in reader if row]
    try:
        stamps = [_parse_time(row[0]) for row in rows]
        seconds = np.array(stamps, dtype="datetime64[s]").astype(np.int64).astype(np.float64)
        values = np.array([float(row[1]) for row in rows])
    except (IndexError, ValueError) as exc:
        raise ValueError(f"{path}: unreadable row: {exc}") from None
    return stamps, seconds, values


def load_corpus(data_dir: Path) -> list[DataFile]:
    """Every file named in the window file, with its windows as inclusive row ranges."""
    windows_path = data_dir / WINDOWS_FILE
    if not windows_path.is_file():
        raise FileNotFoundError(f"no NAB window file at {windows_path}")
    windows = json.loads(windows_path.read_text())
    files = []
    for name in sorted(windows):
        stamps, seconds, values = read_series(data_dir / "data" / name)
        row_of = {stamp: k for k, stamp in enumerate(stamps)}
        ranges = []
        for start, end in windows[name]:
            try:
                ranges.append((row_of[_parse_time(start)], row_of[_parse_time(end)]))
            except KeyError as exc:
                raise ValueError(f"{name}: window edge {exc} is not a timestamp of the file") from None
        files.append(DataFile(name=name, timestamps=seconds, values=values, windows=ranges))
    return files
