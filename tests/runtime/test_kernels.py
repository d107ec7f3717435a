"""The compiled /detect kernels (runtime/aiops/_kernels.c) against their numpy stand-ins and scikit-learn,
and their argument checks (C code must refuse what would make it read or write out of bounds)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.ensemble import IsolationForest

from runtime.aiops import kernels
from runtime.aiops.encoding import _FRAGMENTS, POINT_KEYS, _joined_by_slices, column_texts, points_json
from runtime.aiops.fastpath import _pairs_array
from runtime.aiops.forest import ForestTables

compiled = kernels.compiled


@pytest.fixture(params=["compiled", "numpy"])
def implementation(request, monkeypatch):
    """Runs a test once on the compiled kernels and once on the numpy code that stands in for them."""
    if request.param == "numpy":
        monkeypatch.setattr(kernels, "compiled", None)
    return request.param


def test_the_install_built_the_kernels():
    assert compiled is not None, "runtime/aiops/_kernels.c was not built: reinstall (pip install -e .) with a C compiler"


@pytest.mark.parametrize("trees,samples,max_features,seed", [(24, 256, 1.0, 0), (7, 64, 0.6, 1), (3, 2048, 1.0, 2)])
def test_forest_walk_matches_scikit_learn_and_its_two_implementations_agree_bit_for_bit(trees, samples, max_features, seed):
    rng = np.random.default_rng(seed)
    forest = IsolationForest(n_estimators=trees, max_samples=samples, max_features=max_features, random_state=seed)
    forest.fit(rng.normal(size=(3000, 4)))
    points = rng.normal(scale=3.0, size=(1001, 4))
    tables = ForestTables.from_forest(forest)
    np.testing.assert_allclose(tables.score_samples(points), forest.score_samples(points), rtol=0, atol=1e-12)
    extremes = np.r_[points, np.full((1, 4), np.inf), np.full((1, 4), -np.inf)].astype(np.float32)
    np.testing.assert_array_equal(tables._depths_compiled(extremes), tables._depths_numpy(extremes))
    assert tables._depths_compiled(np.zeros((0, 4), dtype=np.float32)).shape == (0,)


def test_forest_of_single_leaves(implementation):
    forest = IsolationForest(n_estimators=5, random_state=0).fit(np.ones((50, 3)))
    points = np.random.default_rng(3).normal(size=(20, 3))
    assert ForestTables.from_forest(forest).depth == 0
    np.testing.assert_allclose(ForestTables.from_forest(forest).score_samples(points), forest.score_samples(points),
                               rtol=0, atol=1e-12)


def test_forest_depths_refuses_inconsistent_tables():
    x = np.zeros((10, 2), dtype=np.float32)
    features = np.zeros(3 * 3, dtype=np.int32)
    thresholds = np.zeros(3 * 3, dtype=np.float32)
    bottom = np.zeros(3 * 4)
    out = np.empty(10)
    compiled.forest_depths(x, 2, features, thresholds, bottom, 3, 2, out)
    for args, message in [
        ((x, 3, features, thresholds, bottom, 3, 2, out), "x holds"),
        ((x, 2, features[:-1], thresholds, bottom, 3, 2, out), "features holds"),
        ((x, 2, features, thresholds, bottom[:-1], 3, 2, out), "bottom holds"),
        ((x, 2, features, thresholds, bottom, 3, 3, out), "features holds"),
        ((x, 2, features, thresholds, bottom, 3, 41, out), "depth within"),
        ((x, 2, np.full(9, 2, dtype=np.int32), thresholds, bottom, 3, 2, out), "feature index 2 out of range"),
        ((x, 2, np.full(9, -1, dtype=np.int32), thresholds, bottom, 3, 2, out), "out of range"),
    ]:
        with pytest.raises(ValueError, match=message):
            compiled.forest_depths(*args)
    with pytest.raises(TypeError):
        compiled.forest_depths(x, 2, features, thresholds, bottom, 3, 2, b"read-only")


finite_floats = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(finite_floats, finite_floats, finite_floats, finite_floats, finite_floats, finite_floats),
                max_size=40))
def test_points_json_is_the_same_bytes_either_way_and_valid_json(rows):
    columns = [np.array([row[k] for row in rows], dtype=np.float64) for k in range(6)]
    texts = column_texts(columns)
    joined = compiled.join_points(texts, _FRAGMENTS, b"}")
    assert joined == _joined_by_slices(texts)
    decoded = json.loads(joined)
    assert [list(point) for point in decoded] == [list(POINT_KEYS)] * len(rows)
    assert [point["ts"] for point in decoded] == columns[0].tolist()
    assert [point["value"] for point in decoded] == columns[1].tolist()
    for key, column in zip(POINT_KEYS[2:], columns[2:]):
        assert all(isinstance(point[key], (int, float)) for point in decoded)
        np.testing.assert_allclose([point[key] for point in decoded], column, rtol=1e-6, atol=2e-38)


def test_points_json_in_both_implementations(implementation):
    rng = np.random.default_rng(1)
    columns = [1.7e9 + np.arange(500) * 300.0, rng.normal(size=500) * 1e6] + \
        [rng.normal(size=500) * 10.0 ** rng.integers(-5, 8) for _ in range(4)]
    decoded = json.loads(points_json(columns))
    assert [p["ts"] for p in decoded] == columns[0].tolist() and [p["value"] for p in decoded] == columns[1].tolist()
    for key, column in zip(POINT_KEYS[2:], columns[2:]):
        assert np.allclose([p[key] for p in decoded], column, rtol=1e-6)
    assert points_json([np.array([])] * 6) == b"[]"


@pytest.mark.parametrize("columns,error", [
    ((b"[1,2]", b"[3]"), "column 1 is not a flat JSON array as long as the others"),
    ((b"[1,2]", b"[[3],4]"), "column 1"),
    ((b"[1,2]", b"3,4"), "column 1"),
    ((b"[1]", b"[2]]"), "column 1"),
    ((b"", b"[]"), "column 0"),
    ((b"[1,2]", b"[,4]"), "empty item"),
])
def test_join_points_refuses_what_it_cannot_bound(columns, error):
    with pytest.raises(ValueError, match=error):
        compiled.join_points(columns, (b"{a:", b",b:"), b"}")


def test_join_points_argument_types():
    with pytest.raises(ValueError, match="one key fragment per column"):
        compiled.join_points((b"[1]",), (b"a", b"b"), b"}")
    with pytest.raises(TypeError, match="must be bytes"):
        compiled.join_points(("[1]",), (b"a",), b"}")
    assert compiled.join_points((b"[1,22]", b"[3,4]"), (b'{"a":', b',"b":'), b"}") == \
        b'[{"a":1,"b":3},{"a":22,"b":4}]'
    long_key, long_number = b'{"' + b"k" * 40 + b'":', b"1" * 45
    assert compiled.join_points((b"[" + long_number + b",2]",), (long_key,), b"}" * 40) == \
        b"[" + long_key + long_number + b"}" * 40 + b"," + long_key + b"2" + b"}" * 40 + b"]"


ACCEPTED = [[[1.5, 2]], [[0, -3.25], [1, 1e300]], [[2**53 + 1, 0.0]]]
REFUSED = [[[True, 1.0]], [["1.5", 2.0]], [[1.0, None]], [[1.0]], [[1.0, 2.0, 3.0]], [(1.0, 2.0)],
           [[1.0, 2.0], "x"], [[10**400, 1.0]], [[math.inf, 1.0]], [[1.0, math.nan]], [[[1.0], 2.0]]]


@pytest.mark.parametrize("points", ACCEPTED)
def test_pairs_accepted_and_converted_alike(points, implementation):
    np.testing.assert_array_equal(_pairs_array(points), np.array([[float(a), float(b)] for a, b in points]))


@pytest.mark.parametrize("points", REFUSED)
def test_pairs_left_to_the_validation_model_alike(points, implementation):
    assert _pairs_array(points) is None


def test_float_pairs_checks_its_output_size():
    with pytest.raises(ValueError, match="out holds"):
        compiled.float_pairs([[1.0, 2.0]], np.empty(3))


def test_detect_answers_the_same_bytes_on_either_implementation(tmp_path, monkeypatch):
    from runtime.aiops.detectors import train_metric
    from runtime.aiops.registry import ModelRegistry
    from runtime.aiops.series import Series
    from runtime.aiops.service import AiopsService
    from runtime.config import RuntimeConfig
    from tests.runtime.synthetic import DAY_POINTS, STEP, seasonal, with_spike_and_shift

    registry = ModelRegistry(tmp_path / "models", 10_000_000)
    ts, values = seasonal(3 * DAY_POINTS)
    registry.save({f"m{i}": (train_metric(ts, values * (i + 1)), {}) for i in range(3)})
    new_ts, new_values = with_spike_and_shift(*seasonal(400, start=ts[-1] + STEP, seed=9), 100, 250)
    series = {f"m{i}": Series(ts=new_ts, values=new_values * (i + 1)) for i in range(3)}
    service = AiopsService(RuntimeConfig().aiops, registry, None)
    try:
        answer = service.detect(series, None)
        monkeypatch.setattr(kernels, "compiled", None)
        assert service.detect(series, None) == answer
    finally:
        service.close()
    assert json.loads(answer)["results"]["m2"]["anomalies"]
