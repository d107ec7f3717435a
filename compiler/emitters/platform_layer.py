"""PROJECT_EMITTER: the platform layer, one folder per environment (`generated/platform/<env>/`).

Each folder holds the namespaces of the stack, the HelmRepositories and pinned HelmReleases (values sized for
that environment), and the platform overview dashboard. The Flux Kustomization `platform` in
`clusters/<env>/` reconciles it, and every service Kustomization depends on it (the ServiceMonitor and
PrometheusRule CRDs come from kube-prometheus-stack). The AIOps runtime lives in the `aiops/` subfolder, which
its own Flux Kustomization reconciles after `platform` (platform_aiops.py).
"""
from __future__ import annotations

import posixpath

from .. import conventions as names
from ..output import OutputFile, Tree
from ..project import Project
from .dashboards import OVERVIEW_FOLDER, OVERVIEW_NAME, dashboard_configmap, overview_dashboard_json
from .adapter import adapter_files
from .platform_aiops import aiops_objects
from .platform_charts import (CHAOS_NAMESPACE, FLAGGER_NAMESPACE, PROMETHEUS_ADAPTER, REPOSITORIES, charts,
                              helm_release, helm_repository)
from .platform_values import VALUES

SOURCE = "specs/platform-config.yaml"
PRIVILEGED = "privileged"
RESTRICTED = "restricted"
ADAPTER_VALUES_FROM = [{"kind": "ConfigMap", "name": names.ADAPTER_RULES_CONFIGMAP,
                        "valuesKey": names.ADAPTER_VALUES_KEY, "optional": True}]
"""The adapter's rules, emitted by the `adapter` emitter when a service scales on request rate."""


def _namespace(name: str, level: str) -> dict:
    """node-exporter and the Chaos Mesh daemon need host access, so their namespaces enforce `privileged`."""
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {
                names.LABEL_MANAGED_BY: names.MANAGED_BY, names.LABEL_PART_OF: names.PLATFORM_DIR,
                names.LABEL_POD_SECURITY: level, names.LABEL_POD_SECURITY_VERSION: "latest"}}}


def storage_class(name: str) -> dict:
    """The class the stack's volumes use: encrypted EBS gp3 (the EKS EBS CSI add-on creates none)."""
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": name, "labels": {names.LABEL_MANAGED_BY: names.MANAGED_BY,
                                                  names.LABEL_PART_OF: names.PLATFORM_DIR}},
            "provisioner": "ebs.csi.aws.com", "parameters": {"type": "gp3", "encrypted": "true"},
            "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer", "allowVolumeExpansion": True}


def platform_objects(project: Project, env: str) -> list[dict]:
    cfg = project.config.spec
    sizing = cfg.platform.sizing(env)
    docs = [storage_class(cfg.platform.storageClass)] if cfg.platform.createStorageClass else []
    docs += [_namespace(cfg.monitoringNamespace, PRIVILEGED), _namespace(CHAOS_NAMESPACE, PRIVILEGED),
             _namespace(FLAGGER_NAMESPACE, RESTRICTED)]
    docs += [helm_repository(repo, cfg.fluxNamespace) for repo in REPOSITORIES]
    for chart in charts(cfg.monitoringNamespace):
        values_from = ADAPTER_VALUES_FROM if chart.release == PROMETHEUS_ADAPTER else None
        docs.append(helm_release(chart, VALUES[chart.chart](project.config, env, sizing), cfg.fluxNamespace,
                                 values_from))
    labels = {names.LABEL_MANAGED_BY: names.MANAGED_BY, names.LABEL_PART_OF: names.PLATFORM_DIR}
    docs.append(dashboard_configmap(f"{OVERVIEW_NAME}-dashboard", cfg.monitoringNamespace, OVERVIEW_FOLDER, labels,
                                    f"{OVERVIEW_NAME}.json", overview_dashboard_json(project, env)))
    return docs


def _file_name(doc: dict) -> str:
    return f"{doc['kind'].lower()}-{doc['metadata']['name']}.yaml"


def _aiops_file_name(doc: dict, home: str) -> str:
    """RBAC objects share one name across namespaces, so their namespace is part of the file name."""
    namespace = doc["metadata"].get("namespace")
    parts = [doc["kind"].lower(), *([namespace] if namespace and namespace != home else []), doc["metadata"]["name"]]
    return "-".join(parts) + ".yaml"


def _aiops_files(project: Project, env: str) -> Tree:
    root = f"{names.platform_dir(env)}/{names.AIOPS_DIR}"
    home = project.config.spec.platform.alerting.aiops.namespace
    files: Tree = {}
    for doc in aiops_objects(project, env):
        files[f"{root}/{_aiops_file_name(doc, home)}"] = OutputFile(SOURCE, doc)
    files[f"{root}/kustomization.yaml"] = OutputFile(SOURCE, {
        "apiVersion": names.KUSTOMIZE_API, "kind": "Kustomization",
        "resources": sorted(path.rsplit("/", 1)[1] for path in files)})
    return files


def platform_layer(project: Project) -> Tree:
    files: Tree = {}
    with_adapter_rules = bool(adapter_files(project))
    for env in project.environments:
        root = names.platform_dir(env.name)
        adapter_dir = posixpath.relpath(names.ADAPTER_DIR, root)
        docs = platform_objects(project, env.name)
        for doc in docs:
            files[f"{root}/{_file_name(doc)}"] = OutputFile(SOURCE, doc)
        resources = sorted(_file_name(d) for d in docs)
        if with_adapter_rules:
            resources.append(adapter_dir)
        files[f"{root}/kustomization.yaml"] = OutputFile(SOURCE, {
            "apiVersion": names.KUSTOMIZE_API, "kind": "Kustomization", "resources": resources})
        files.update(_aiops_files(project, env.name))
    return files
