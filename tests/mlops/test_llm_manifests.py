"""The LLM gateway's objects: a config the runtime really reads, prompt ConfigMaps named by content hash,
egress to the upstream only; the vLLM and vector store variants pass the foundation's checks."""
from __future__ import annotations


import kubernetes_validate
import pytest
import yaml

from compiler import conventions as names
from tests.mlops.helpers import example_target, find, objects, target_of, write_service
from tests.delivery.checkov_runner import kubernetes_report

RUNTIME_IMAGE = "ghcr.io/acme/platform-runtime:0.1.0@sha256:" + "a" * 64
VLLM_IMAGE = "vllm/vllm-openai:v0.6.3@sha256:" + "b" * 64
PGVECTOR_IMAGE = "pgvector/pgvector:0.8.0-pg16@sha256:" + "c" * 64
ENV_KEY_EXCEPTION = {"check": "CKV_K8S_35", "reason": "OpenAI SDKs read the gateway token from OPENAI_API_KEY only"}


def _llm_spec(llm: dict, prompt_text: str = "Summarize the text.\n") -> tuple[dict, dict[str, str]]:
    spec = {"image": "ghcr.io/acme/app:1.0.0@sha256:" + "d" * 64, "port": 8080, "replicas": 2,
            "securityExceptions": [ENV_KEY_EXCEPTION],
            "llm": {"model": "qwen-7b", "prompts": [{"name": "summarize", "file": "prompts/summarize.md",
                                                     "version": 3, "label": "production"}],
                    "tokenBudget": {"daily": 100000}, "gateway": {"image": RUNTIME_IMAGE}, **llm}}
    return spec, {"prompts/summarize.md": prompt_text}


def _self_hosted(tmp_path, prompt_text: str = "Summarize the text.\n"):
    spec, files = _llm_spec({"serving": {"model": "Qwen/Qwen2.5-7B-Instruct", "gpus": 2, "image": VLLM_IMAGE,
                                         "maxModelLen": 8192},
                             "rag": {"store": "pgvector", "collection": "docs", "image": PGVECTOR_IMAGE,
                                     "passwordSecret": {"secret": "pg", "key": "password"}}}, prompt_text)
    return objects(target_of(write_service(tmp_path, "helper", "support", spec, files)))


def _config(docs: list[dict]) -> dict:
    (config,) = [d for d in docs if d["kind"] == "ConfigMap" and names.LLM_GATEWAY_CONFIG_KEY in d["data"]]
    return yaml.safe_load(config["data"][names.LLM_GATEWAY_CONFIG_KEY])


def _mount(deployment: dict, volume: str) -> str:
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return next(m["mountPath"] for m in container["volumeMounts"] if m["name"] == volume)


def test_the_gateway_config_is_one_the_runtime_accepts_and_its_prompts_load(tmp_path):
    from runtime.config import RuntimeConfig
    from runtime.llm.prompts import PromptRegistry

    docs = objects(example_target("assistant"))
    config = RuntimeConfig.model_validate(_config(docs))
    assert config.llm.upstream.url == "https://api.openai.com"
    assert config.llm.upstream.api_key_env is None
    key_mount = _mount(find(docs, "Deployment", names.llm_gateway_name("assistant")), "upstream-key")
    assert str(config.llm.upstream.api_key_file).startswith(key_mount)
    assert config.llm.prices["gpt-4o-mini"].prompt_per_million == 0.15
    assert [(b.name, b.daily_tokens) for b in config.llm.budgets.budgets] == [("assistant", 1_000_000)]
    assert (config.llm.rag.store, config.llm.rag.qdrant_url) == ("qdrant", "http://assistant-qdrant.support.svc:6333")
    qdrant = find(docs, "Service", "assistant-qdrant")["spec"]
    assert qdrant["ports"][0]["port"] == 6333
    gateway = find(docs, "Deployment", names.llm_gateway_name("assistant"))
    args = gateway["spec"]["template"]["spec"]["containers"][0]["args"]
    config_path = args[args.index("--config") + 1]
    assert config_path.startswith(_mount(gateway, "config"))
    assert str(config.server.api_token_file).startswith(_mount(gateway, "token"))
    for index, prompt_dir in enumerate(config.llm.prompt_paths):
        assert str(prompt_dir) == _mount(gateway, f"prompt-{index}")
    (prompt_map,) = [d for d in docs if names.LABEL_PROMPT in d["metadata"]["labels"]]
    folder = tmp_path / "summarize"
    folder.mkdir()
    for key, text in prompt_map["data"].items():
        (folder / key).write_text(text)
    registry = PromptRegistry.load([folder])
    resolved = registry.resolve("summarize", "production", None, {})
    assert resolved.version == "3"
    source = (example_target("assistant").service.spec_dir / "prompts" / "summarize.md").read_text()
    assert resolved.messages == [{"role": "system", "content": source}]


