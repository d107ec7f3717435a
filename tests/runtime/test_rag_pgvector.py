"""The pgvector store against a real PostgreSQL with the real pgvector extension, through the HTTP API.

Debian has no pgvector package, so the server is PGlite (PostgreSQL compiled to WASM, with pgvector
built in) served over the Postgres wire protocol by `tests/runtime/pglite/server.mjs` on 127.0.0.1.
Its npm packages are installed by `npm ci` in that folder; without them the tests skip locally and
fail under CI. PGlite accepts any password, so the password tests check where the store reads it from.
"""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from runtime.app import create_app
from runtime.config import ConfigError, RuntimeConfig
from runtime.llm.rag.pgvector import table_name
from tests.runtime.conftest import AUTH
from tests.runtime.servers import REPO, free_port
from tests.tools import require_tool, stop_process

PGLITE_DIR = REPO / "tests" / "runtime" / "pglite"
PASSWORD_ENV = "TEST_PGVECTOR_PASSWORD"


class Pglite:
    """One PGlite server process on a free port, stopped by PID."""

    def __init__(self, node: str, log_path: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self._log = open(log_path, "wb")
        self.log_path = log_path
        self.process = subprocess.Popen([node, str(PGLITE_DIR / "server.mjs"), "--port", str(self.port)],
                                        stdout=self._log, stderr=subprocess.STDOUT, cwd=PGLITE_DIR)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"PGlite exited with {self.process.returncode}: {self.log()}")
            if b"ready" in log_path.read_bytes():
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"PGlite not ready after 60 s: {self.log()}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-3000:]

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", password="pw",
                               dbname="postgres", autocommit=True, connect_timeout=5)

    def stop(self) -> None:
        if self.process.poll() is None:
            stop_process(self.process)
        self._log.close()


def _node() -> str:
    node = require_tool("node")
    if not (PGLITE_DIR / "node_modules" / "@electric-sql" / "pglite-socket").is_dir():
        message = f"PGlite is not installed: (cd {PGLITE_DIR.relative_to(REPO)} && npm ci --no-audit --no-fund)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return node


@pytest.fixture(scope="module")
def pglite(tmp_path_factory):
    server = Pglite(_node(), tmp_path_factory.mktemp("pglite") / "pglite.log")
    yield server
    server.stop()


def _config(port: int, **rag) -> RuntimeConfig:
    return RuntimeConfig.model_validate({"llm": {"rag": {
        "store": "pgvector", "embedder": "hashing", "pgvector_host": "127.0.0.1", "pgvector_port": port,
        "pgvector_password_env": PASSWORD_ENV, "pgvector_timeout_seconds": 5, **rag}}})


@pytest.fixture
def client(pglite, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "pw")
    with TestClient(create_app("llm", _config(pglite.port))) as test_client:
        yield test_client


def _ingest(client, collection: str, documents: list[dict]):
    return client.post("/v1/rag/ingest", json={"collection": collection, "documents": documents}, headers=AUTH)


def _query(client, collection: str, text: str, top_k: int = 4):
    return client.post("/v1/rag/query", json={"collection": collection, "query": text, "top_k": top_k},
                       headers=AUTH)


DOCS = [{"id": "probes", "text": "liveness probes restart containers that stop answering"},
        {"id": "scrape", "text": "prometheus scrapes metrics from targets every interval",
         "metadata": {"team": "obs", "tier": 1}},
        {"id": "budget", "text": "error budgets measure how much unreliability a service may spend"}]


@pytest.mark.e2e
def test_ingest_replace_and_query_through_pgvector(client, pglite):
    ingest = _ingest(client, "ops", DOCS)
    assert ingest.status_code == 200, ingest.text
    assert ingest.json() == {"collection": "ops", "embedder": "hashing-fallback-384", "documents": 3, "chunks": 3}
    answer = _query(client, "ops", "prometheus scrapes metrics", top_k=2).json()
    best = answer["matches"][0]
    assert best["document_id"] == "scrape" and best["metadata"] == {"team": "obs", "tier": 1}
    assert best["text"] == DOCS[1]["text"] and best["chunk"] == 0
    assert len(answer["matches"]) == 2 and best["score"] > answer["matches"][1]["score"]
    replaced = _ingest(client, "ops", [{"id": "scrape", "text": "alertmanager routes alerts to receivers"}])
    assert replaced.status_code == 200
    after = _query(client, "ops", "alertmanager routes alerts", top_k=10).json()["matches"]
    assert [m["document_id"] for m in after].count("scrape") == 1 and after[0]["document_id"] == "scrape"
    assert after[0]["text"] == "alertmanager routes alerts to receivers" and after[0]["metadata"] == {}
    assert client.get("/readyz").json()["checks"]["rag"] == {"ok": True, "embedder": "hashing-fallback-384",
                                                            "store": "pgvector", "persisted": True}
    assert _query(client, "never-ingested", "anything").json()["matches"] == []
    with pglite.connect() as connection:
        column = connection.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                                    "WHERE attrelid = 'rag_ops'::regclass AND attname = 'embedding'").fetchone()
        index = connection.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'rag_ops' "
                                   "AND indexname = 'rag_ops_hnsw'").fetchone()
        rows = connection.execute('SELECT count(*) FROM "rag_ops"').fetchone()
    assert column == ("vector(384)",)
    assert "USING hnsw (embedding vector_cosine_ops)" in index[0]
    assert rows == (3,)


