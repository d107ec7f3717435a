"""The prometheus-adapter rule serving `http_requests_per_second` per pod to HPAs (platform layer).

One generic rule serves every service: it turns the runtime's request counter into a per-pod rate. It is a
ConfigMap holding a values fragment for the prometheus-adapter HelmRelease (`valuesFrom`), emitted when any
service scales on requests.
"""
from __future__ import annotations

import yaml

from .. import conventions as names
from ..output import OutputFile, Tree
from ..project import Project

RATE_RANGE = "2m"


def adapter_rule() -> dict:
    return {"seriesQuery": f'{names.HTTP_REQUESTS_TOTAL}{{namespace!="",pod!=""}}',
            "resources": {"overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}},
            "name": {"matches": f"^{names.HTTP_REQUESTS_TOTAL}$", "as": names.HPA_REQUESTS_METRIC},
            "metricsQuery": f"sum(rate(<<.Series>>{{<<.LabelMatchers>>}}[{RATE_RANGE}])) by (<<.GroupBy>>)"}


def adapter_values() -> dict:
    return {"rules": {"default": False, "custom": [adapter_rule()]}}


def adapter_files(project: Project) -> Tree:
    users = [s for s in project.services
             if any(spec.scaling and spec.scaling.requestsPerSecond for spec in [s.base, *s.envs.values()])]
    if not users:
        return {}
    source = ", ".join(s.source for s in users)
    values = yaml.safe_dump(adapter_values(), sort_keys=True, default_flow_style=False)
    config_map = {"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": names.ADAPTER_RULES_CONFIGMAP,
                               "namespace": project.config.spec.monitoringNamespace,
                               "labels": {names.LABEL_MANAGED_BY: names.MANAGED_BY}},
                  "data": {names.ADAPTER_VALUES_KEY: values}}
    file = f"{names.ADAPTER_RULES_CONFIGMAP}.yaml"
    return {f"{names.ADAPTER_DIR}/{file}": OutputFile(source, config_map),
            f"{names.ADAPTER_DIR}/kustomization.yaml": OutputFile(
                source, {"apiVersion": names.KUSTOMIZE_API, "kind": "Kustomization", "resources": [file]})}