def test_a_prompt_change_renames_its_configmap_and_rolls_the_gateway(tmp_path):
    before = _self_hosted(tmp_path / "a")
    after = _self_hosted(tmp_path / "b", "Summarize the text in three bullet points.\n")
    name = lambda docs: next(d["metadata"]["name"] for d in docs if names.LABEL_PROMPT in d["metadata"]["labels"])
    template = lambda docs: find(docs, "Deployment", "helper-llm-gateway")["spec"]["template"]
    assert name(before).startswith("helper-prompt-summarize-") and name(before) != name(after)
    assert template(before) != template(after)
    assert _self_hosted(tmp_path / "c") == before


def test_gateway_egress_is_dns_the_upstream_port_the_store_and_the_collector_only():
    docs = objects(example_target("assistant"))
    policy = find(docs, "NetworkPolicy", "assistant-llm-gateway")["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    dns, upstream, store, collector = policy["egress"]
    assert collector["ports"] == [{"port": names.OTLP_HTTP_PORT, "protocol": "TCP"}]
    assert collector["to"] == [{"namespaceSelector": {"matchLabels": {names.LABEL_NAMESPACE_NAME: "monitoring"}}}]
    assert {p["port"] for p in dns["ports"]} == {53}
    assert upstream["ports"] == [{"port": 443, "protocol": "TCP"}]
    block = upstream["to"][0]["ipBlock"]
    assert block["cidr"] == "0.0.0.0/0" and "169.254.0.0/16" in block["except"] and "10.0.0.0/8" in block["except"]
    assert store["to"][0]["podSelector"]["matchLabels"][names.LABEL_NAME] == "assistant-qdrant"


def test_self_hosted_serving_points_the_gateway_at_vllm(tmp_path):
    docs = _self_hosted(tmp_path)
    config = _config(docs)
    assert config["llm"]["upstream"]["url"] == "http://helper-vllm.support.svc:8000"
    vllm = find(docs, "Deployment", "helper-vllm")["spec"]
    pod = vllm["template"]["spec"]
    container = pod["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "2"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert pod["tolerations"][0]["key"] == "nvidia.com/gpu"
    assert "--served-model-name" in container["args"] and "qwen-7b" in container["args"]
    cache = find(docs, "PersistentVolumeClaim", "helper-vllm-cache")
    assert cache["spec"]["resources"]["requests"]["storage"] == "50Gi"
    monitor = find(docs, "ServiceMonitor", "helper-vllm")["spec"]["endpoints"][0]
    assert monitor["metricRelabelings"][0]["regex"] == names.VLLM_METRIC_PREFIX + ".*"
    gateway_egress = find(docs, "NetworkPolicy", "helper-llm-gateway")["spec"]["egress"]
    assert gateway_egress[1]["ports"] == [{"port": names.VLLM_PORT, "protocol": "TCP"}]
    store = find(docs, "StatefulSet", "helper-pgvector")["spec"]
    assert store["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "10Gi"


@pytest.fixture(scope="module")
def self_hosted_docs(tmp_path_factory):
    return _self_hosted(tmp_path_factory.mktemp("self-hosted"))


def _core(doc: dict) -> bool:
    group = doc["apiVersion"].rpartition("/")[0]
    return "." not in group or group.endswith(".k8s.io")


@pytest.mark.tools
def test_self_hosted_variant_passes_kubernetes_validate_strict(self_hosted_docs):
    checked = 0
    for doc in self_hosted_docs:
        if _core(doc):
            kubernetes_validate.validate(doc, "1.30.0", strict=True)
            checked += 1
    assert checked >= 15


@pytest.mark.tools
def test_self_hosted_variant_has_no_failed_checkov_check(self_hosted_docs, tmp_path):
    (tmp_path / "objects.yaml").write_text(yaml.safe_dump_all(self_hosted_docs))
    report = kubernetes_report(tmp_path)
    failed = [f"{c['check_id']} {c['resource']}" for c in report["results"]["failed_checks"]]
    assert failed == []
    skipped = {c["check_id"] for c in report["results"]["skipped_checks"]}
    assert skipped <= {ENV_KEY_EXCEPTION["check"]}
    assert report["summary"]["passed"] > 100
