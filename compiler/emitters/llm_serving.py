"""What an `llm` block may add beside the gateway: a self-hosted vLLM server (`llm.serving`) and a vector
store server (`llm.rag.store: qdrant | pgvector`) with its own volume.
"""
from __future__ import annotations

from .. import conventions as names
from ..plan import Target
from . import pods

VLLM_ROLE = "llm-serving"
STORE_ROLE = "vector-store"
CACHE_DIR = "/models"
HF_TOKEN_DIR = "/etc/hf-token"
STORE_PORTS = {"qdrant": names.QDRANT_PORT, "pgvector": 5432}
STORE_IMAGES = {"qdrant": names.QDRANT_IMAGE, "pgvector": names.PGVECTOR_IMAGE}
GPU_RESOURCE = "nvidia.com/gpu"


def _monitoring_peer(t: Target) -> dict:
    return {"namespaceSelector": {"matchLabels": {names.LABEL_NAMESPACE_NAME: t.config.spec.monitoringNamespace}}}


def _gateway_peer(t: Target) -> dict:
    return {"podSelector": {"matchLabels": names.selector_labels(names.llm_gateway_name(t.name))}}


def _vllm_args(t: Target) -> list[str]:
    llm = t.spec.llm
    assert llm is not None and llm.serving is not None
    serving = llm.serving
    args = ["--model", serving.model, "--served-model-name", llm.model, "--host", "0.0.0.0",
            "--port", str(names.VLLM_PORT), "--tensor-parallel-size", str(serving.gpus),
            "--download-dir", f"{CACHE_DIR}/weights"]
    if serving.maxModelLen:
        args += ["--max-model-len", str(serving.maxModelLen)]
    return args


def _vllm_env(t: Target) -> list[dict]:
    serving = t.spec.llm.serving
    env = [{"name": "HOME", "value": "/tmp"}, {"name": "HF_HOME", "value": f"{CACHE_DIR}/hf"},
           {"name": "VLLM_CACHE_ROOT", "value": f"{CACHE_DIR}/vllm"},
           {"name": "TRITON_CACHE_DIR", "value": "/tmp/triton"},
           {"name": "XDG_CACHE_HOME", "value": "/tmp/cache"},
           {"name": "VLLM_NO_USAGE_STATS", "value": "1"}, {"name": "DO_NOT_TRACK", "value": "1"}]
    if serving.hfTokenSecret is not None:
        env.append({"name": "HF_TOKEN_PATH", "value": f"{HF_TOKEN_DIR}/token"})
    return env


