"""`llm.rag.store: pgvector`: the gateway's runtime config points at the pgvector StatefulSet's Service and
database, and the password reaches the runtime as a mounted file from the spec's `passwordSecret`."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from compiler import conventions as names
from compiler.conventions import pgvector_database
from runtime.config import RuntimeConfig
from tests.mlops.helpers import find, objects, target_of, write_service
from tests.delivery.checkov_runner import kubernetes_report

RUNTIME_IMAGE = "ghcr.io/acme/platform-runtime:0.1.0@sha256:" + "a" * 64
PGVECTOR_IMAGE = "pgvector/pgvector:0.8.0-pg16@sha256:" + "c" * 64


def _docs(tmp_path: Path, rag: dict) -> list[dict]:
    spec = {"image": "ghcr.io/acme/app:1.0.0@sha256:" + "d" * 64, "port": 8080,
            "llm": {"model": "gpt-4o-mini", "upstream": "https://api.openai.com/v1",
                    "gateway": {"image": RUNTIME_IMAGE}, "rag": rag}}
    return objects(target_of(write_service(tmp_path, "helper", "support", spec)))


def _runtime_config(docs: list[dict]) -> RuntimeConfig:
    (config,) = [d for d in docs if d["kind"] == "ConfigMap" and names.LLM_GATEWAY_CONFIG_KEY in d["data"]]
    return RuntimeConfig.model_validate(yaml.safe_load(config["data"][names.LLM_GATEWAY_CONFIG_KEY]))


def _gateway_container(docs: list[dict]) -> tuple[dict, dict]:
    pod = find(docs, "Deployment", names.llm_gateway_name("helper"))["spec"]["template"]["spec"]
    return pod, pod["containers"][0]


@pytest.fixture(scope="module")
def pgvector_docs(tmp_path_factory):
    return _docs(tmp_path_factory.mktemp("pgvector"), {
        "store": "pgvector", "collection": "runbooks.v2-docs", "image": PGVECTOR_IMAGE,
        "passwordSecret": {"secret": "helper-pg", "key": "pg-password"}})


def test_the_gateway_is_pointed_at_the_pgvector_service_and_database(pgvector_docs):
    rag = _runtime_config(pgvector_docs).llm.rag
    service = find(pgvector_docs, "Service", "helper-pgvector")
    assert rag.store == "pgvector"
    assert rag.pgvector_host == f"{service['metadata']['name']}.{service['metadata']['namespace']}.svc"
    assert rag.pgvector_port == service["spec"]["ports"][0]["port"] == 5432
    store = find(pgvector_docs, "StatefulSet", "helper-pgvector")["spec"]["template"]["spec"]["containers"][0]
    env = {item["name"]: item.get("value") for item in store["env"]}
    assert rag.pgvector_database == env["POSTGRES_DB"] == "runbooks_v2_docs"
    assert rag.pgvector_user == "postgres" and rag.pgvector_password_env is None


def test_the_password_is_the_spec_secret_mounted_as_a_file_never_an_env_value(pgvector_docs):
    rag = _runtime_config(pgvector_docs).llm.rag
    pod, container = _gateway_container(pgvector_docs)
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "store-password"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "store-password"]
    assert mount["readOnly"] is True
    assert volume["secret"] == {"secretName": "helper-pg", "items": [{"key": "pg-password", "path": "password"}]}
    assert rag.pgvector_password_file == Path(mount["mountPath"]) / "password"
    assert not [item for item in container["env"] if "valueFrom" in item]


def test_the_runtime_reads_the_mounted_password(pgvector_docs, tmp_path):
    rag = _runtime_config(pgvector_docs).llm.rag
    mounted = tmp_path / rag.pgvector_password_file.name
    mounted.write_text("s3cret\n")
    assert rag.model_copy(update={"pgvector_password_file": mounted}).pgvector_password() == "s3cret"


def test_the_gateway_may_reach_the_pgvector_pods_on_5432(pgvector_docs):
    egress = find(pgvector_docs, "NetworkPolicy", names.llm_gateway_name("helper"))["spec"]["egress"]
    store = [rule for rule in egress if rule.get("ports") == [{"port": 5432, "protocol": "TCP"}]]
    assert store and store[0]["to"][0]["podSelector"]["matchLabels"][names.LABEL_NAME] == "helper-pgvector"


def test_the_embedded_store_gets_no_server_settings_or_password(tmp_path):
    docs = _docs(tmp_path, {"store": "embedded"})
    assert _runtime_config(docs).llm.rag.store == "embedded"
    pod, container = _gateway_container(docs)
    assert "store-password" not in {v["name"] for v in pod["volumes"]}
    assert not [d for d in docs if d["kind"] == "StatefulSet"]


def test_a_long_collection_gives_the_name_postgres_keeps():
    assert pgvector_database("a" * 128) == "a" * 63
    assert pgvector_database("team-a.docs") == "team_a_docs"


@pytest.mark.tools
def test_checkov_finds_nothing_on_the_gateway_and_the_store(pgvector_docs, tmp_path):
    """A Secret in an env var would fail CKV_K8S_35; the mounted file passes. (The service's own Deployment
    gets OPENAI_API_KEY as a variable by design, excepted in its spec elsewhere, so it is not judged here.)"""
    (tmp_path / "objects.yaml").write_text(yaml.safe_dump_all(pgvector_docs))
    report = kubernetes_report(tmp_path)
    ours = ("Deployment.support.helper-llm-gateway", "StatefulSet.support.helper-pgvector")
    judged = [c for c in report["results"]["passed_checks"] + report["results"]["failed_checks"]
              if c["resource"] in ours]
    failed = [f"{c['check_id']} {c['resource']}" for c in report["results"]["failed_checks"] if c["resource"] in ours]
    assert failed == []
    assert {c["resource"] for c in judged} == set(ours)
    assert "CKV_K8S_35" in {c["check_id"] for c in judged}