@pytest.mark.e2e
def test_collections_are_isolated(client):
    assert _ingest(client, "team-a.docs", [DOCS[0]]).status_code == 200
    assert _ingest(client, "team_b", [DOCS[2]]).status_code == 200
    a = _query(client, "team-a.docs", "error budgets of a service", top_k=5).json()["matches"]
    b = _query(client, "team_b", "liveness probes restart containers", top_k=5).json()["matches"]
    assert [m["document_id"] for m in a] == ["probes"]
    assert [m["document_id"] for m in b] == ["budget"]


@pytest.mark.e2e
def test_more_matches_than_hnsw_searches_by_default(client, pglite):
    """PGlite runs every connection in one session, so turning sequential scans off here makes the store's
    query use the HNSW index (the planner would scan 45 rows instead), which stops at 40 unless told more."""
    documents = [{"id": f"doc-{i:02d}", "text": f"runbook {i} for service {i * 7 % 13} step {i}"} for i in range(45)]
    assert _ingest(client, "many", documents).json()["chunks"] == 45
    with pglite.connect() as connection:
        connection.execute("SET enable_seqscan = off")
    try:
        with pglite.connect() as connection:
            plan = connection.execute("EXPLAIN SELECT document_id FROM rag_many ORDER BY embedding <=> %s::vector "
                                      "LIMIT 50", ("[" + ",".join(["0.05"] * 384) + "]",)).fetchall()
        matches = _query(client, "many", "runbook for service step", top_k=50).json()["matches"]
    finally:
        with pglite.connect() as connection:
            connection.execute("RESET enable_seqscan")
    assert "rag_many_hnsw" in " ".join(row[0] for row in plan)
    assert len(matches) == 45 and len({m["document_id"] for m in matches}) == 45
    assert [m["score"] for m in matches] == sorted((m["score"] for m in matches), reverse=True)


@pytest.mark.e2e
def test_text_without_words_scores_zero_instead_of_nan(client, pglite):
    """The HNSW index leaves zero vectors out; an exact scan (forced here through PGlite's one shared session,
    as on a server whose pgvector has no HNSW) meets them, and pgvector's cosine distance to them is NaN."""
    assert _ingest(client, "punctuation", [{"id": "marks", "text": "!!! ???"}, DOCS[0]]).status_code == 200
    indexed = _query(client, "punctuation", "liveness probes", top_k=5).json()["matches"]
    with pglite.connect() as connection:
        connection.execute("SET enable_indexscan = off")
    try:
        exact = _query(client, "punctuation", "liveness probes", top_k=5).json()["matches"]
        empty_query = _query(client, "punctuation", "...", top_k=5)
    finally:
        with pglite.connect() as connection:
            connection.execute("RESET enable_indexscan")
    assert [m["document_id"] for m in indexed] == ["probes"]
    assert [m["document_id"] for m in exact] == ["probes", "marks"] and exact[1]["score"] == 0.0
    assert empty_query.status_code == 200
    assert sorted((m["document_id"], m["score"]) for m in empty_query.json()["matches"]) == [("marks", 0.0),
                                                                                             ("probes", 0.0)]


@pytest.mark.e2e
def test_a_long_collection_name_gets_a_hashed_table_of_its_own(client, pglite):
    long_a, long_b = "x" * 60 + "-one", "x" * 60 + "-two"
    assert _ingest(client, long_a, [DOCS[0]]).status_code == 200
    assert _ingest(client, long_b, [DOCS[1]]).status_code == 200
    assert _query(client, long_a, "prometheus", top_k=5).json()["matches"][0]["document_id"] == "probes"
    assert table_name(long_a) != table_name(long_b) and all(len(table_name(n)) <= 58 for n in (long_a, long_b))
    with pglite.connect() as connection:
        found = connection.execute("SELECT count(*) FROM pg_tables WHERE tablename = ANY(%s)",
                                   ([table_name(long_a), table_name(long_b)],)).fetchone()
    assert found == (2,)