def vllm(t: Target) -> list[dict]:
    """A single-replica GPU Deployment (Recreate: two copies rarely fit the GPUs), its model cache volume,
    Service, ServiceMonitor for the `vllm:` metrics and NetworkPolicy."""
    llm = t.spec.llm
    if llm is None or llm.serving is None:
        return []
    serving = llm.serving
    name = names.vllm_name(t.name)
    cache = f"{name}-cache"
    pvc_spec = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": str(serving.cacheSize)}}}
    if serving.storageClassName:
        pvc_spec["storageClassName"] = serving.storageClassName
    volumes = [{"name": "cache", "persistentVolumeClaim": {"claimName": cache}},
               {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "8Gi"}},
               {"name": "tmp", "emptyDir": {"sizeLimit": "4Gi"}}]
    mounts = [{"name": "cache", "mountPath": CACHE_DIR}, {"name": "shm", "mountPath": "/dev/shm"},
              {"name": "tmp", "mountPath": "/tmp"}]
    if serving.hfTokenSecret is not None:
        ref = serving.hfTokenSecret
        volumes.append({"name": "hf-token", "secret": {"secretName": ref.secret,
                                                       "items": [{"key": ref.key, "path": "token"}]}})
        mounts.append({"name": "hf-token", "mountPath": HF_TOKEN_DIR, "readOnly": True})
    container = {
        "name": "vllm", "image": serving.image or names.VLLM_IMAGE, "imagePullPolicy": "Always",
        "args": _vllm_args(t), "env": _vllm_env(t),
        "ports": [{"name": names.PORT_NAME, "containerPort": names.VLLM_PORT, "protocol": "TCP"}],
        "resources": pods.resources(serving.cpu, serving.memory, {GPU_RESOURCE: serving.gpus}),
        "startupProbe": pods.http_probe("/health", names.PORT_NAME, period=10, failures=180),
        "readinessProbe": pods.http_probe("/health", names.PORT_NAME, period=10, failures=3, timeout=5),
        "livenessProbe": pods.http_probe("/health", names.PORT_NAME, period=20, failures=3, timeout=5),
        "securityContext": pods.container_security(), "volumeMounts": mounts,
    }
    annotations = {names.ANNOTATION_SOURCE: t.service.source, **pods.skip_annotations(t)}
    pod = pods.pod_spec(name, [container], volumes, nodeSelector=dict(serving.nodeSelector),
                        tolerations=[{"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}],
                        terminationGracePeriodSeconds=60)
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": pods.component_metadata(t, name, VLLM_ROLE, annotations=annotations),
                  "spec": {"replicas": 1, "revisionHistoryLimit": 3, "strategy": {"type": "Recreate"},
                           "selector": {"matchLabels": names.selector_labels(name)},
                           "template": {"metadata": {"labels": pods.component_labels(t, name, VLLM_ROLE),
                                                     "annotations": dict(annotations)}, "spec": pod}}}
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
             "metadata": pods.component_metadata(t, name, VLLM_ROLE, name=cache), "spec": pvc_spec}
    service = {"apiVersion": "v1", "kind": "Service", "metadata": pods.component_metadata(t, name, VLLM_ROLE),
               "spec": {"type": "ClusterIP", "selector": names.selector_labels(name),
                        "ports": [{"name": names.PORT_NAME, "port": names.VLLM_PORT, "targetPort": names.PORT_NAME,
                                   "protocol": "TCP"}]}}
    monitor = {"apiVersion": names.MONITORING_API, "kind": "ServiceMonitor",
               "metadata": pods.component_metadata(t, name, VLLM_ROLE),
               "spec": {"selector": {"matchLabels": names.selector_labels(name)},
                        "namespaceSelector": {"matchNames": [t.namespace]},
                        "endpoints": [{"port": names.PORT_NAME, "path": "/metrics", "interval": "15s",
                                       "scheme": "http", "metricRelabelings": [
                                           {"sourceLabels": ["__name__"], "regex": "vllm:.*", "action": "keep"}]}]}}
    policy = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
              "metadata": pods.component_metadata(t, name, VLLM_ROLE),
              "spec": {"podSelector": {"matchLabels": names.selector_labels(name)},
                       "policyTypes": ["Ingress", "Egress"],
                       "ingress": [{"from": [_gateway_peer(t), _monitoring_peer(t)],
                                    "ports": [{"port": names.VLLM_PORT, "protocol": "TCP"}]}],
                       "egress": [pods.dns_egress(), pods.internet_egress(443)]}}
    return [pods.service_account(t, name, VLLM_ROLE), claim, deployment, service, monitor, policy]


