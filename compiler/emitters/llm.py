"""The LLM gateway of a service with an `llm` block: the platform runtime in its llm role, configured from
the spec through a ConfigMap it reads (`--config`), prompt ConfigMaps, NetworkPolicy and budget alerts.

ConfigMap names carry a hash of their content, so a changed prompt file or setting changes the pod
template and rolls the gateway.
"""
from __future__ import annotations

import math
from pathlib import Path

import yaml

from .. import conventions as names
from ..plan import Target
from ..spec.llm import LlmSpec
from . import pods, telemetry

ROLE = "llm-gateway"
STATE_DIR = "/var/lib/runtime"
TOKEN_DIR = "/etc/llm-gateway/token"
TOKEN_FILE = "token"
API_KEY_DIR = "/etc/llm-gateway/upstream"
API_KEY_FILE = "api-key"
STORE_PASSWORD_DIR = "/etc/llm-gateway/vector-store"
STORE_PASSWORD_FILE = "password"


def gateway_name(t: Target) -> str:
    return names.llm_gateway_name(t.name)


def _upstream_base(t: Target, llm: LlmSpec) -> str:
    """The runtime appends /v1/chat/completions itself, so the URL it gets ends before /v1."""
    if llm.serving is not None:
        return f"http://{names.vllm_name(t.name)}.{t.namespace}.svc:{names.VLLM_PORT}"
    upstream = llm.upstream or ""
    return upstream[: -len("/v1")] if upstream.endswith("/v1") else upstream


def prompt_file_text(t: Target, file: str) -> str:
    return (Path(t.service.spec_dir) / file).read_text(encoding="utf-8")


def _prompt_documents(t: Target, llm: LlmSpec) -> dict[str, dict]:
    """Per prompt name, the runtime's prompt file: every listed version, the file's text as system message."""
    documents: dict[str, dict] = {}
    for prompt in llm.prompts:
        version = {"version": prompt.version, "labels": [prompt.label] if prompt.label else [],
                   "model": llm.model,
                   "messages": [{"role": "system", "content": prompt_file_text(t, prompt.file)}]}
        documents.setdefault(prompt.name, {"name": prompt.name, "versions": []})["versions"].append(version)
    return documents


def prompt_configmaps(t: Target) -> list[dict]:
    llm = t.spec.llm
    if llm is None:
        return []
    result = []
    for name, document in sorted(_prompt_documents(t, llm).items()):
        data = {f"{name}.yaml": yaml.safe_dump(document, sort_keys=True, allow_unicode=True, width=120)}
        meta = pods.component_metadata(t, gateway_name(t), ROLE,
                                       name=f"{t.name}-prompt-{name}-{pods.content_hash(data)}")
        meta["labels"][names.LABEL_PROMPT] = name
        result.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data,
                       "immutable": True})
    return result


def budget_share(llm: LlmSpec) -> int:
    """Each gateway pod keeps its own ledger, so each enforces its share of the daily budget."""
    assert llm.tokenBudget is not None
    return math.ceil(llm.tokenBudget.daily / llm.gateway.replicas)


def _rag_settings(t: Target) -> dict | None:
    """The runtime's `llm.rag` block pointing at the store server's Service, or None for the embedded store."""
    from .llm_serving import STORE_PORTS
    rag = t.spec.llm.rag
    if rag is None or rag.store == "embedded":
        return None
    host = f"{names.vector_store_name(t.name, rag.store)}.{t.namespace}.svc"
    if rag.store == "qdrant":
        return {"store": "qdrant", "qdrant_url": f"http://{host}:{names.QDRANT_PORT}"}
    return {"store": "pgvector", "pgvector_host": host, "pgvector_port": STORE_PORTS["pgvector"],
            "pgvector_database": names.pgvector_database(rag.collection), "pgvector_user": names.PGVECTOR_USER,
            "pgvector_password_file": f"{STORE_PASSWORD_DIR}/{STORE_PASSWORD_FILE}"}


