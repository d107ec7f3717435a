"""The NAB bench's walk-forward scoring is causal, and the script's command line works end to end."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bench import nab
from bench.nabscore.corpus import DataFile

STEP = 300.0


def series(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ts = 1_700_006_400.0 + np.arange(n) * STEP
    values = 20 + 5 * np.sin(2 * np.pi * ts / 86400) + rng.normal(0, 0.5, n)
    values[min(900, n - 1)] += 9.0
    return ts, values


@pytest.mark.parametrize("kind", ["ensemble", "seasonal"])
def test_a_points_score_never_changes_when_later_points_change(kind):
    ts, values = series(1500, seed=1)
    changed = values.copy()
    cut = 1000
    changed[cut + 1:] = np.random.default_rng(2).normal(80, 30, len(values) - cut - 1)
    job = DataFile(name="synthetic.csv", timestamps=ts, values=values, windows=[])
    before = nab.file_scores((job, kind))
    after = nab.file_scores((DataFile("synthetic.csv", ts, changed, []), kind))
    np.testing.assert_array_equal(before[:cut + 1], after[:cut + 1])
    assert not np.array_equal(before, after)
    assert before[900] > 0 and before[900] == before.max()


def test_walk_forward_leaves_the_training_prefix_unscored():
    ts, values = series(800, seed=3)
    scores = nab.walk_forward_scores(ts, values, "seasonal", first_train=300, stretch=200)
    assert (scores[:300] == 0).all() and (scores[300:] > 0).any()


def test_onset_scores_keep_only_new_highs_of_the_recent_past():
    scores = np.array([0.1, 2.0, 2.0, 1.5, 3.0, 0.2, 0.1, 0.3])
    assert nab.onset_scores(scores, hold=3).tolist() == [0.1, 2.0, 0.0, 0.0, 3.0, 0.0, 0.0, 0.0]
    assert nab.onset_scores(scores, hold=1).tolist() == [0.1, 2.0, 0.0, 0.0, 3.0, 0.0, 0.0, 0.3]
    assert nab.onset_scores(np.array([]), hold=3).size == 0


def test_repeated_timestamps_are_made_strictly_increasing():
    ts = np.array([0.0, 300.0, 300.0, 300.0, 200.0, 900.0])
    assert nab.strictly_increasing(ts).tolist() == [0.0, 300.0, 301.0, 302.0, 303.0, 900.0]


def write_corpus(root: Path) -> None:
    windows = {}
    for k, name in enumerate(("groupA/one.csv", "groupB/two.csv")):
        ts, values = series(1200, seed=10 + k)
        path = root / "data" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        stamps = np.array(ts, dtype="datetime64[s]").astype(str)
        rows = [f"{s.replace('T', ' ')},{v:.4f}" for s, v in zip(stamps, values)]
        path.write_text("timestamp,value\n" + "\n".join(rows) + "\n")
        windows[name] = [[f"{stamps[880].replace('T', ' ')}.000000", f"{stamps[940].replace('T', ' ')}.000000"]]
    (root / "labels").mkdir()
    (root / "labels" / "combined_windows.json").write_text(json.dumps(windows))


def test_command_line_ends_with_one_json_line(tmp_path, capsys):
    write_corpus(tmp_path)
    assert nab.main(["--data", str(tmp_path), "--detector", "perfect", "--jobs", "1"]) == 0
    perfect = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert perfect["standard"] == perfect["reward_low_FN_rate"] == 100.0
    assert (perfect["files"], perfect["windows"]) == (2, 2)
    assert nab.main(["--data", str(tmp_path), "--detector", "ensemble", "--jobs", "1"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    result = json.loads(line)
    assert set(result) == {"detector", "standard", "reward_low_FP_rate", "reward_low_FN_rate", "files",
                           "windows", "seconds"}
    assert result["standard"] > 50.0


def test_missing_corpus_is_a_clear_error(tmp_path, capsys):
    assert nab.main(["--data", str(tmp_path / "nowhere"), "--jobs", "1"]) == 2
    assert "no NAB window file" in capsys.readouterr().err


def test_bad_corpus_files_are_reported_with_their_name(tmp_path, capsys):
    write_corpus(tmp_path)
    windows = tmp_path / "labels" / "combined_windows.json"
    good = windows.read_text()
    windows.write_text(json.dumps({"groupA/one.csv": [["1999-01-01 00:00:00.000000", "1999-01-02 00:00:00.000000"]]}))
    assert nab.main(["--data", str(tmp_path), "--detector", "null", "--jobs", "1"]) == 2
    assert "groupA/one.csv: window edge" in capsys.readouterr().err
    windows.write_text(good)
    data = tmp_path / "data" / "groupB" / "two.csv"
    data.write_text(data.read_text().replace("\n", "\nnot a date,abc\n", 1))
    assert nab.main(["--data", str(tmp_path), "--detector", "null", "--jobs", "1"]) == 2
    assert "two.csv: unreadable row" in capsys.readouterr().err
