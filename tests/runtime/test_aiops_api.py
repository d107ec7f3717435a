"""AIOps endpoints in process: train/detect contract, detection quality, registry safety, 401/413/422."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tests.runtime.conftest import AUTH
from tests.runtime.synthetic import DAY_POINTS, STEP, points, seasonal, with_spike_and_shift

TRAIN_DAYS = 14


@pytest.fixture
def trained(aiops_client):
    ts, values = seasonal(TRAIN_DAYS * DAY_POINTS)
    response = aiops_client.post("/train", json={"series": {"cpu": points(ts, values)}, "service": "shop"},
                                 headers=AUTH)
    assert response.status_code == 200, response.text
    return aiops_client, ts[-1] + STEP, response.json()


def test_train_reports_what_was_trained(trained):
    _, _, body = trained
    assert body["model_version"] == "v000001"
    cpu = body["trained"]["cpu"]
    assert cpu["kind"] == "ensemble"
    assert cpu["n_points"] == TRAIN_DAYS * DAY_POINTS
    assert 0.9 <= cpu["validation_score"] <= 1.0


def test_detect_finds_spike_and_level_shift_without_false_positives(trained):
    client, start, _ = trained
    n = 2 * DAY_POINTS
    ts, clean = seasonal(n, start=start, seed=11)
    spike_at, shift_from = 100, 400
    ts, values = with_spike_and_shift(ts, clean, spike_at, shift_from)
    response = client.post("/detect", json={"series": {"cpu": points(ts, values)}}, headers=AUTH)
    assert response.status_code == 200, response.text
    result = response.json()["results"]["cpu"]
    assert response.json()["model_version"] == result["model_version"] == "v000001"
    assert len(result["points"]) == n
    assert set(result["points"][0]) == {"ts", "value", "score", "expected", "lower", "upper"}
    anomalies = result["anomalies"]
    spike_ts, shift_ts = ts[spike_at], ts[shift_from]
    assert any(a["start"] <= spike_ts <= a["end"] and a["peak_score"] > 1 for a in anomalies), anomalies
    assert any(a["start"] <= shift_ts + 3 * STEP and a["end"] >= shift_ts for a in anomalies), anomalies
    clean_part = [a for a in anomalies if a["end"] < shift_ts and not a["start"] <= spike_ts <= a["end"]]
    assert clean_part == [], f"false positives on the clean part: {clean_part}"
    scores = np.array([p["score"] for p in result["points"]])
    assert (scores[:spike_at] <= 1).all() and (scores[spike_at + 2:shift_from] <= 1).all()


def test_clean_series_has_no_anomalies(trained):
    client, start, _ = trained
    ts, values = seasonal(DAY_POINTS, start=start, seed=23)
    result = client.post("/detect", json={"series": {"cpu": points(ts, values)}}, headers=AUTH).json()
    assert result["results"]["cpu"]["anomalies"] == []


def test_models_lists_versions_newest_first(trained):
    client, _, _ = trained
    ts, values = seasonal(3 * DAY_POINTS, seed=3)
    second = client.post("/train", json={"series": {"mem": points(ts, values)}, "detector": "seasonal"},
                         headers=AUTH).json()
    assert second["model_version"] == "v000002"
    listing = client.get("/models").json()["versions"]
    assert [v["version"] for v in listing] == ["v000002", "v000001"]
    assert listing[0]["metrics"]["mem"]["kind"] == "seasonal"
    assert listing[1]["metrics"]["cpu"]["service"] == "shop"
    detect = client.post("/detect", json={"series": {"cpu": points(ts[:50], values[:50])}}, headers=AUTH).json()
    assert detect["results"]["cpu"]["model_version"] == "v000001"


def test_detect_unknown_metric_is_404_with_path(trained):
    client, _, _ = trained
    response = client.post("/detect", json={"series": {"nope": [[1, 2]]}}, headers=AUTH)
    assert response.status_code == 404
    assert response.json()["errors"][0]["path"] == "body.series.nope"


@pytest.mark.parametrize("path,method", [("/train", "post"), ("/detect", "post"), ("/rca", "post"),
                                         ("/alerts", "post")])
def test_mutating_calls_without_token_get_401(aiops_client, path, method):
    response = getattr(aiops_client, method)(path, json={})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    wrong = getattr(aiops_client, method)(path, json={}, headers={"authorization": "Bearer wrong"})
    assert wrong.status_code == 401


def test_read_endpoints_need_no_token(aiops_client):
    assert aiops_client.get("/models").status_code == 200
    assert aiops_client.get("/healthz").json()["status"] == "ok"
    checks = aiops_client.get("/readyz").json()["checks"]
    assert checks["registry"]["ok"] is True
    assert checks["detectors"] == {"ok": True, "compiled_kernels": True}


def test_malformed_payloads_get_422_with_field_paths(aiops_client):
    response = aiops_client.post("/train", json={"series": {"cpu": [[1, "x"], [2]]}}, headers=AUTH)
    assert response.status_code == 422
    paths = {error["path"] for error in response.json()["errors"]}
    assert {"body.series.cpu.0.1", "body.series.cpu.1.1"} <= paths
    both = aiops_client.post("/train", json={"series": {"a": [[1, 2]]}, "queries": {"a": "up"}}, headers=AUTH)
    assert both.status_code == 422 and "exactly one" in both.text
    extra = aiops_client.post("/detect", json={"series": {"a": [[1, 2]]}, "bogus": 1}, headers=AUTH)
    assert extra.json()["errors"][0]["path"] == "body.bogus"
    not_json = aiops_client.post("/detect", content=b"{not json", headers={**AUTH, "content-type": "application/json"})
    assert not_json.status_code == 422
    short = aiops_client.post("/train", json={"series": {"cpu": [[1, 2], [2, 3]]}}, headers=AUTH)
    assert short.status_code == 422 and short.json()["errors"][0]["path"] == "body.series.cpu"
    kind = aiops_client.post("/train", json={"series": {"cpu": [[1, 2]]}, "detector": "magic"}, headers=AUTH)
    assert kind.status_code == 422 and kind.json()["errors"][0]["path"] == "body.detector"


def test_oversize_payload_gets_413(aiops_client):
    big = {"series": {"cpu": [[float(i), 1.0] for i in range(300_000)]}}
    response = aiops_client.post("/train", content=json.dumps(big).encode(),
                                 headers={**AUTH, "content-type": "application/json"})
    assert response.status_code == 413

    def chunks():
        for _ in range(100):
            yield b" " * 50_000
    streamed = aiops_client.post("/train", content=chunks(), headers={**AUTH, "content-type": "application/json"})
    assert streamed.status_code == 413


def _model_file(client):
    registry = client.app.state.aiops["registry"]
    manifest = registry.manifest("v000001")
    return registry, registry.root / "v000001" / manifest["models"]["cpu"]["file"]


def test_tampered_model_file_is_refused(tmp_path):
    from fastapi.testclient import TestClient

    from runtime.app import create_app
    from runtime.config import RuntimeConfig

    config = RuntimeConfig.model_validate({"server": {"state_dir": str(tmp_path)}})
    ts, values = seasonal(3 * DAY_POINTS)
    with TestClient(create_app("aiops", config)) as client:
        assert client.post("/train", json={"series": {"cpu": points(ts, values)}}, headers=AUTH).status_code == 200
        _, path = _model_file(client)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with TestClient(create_app("aiops", config)) as fresh:
        response = fresh.post("/detect", json={"series": {"cpu": points(ts[:10], values[:10])}}, headers=AUTH)
    assert response.status_code == 409
    assert "SHA-256" in response.json()["detail"]


def test_model_over_size_limit_is_refused(tmp_path):
    from fastapi.testclient import TestClient

    from runtime.app import create_app
    from runtime.config import RuntimeConfig

    ts, values = seasonal(3 * DAY_POINTS)
    config = RuntimeConfig.model_validate({"server": {"state_dir": str(tmp_path)},
                                           "aiops": {"registry": {"max_model_bytes": 1000}}})
    with TestClient(create_app("aiops", config)) as client:
        response = client.post("/train", json={"series": {"cpu": points(ts, values)}}, headers=AUTH)
    assert response.status_code == 422 and "limit" in response.json()["detail"]


def test_signed_manifest_rejects_rewritten_hash(tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    from runtime.app import create_app
    from runtime.config import RuntimeConfig

    monkeypatch.setenv("RUNTIME_MODEL_SIGNING_KEY", "k3y")
    config = RuntimeConfig.model_validate({"server": {"state_dir": str(tmp_path)}})
    ts, values = seasonal(3 * DAY_POINTS)
    with TestClient(create_app("aiops", config)) as client:
        assert client.post("/train", json={"series": {"cpu": points(ts, values)}}, headers=AUTH).status_code == 200
        registry, path = _model_file(client)
    manifest_path = registry.root / "v000001" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["models"]["cpu"]["sha256"] = "0" * 64
    manifest_path.write_text(json.dumps(manifest))
    with TestClient(create_app("aiops", config)) as fresh:
        response = fresh.post("/detect", json={"series": {"cpu": points(ts[:10], values[:10])}}, headers=AUTH)
    assert response.status_code == 409 and "signature" in response.json()["detail"]


def test_registry_refuses_types_outside_the_allowlist(tmp_path):
    import hashlib

    import skops.io as sio

    from runtime.aiops.registry import ModelEntry, ModelRegistry, ModelRejected

    registry = ModelRegistry(tmp_path, 1_000_000)
    data = sio.dumps({"kind": "ensemble", "payload": __import__("fractions").Fraction(1, 3)})
    version = tmp_path / "v000001"
    version.mkdir()
    (version / "m.skops").write_bytes(data)
    entry = ModelEntry("v000001", "m", {"file": "m.skops", "sha256": hashlib.sha256(data).hexdigest()})
    with pytest.raises(ModelRejected, match="disallowed types"):
        registry.load(entry)


def test_openapi_documents_the_contract(aiops_client):
    schema = aiops_client.get("/openapi.json").json()
    detect = schema["paths"]["/detect"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert detect["$ref"].endswith("/DetectResponse")
    point = schema["components"]["schemas"]["ScoredPoint"]["properties"]
    assert set(point) == {"ts", "value", "score", "expected", "lower", "upper"}
    assert "TrainResponse" in schema["components"]["schemas"]


@pytest.fixture
def large_detect(tmp_path):
    """(service, series of MIN_POINTS points in all, the answer computed on threads), with the service's
    scoring processes running."""
    import time

    from runtime.aiops.detectors import train_metric
    from runtime.aiops.registry import ModelRegistry
    from runtime.aiops.service import AiopsService
    from runtime.aiops.series import Series
    from runtime.aiops.workers import MIN_POINTS
    from runtime.config import RuntimeConfig
    from runtime.cpus import usable_cpus

    if usable_cpus() < 2:
        pytest.skip("scoring processes need 2 usable cores")
    registry = ModelRegistry(tmp_path / "models", 10_000_000)
    ts, values = seasonal(3 * DAY_POINTS)
    registry.save({f"m{i}": (train_metric(ts, values + i), {}) for i in range(3)})
    service = AiopsService(RuntimeConfig().aiops, registry, None)
    try:
        size = MIN_POINTS // 3 + 1
        new_ts, new_values = with_spike_and_shift(*seasonal(size, start=ts[-1] + STEP, seed=9), size // 3, size // 2)
        series = {f"m{i}": Series(ts=new_ts, values=new_values + i) for i in range(3)}
        on_threads = service.detect(series, None)
        deadline = time.monotonic() + 120
        while not service.scoring_processes.ready():
            assert time.monotonic() < deadline, "the scoring processes did not start"
            time.sleep(0.2)
        yield service, series, on_threads
    finally:
        service.close()


def test_large_detect_in_worker_processes_answers_the_same_bytes_as_threads(large_detect):
    """Requests of MIN_POINTS points or more are split between the request's thread and the scoring
    processes once these have started; the answer must not depend on where it was computed. Until
    then (and below the size) threads answer."""
    from runtime.aiops.series import Series
    from runtime.aiops.workers import split_evenly
    from runtime.cpus import usable_cpus

    service, series, on_threads = large_detect
    versions = {name: service.registry.versions()[-1] for name in series}
    scored_here = []

    def score_here(name):
        scored_here.append(name)
        return [], b"[]"

    first_share = split_evenly(list(series), [len(data.ts) for data in series.values()], usable_cpus())[0]
    shares = service.scoring_processes.score(series, versions, score_here)
    assert scored_here == first_share and shares[:len(first_share)] == [([], b"[]")] * len(first_share)
    assert len(shares) == 3 and all(points.startswith(b'[{"ts":') for _, points in shares[len(first_share):])
    assert service.detect(series, None) == on_threads
    assert json.loads(on_threads)["results"]["m0"]["anomalies"]
    small = {"m1": Series(ts=series["m1"].ts[:100], values=series["m1"].values[:100])}
    assert service.scoring_processes.score(small, versions, score_here) is None


def test_a_killed_scoring_process_costs_no_answer_and_is_replaced(large_detect):
    import time

    service, series, on_threads = large_detect
    for process in list(service.scoring_processes._pool._processes.values()):
        process.kill()
        process.join(10)
    assert service.detect(series, None) == on_threads  # answered on threads
    assert service.scoring_processes.state() == "not started"
    deadline = time.monotonic() + 120
    while not service.scoring_processes.ready():  # the next large request starts new processes
        assert time.monotonic() < deadline, "no new scoring processes"
        time.sleep(0.2)
    assert service.detect(series, None) == on_threads


def test_metrics_split_into_consecutive_shares_of_similar_size():
    from runtime.aiops.workers import split_evenly

    assert split_evenly(["a", "b", "c", "d"], [1, 1, 1, 1], 2) == [["a", "b"], ["c", "d"]]
    assert split_evenly(["a", "b", "c"], [10, 1, 1], 2) == [["a"], ["b", "c"]]
    assert split_evenly(["a"], [5], 2) == [["a"]]
    names = [f"m{i}" for i in range(20)]
    shares = split_evenly(names, [1000] * 20, 2)
    assert [len(share) for share in shares] == [10, 10] and sum(shares, []) == names


def test_rca_ranks_the_earliest_anomaly_first(tmp_path):
    from fastapi.testclient import TestClient

    from runtime.app import create_app
    from runtime.config import RuntimeConfig

    config = RuntimeConfig.model_validate({"server": {"state_dir": str(tmp_path), "max_body_bytes": 4_000_000},
                                           "aiops": {"rca": {"services": {"shop": {"depends_on": ["db"]},
                                                                          "db": {}}}}})
    ts, values = seasonal(7 * DAY_POINTS)
    with TestClient(create_app("aiops", config)) as client:
        trained = client.post("/train", json={"series": {"latency": points(ts, values), "db_cpu": points(ts, values),
                                                         "errors": points(ts, values)}}, headers=AUTH)
        assert trained.status_code == 200
        window_ts, clean = seasonal(DAY_POINTS, start=ts[-1] + STEP, seed=9)
        db = clean.copy()
        db[100:] += 6
        latency = clean.copy()
        latency[130:] += 6
        report = client.post("/rca", headers=AUTH, json={
            "service": "shop", "start": window_ts[0], "end": window_ts[-1],
            "series": {"shop/latency": points(window_ts, latency), "db/db_cpu": points(window_ts, db),
                       "shop/errors": points(window_ts, clean)}})
        assert report.status_code == 200, report.text
        causes = report.json()["causes"]
        assert [(c["service"], c["metric"]) for c in causes] == [("db", "db_cpu"), ("shop", "latency"),
                                                                 ("shop", "errors")]
        assert causes[0]["anomalous"] and "dependency of shop" in causes[0]["explanation"]
        assert "after the first anomaly" in causes[1]["explanation"] and not causes[2]["anomalous"]
        assert report.json()["summary"].startswith("most likely cause: db/db_cpu")
        bad_key = client.post("/rca", headers=AUTH, json={"service": "shop", "series": {"latency": [[1, 2]]}})
        assert bad_key.status_code == 422 and bad_key.json()["errors"][0]["path"] == "body.series.latency"