def runtime_config(t: Target, prompt_dirs: list[str]) -> dict:
    llm = t.spec.llm
    assert llm is not None
    upstream = {"url": _upstream_base(t, llm), "timeout_seconds": 120}
    if llm.apiKeySecret is not None:
        upstream["api_key_file"] = f"{API_KEY_DIR}/{API_KEY_FILE}"
    settings: dict = {"upstream": upstream, "prompt_paths": prompt_dirs}
    price = llm.price_per_million()
    if price is not None:
        settings["prices"] = {llm.model: {"prompt_per_million": price[0], "completion_per_million": price[1]}}
    budgets: dict = {"header": names.LLM_BUDGET_HEADER, "state_path": f"{STATE_DIR}/budgets.sqlite"}
    if llm.tokenBudget is not None:
        budgets.update(default=t.name, budgets=[{"name": t.name, "daily_tokens": budget_share(llm)}])
    settings["budgets"] = budgets
    rag = _rag_settings(t)
    if rag is not None:
        settings["rag"] = rag
    return {"server": {"state_dir": STATE_DIR, "api_token_file": f"{TOKEN_DIR}/{TOKEN_FILE}", "log_level": "INFO"},
            "llm": settings}


def _config_map(t: Target, prompt_dirs: list[str]) -> dict:
    data = {names.LLM_GATEWAY_CONFIG_KEY: yaml.safe_dump(runtime_config(t, prompt_dirs), sort_keys=True)}
    name = f"{gateway_name(t)}-{pods.content_hash(data)}"
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": pods.component_metadata(t, gateway_name(t), ROLE,
                                                                                           name=name),
            "data": data, "immutable": True}


def token_secret(t: Target) -> tuple[str, str]:
    llm = t.spec.llm
    assert llm is not None
    ref = llm.gateway.tokenSecret
    return (ref.secret, ref.key) if ref else (gateway_name(t), "token")