def _store_container(t: Target, store: str) -> dict:
    rag = t.spec.llm.rag
    port = STORE_PORTS[store]
    base = {"name": store, "image": rag.image or STORE_IMAGES[store], "imagePullPolicy": "Always",
            "ports": [{"name": store[:15], "containerPort": port, "protocol": "TCP"}],
            "resources": pods.resources("250m", "512Mi"), "securityContext": pods.container_security()}
    if store == "qdrant":
        base["env"] = [{"name": "QDRANT__STORAGE__STORAGE_PATH", "value": "/data/storage"},
                       {"name": "QDRANT__STORAGE__SNAPSHOTS_PATH", "value": "/data/snapshots"},
                       {"name": "QDRANT_INIT_FILE_PATH", "value": "/tmp/.qdrant-initialized"},
                       {"name": "QDRANT__TELEMETRY_DISABLED", "value": "true"}]
        base["readinessProbe"] = pods.http_probe("/readyz", store[:15], period=10, failures=3)
        base["livenessProbe"] = pods.http_probe("/livez", store[:15], period=20, failures=3)
        base["volumeMounts"] = [{"name": "data", "mountPath": "/data"}, {"name": "tmp", "mountPath": "/tmp"}]
        return base
    ready = {"exec": {"command": ["pg_isready", "-h", "127.0.0.1", "-p", str(port), "-U", names.PGVECTOR_USER]},
             "periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 3}
    base["env"] = [{"name": "PGDATA", "value": "/data/pgdata"},
                   {"name": "POSTGRES_DB", "value": names.pgvector_database(rag.collection)},
                   {"name": "POSTGRES_PASSWORD_FILE", "value": "/etc/postgres/password"}]
    base["readinessProbe"] = ready
    base["livenessProbe"] = dict(ready, periodSeconds=20)
    base["volumeMounts"] = [{"name": "data", "mountPath": "/data"}, {"name": "tmp", "mountPath": "/tmp"},
                            {"name": "run", "mountPath": "/var/run/postgresql"},
                            {"name": "password", "mountPath": "/etc/postgres", "readOnly": True}]
    return base


def vector_store(t: Target) -> list[dict]:
    """A one-replica StatefulSet with a volume per pod, reachable only from the gateway (and monitoring)."""
    llm = t.spec.llm
    if llm is None or llm.rag is None or llm.rag.store == "embedded":
        return []
    rag, store = llm.rag, llm.rag.store
    name = names.vector_store_name(t.name, store)
    volumes = [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}]
    if store == "pgvector":
        volumes += [{"name": "run", "emptyDir": {"sizeLimit": "16Mi"}},
                    {"name": "password", "secret": {"secretName": rag.passwordSecret.secret,
                                                    "items": [{"key": rag.passwordSecret.key, "path": "password"}]}}]
    claim_spec = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": str(rag.storage)}}}
    if rag.storageClassName:
        claim_spec["storageClassName"] = rag.storageClassName
    annotations = {names.ANNOTATION_SOURCE: t.service.source, **pods.skip_annotations(t)}
    labels = pods.component_labels(t, name, STORE_ROLE)
    statefulset = {
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": pods.component_metadata(t, name, STORE_ROLE, annotations=annotations),
        "spec": {"serviceName": name, "replicas": 1, "selector": {"matchLabels": names.selector_labels(name)},
                 "template": {"metadata": {"labels": labels, "annotations": dict(annotations)},
                              "spec": pods.pod_spec(name, [_store_container(t, store)], volumes,
                                                    terminationGracePeriodSeconds=60)},
                 "volumeClaimTemplates": [{"metadata": {"name": "data", "labels": labels}, "spec": claim_spec}]}}
    port = STORE_PORTS[store]
    service = {"apiVersion": "v1", "kind": "Service", "metadata": pods.component_metadata(t, name, STORE_ROLE),
               "spec": {"clusterIP": "None", "selector": names.selector_labels(name),
                        "ports": [{"name": store[:15], "port": port, "targetPort": port, "protocol": "TCP"}]}}
    policy = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
              "metadata": pods.component_metadata(t, name, STORE_ROLE),
              "spec": {"podSelector": {"matchLabels": names.selector_labels(name)},
                       "policyTypes": ["Ingress", "Egress"],
                       "ingress": [{"from": [_gateway_peer(t), _monitoring_peer(t)],
                                    "ports": [{"port": port, "protocol": "TCP"}]}],
                       "egress": [pods.dns_egress()]}}
    return [pods.service_account(t, name, STORE_ROLE), statefulset, service, policy]


def vector_store_egress(t: Target) -> list[dict]:
    """The gateway's egress rule to its vector store server, if it has one."""
    llm = t.spec.llm
    if llm is None or llm.rag is None or llm.rag.store == "embedded":
        return []
    name = names.vector_store_name(t.name, llm.rag.store)
    return [{"to": [{"podSelector": {"matchLabels": names.selector_labels(name)}}],
             "ports": [{"port": STORE_PORTS[llm.rag.store], "protocol": "TCP"}]}]