@pytest.mark.e2e
def test_a_dimension_mismatch_is_a_clear_409(client, pglite):
    with pglite.connect() as connection:
        connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
        connection.execute("CREATE TABLE rag_wide (document_id text, chunk integer, content text, metadata jsonb, "
                           "embedder text, embedding vector(768), PRIMARY KEY (document_id, chunk))")
    ingest = _ingest(client, "wide", [{"id": "a", "text": "x"}])
    assert ingest.status_code == 409
    assert ingest.json()["detail"] == ("pgvector table 'rag_wide' of collection 'wide' holds 768-dimensional "
                                       "vectors, the embedder hashing-fallback-384 makes 384")
    assert _query(client, "wide", "x").status_code == 409


@pytest.mark.e2e
def test_another_embedder_in_the_collection_is_a_clear_409(client, pglite):
    assert _ingest(client, "mixed", [DOCS[0]]).status_code == 200
    with pglite.connect() as connection:
        connection.execute("UPDATE rag_mixed SET embedder = 'other-model-384'")
    ingest = _ingest(client, "mixed", [DOCS[1]])
    assert ingest.status_code == 409 and "embedded with other-model-384" in ingest.json()["detail"]
    query = _query(client, "mixed", "liveness")
    assert query.status_code == 409 and "re-ingest" in query.json()["detail"]


def test_no_server_is_a_502(monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "pw")
    port = free_port()
    with TestClient(create_app("llm", _config(port))) as test_client:
        ingest = _ingest(test_client, "ops", [DOCS[0]])
        query = _query(test_client, "ops", "x")
    assert ingest.status_code == 502 and query.status_code == 502
    assert ingest.json()["detail"].startswith(f"pgvector at 127.0.0.1:{port}/postgres failed")
    assert "refused" in ingest.json()["detail"].lower()


@pytest.mark.e2e
def test_a_server_that_goes_away_is_a_502_and_a_new_one_is_used_after(monkeypatch, tmp_path):
    node = _node()
    monkeypatch.setenv(PASSWORD_ENV, "pw")
    first = Pglite(node, tmp_path / "first.log")
    try:
        with TestClient(create_app("llm", _config(first.port))) as test_client:
            assert _ingest(test_client, "ops", DOCS).status_code == 200
            first.stop()
            down = _query(test_client, "ops", "probes")
            assert down.status_code == 502 and "pgvector at 127.0.0.1" in down.json()["detail"]
            second = Pglite(node, tmp_path / "second.log", port=first.port)
            try:
                assert _ingest(test_client, "ops", [DOCS[1]]).status_code == 200
                assert [m["document_id"] for m in _query(test_client, "ops", "probes").json()["matches"]] == ["scrape"]
            finally:
                second.stop()
    finally:
        first.stop()


def test_the_password_comes_from_the_named_variable_or_a_file(monkeypatch, tmp_path):
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    with pytest.raises(ConfigError, match=f"pgvector_password_env names {PASSWORD_ENV}, which is unset"):
        _config(5432).llm.rag.pgvector_password()
    monkeypatch.setenv(PASSWORD_ENV, "from-env")
    assert _config(5432).llm.rag.pgvector_password() == "from-env"
    secret = tmp_path / "password"
    secret.write_text("from-file\n")
    assert _config(5432, pgvector_password_file=str(secret)).llm.rag.pgvector_password() == "from-file"
    secret.write_text("  \n")
    with pytest.raises(ConfigError, match="is empty"):
        _config(5432, pgvector_password_file=str(secret)).llm.rag.pgvector_password()


def test_pgvector_settings_are_validated():
    with pytest.raises(ValueError, match="needs pgvector_host"):
        RuntimeConfig.model_validate({"llm": {"rag": {"store": "pgvector", "pgvector_password_env": "X"}}})
    with pytest.raises(ValueError, match="pgvector_password_env or pgvector_password_file"):
        RuntimeConfig.model_validate({"llm": {"rag": {"store": "pgvector", "pgvector_host": "db"}}})
    with pytest.raises(ValueError, match="pgvector_port"):
        _config(70000)