def _deployment(t: Target, config: dict, prompt_maps: list[dict]) -> dict:
    llm = t.spec.llm
    assert llm is not None
    name = gateway_name(t)
    secret, key = token_secret(t)
    volumes = [{"name": "config", "configMap": {"name": config["metadata"]["name"]}},
               {"name": "token", "secret": {"secretName": secret, "items": [{"key": key, "path": TOKEN_FILE}]}},
               {"name": "state", "emptyDir": {"sizeLimit": "256Mi"}},
               {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]
    mounts = [{"name": "config", "mountPath": names.LLM_GATEWAY_CONFIG_DIR + "/config", "readOnly": True},
              {"name": "token", "mountPath": TOKEN_DIR, "readOnly": True},
              {"name": "state", "mountPath": STATE_DIR}, {"name": "tmp", "mountPath": "/tmp"}]
    if llm.apiKeySecret is not None:
        volumes.append({"name": "upstream-key", "secret": {
            "secretName": llm.apiKeySecret.secret, "items": [{"key": llm.apiKeySecret.key, "path": API_KEY_FILE}]}})
        mounts.append({"name": "upstream-key", "mountPath": API_KEY_DIR, "readOnly": True})
    if llm.rag is not None and llm.rag.store == "pgvector":
        ref = llm.rag.passwordSecret
        volumes.append({"name": "store-password", "secret": {
            "secretName": ref.secret, "items": [{"key": ref.key, "path": STORE_PASSWORD_FILE}]}})
        mounts.append({"name": "store-password", "mountPath": STORE_PASSWORD_DIR, "readOnly": True})
    for index, cm in enumerate(prompt_maps):
        prompt = cm["metadata"]["labels"][names.LABEL_PROMPT]
        volumes.append({"name": f"prompt-{index}", "configMap": {"name": cm["metadata"]["name"]}})
        mounts.append({"name": f"prompt-{index}", "mountPath": f"{names.LLM_PROMPTS_DIR}/{prompt}", "readOnly": True})
    env = [{"name": "RUNTIME_STATE_DIR", "value": STATE_DIR}]
    env += telemetry.otel_env(t, service_name=name)
    port = names.LLM_GATEWAY_PORT
    container = {
        "name": "gateway", "image": llm.gateway.image or names.RUNTIME_IMAGE, "imagePullPolicy": "Always",
        "args": ["llm", "--port", str(port), "--config",
                 f"{names.LLM_GATEWAY_CONFIG_DIR}/config/{names.LLM_GATEWAY_CONFIG_KEY}"],
        "ports": [{"name": names.PORT_NAME, "containerPort": port, "protocol": "TCP"}],
        "env": env, "resources": pods.resources(llm.gateway.cpu, llm.gateway.memory),
        "livenessProbe": pods.http_probe("/healthz", names.PORT_NAME, period=10, failures=3),
        "readinessProbe": pods.http_probe("/readyz", names.PORT_NAME, period=5, failures=3),
        "securityContext": pods.container_security(), "volumeMounts": mounts,
    }
    annotations = {names.ANNOTATION_SOURCE: t.service.source, **pods.skip_annotations(t)}
    labels = pods.component_labels(t, name, ROLE)
    spec = {"replicas": llm.gateway.replicas, "revisionHistoryLimit": 5,
            "selector": {"matchLabels": names.selector_labels(name)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
            "template": {"metadata": {"labels": labels, "annotations": dict(annotations)},
                         "spec": pods.pod_spec(name, [container], volumes, terminationGracePeriodSeconds=30)}}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": pods.component_metadata(t, name, ROLE, annotations=annotations), "spec": spec}


def _service(t: Target) -> dict:
    name = gateway_name(t)
    return {"apiVersion": "v1", "kind": "Service", "metadata": pods.component_metadata(t, name, ROLE),
            "spec": {"type": "ClusterIP", "selector": names.selector_labels(name),
                     "ports": [{"name": names.PORT_NAME, "port": names.LLM_GATEWAY_PORT,
                                "targetPort": names.PORT_NAME, "protocol": "TCP"}]}}


def _service_monitor(t: Target) -> dict:
    name = gateway_name(t)
    return {"apiVersion": names.MONITORING_API, "kind": "ServiceMonitor",
            "metadata": pods.component_metadata(t, name, ROLE),
            "spec": {"selector": {"matchLabels": names.selector_labels(name)},
                     "namespaceSelector": {"matchNames": [t.namespace]},
                     "endpoints": [{"port": names.PORT_NAME, "path": "/metrics", "interval": "30s",
                                    "scheme": "http"}]}}


def _pdb(t: Target) -> list[dict]:
    llm = t.spec.llm
    assert llm is not None
    if llm.gateway.replicas <= 1:
        return []
    name = gateway_name(t)
    return [{"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": pods.component_metadata(t, name, ROLE),
             "spec": {"maxUnavailable": 1, "selector": {"matchLabels": names.selector_labels(name)}}}]


def upstream_egress(t: Target) -> list[dict]:
    """Where the gateway may connect besides DNS: the vLLM pods, or the provider's port on public addresses."""
    llm = t.spec.llm
    assert llm is not None
    if llm.serving is not None:
        return [{"to": [{"podSelector": {"matchLabels": names.selector_labels(names.vllm_name(t.name))}}],
                 "ports": [{"port": names.VLLM_PORT, "protocol": "TCP"}]}]
    upstream = llm.upstream or ""
    scheme, _, rest = upstream.partition("://")
    host = rest.split("/", 1)[0]
    port = int(host.rsplit(":", 1)[1]) if ":" in host else (443 if scheme == "https" else 80)
    return [pods.internet_egress(port)]


def _network_policy(t: Target, store_egress: list[dict]) -> dict:
    """Ingress from the service's namespace and monitoring; egress to DNS, the upstream, the vector store and
    the OpenTelemetry Collector (spans)."""
    name = gateway_name(t)
    monitoring = {"namespaceSelector": {"matchLabels": {
        names.LABEL_NAMESPACE_NAME: t.config.spec.monitoringNamespace}}}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": pods.component_metadata(t, name, ROLE),
            "spec": {"podSelector": {"matchLabels": names.selector_labels(name)},
                     "policyTypes": ["Ingress", "Egress"],
                     "ingress": [{"from": [{"podSelector": {}}, monitoring],
                                  "ports": [{"port": names.LLM_GATEWAY_PORT, "protocol": "TCP"}]}],
                     "egress": [pods.dns_egress(), *upstream_egress(t), *store_egress,
                                {"to": [monitoring], "ports": [{"port": names.OTLP_HTTP_PORT, "protocol": "TCP"}]}]}}


def gateway(t: Target) -> list[dict]:
    """Everything the gateway needs: ConfigMaps, ServiceAccount, Deployment, Service, PDB, NetworkPolicy."""
    llm = t.spec.llm
    if llm is None:
        return []
    from .llm_serving import vector_store_egress
    prompt_maps = prompt_configmaps(t)
    prompt_dirs = [f"{names.LLM_PROMPTS_DIR}/{cm['metadata']['labels'][names.LABEL_PROMPT]}" for cm in prompt_maps]
    config = _config_map(t, prompt_dirs)
    return [*prompt_maps, config, pods.service_account(t, gateway_name(t), ROLE),
            _deployment(t, config, prompt_maps), _service(t), _service_monitor(t), *_pdb(t),
            _network_policy(t, vector_store_egress(t))]
