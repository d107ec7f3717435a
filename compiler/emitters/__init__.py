"""The registries of emitters.

- SERVICE_EMITTERS: pure functions from a Target (one service in one environment, or its base) to a list of
  manifests. Their output lands in the service's Kustomize base, and the overlays hold what each environment
  changes. This is where most output kinds go.
- PROJECT_EMITTERS: pure functions from the whole Project to files ({path under generated/: OutputFile}), for
  output that is not one service's (the platform layer, overview dashboards).

Adding an output kind: write its emitter module, add one line here, its tests, its goldens, a line of docs.
"""
from __future__ import annotations

from collections.abc import Callable

from ..plan import Target
from ..output import Tree
from ..project import Project
from . import adapter, chaos, dashboards, mlops, monitoring, network, platform_layer, scaling, slo, workload

Emitter = Callable[[Target], list[dict]]

SERVICE_EMITTERS: tuple[Emitter, ...] = (
    workload.service_account,
    workload.deployment,
    network.service,
    network.network_policy,
    scaling.hpa,
    scaling.pod_disruption_budget,
    monitoring.service_monitor,
    slo.prometheus_rule,
    chaos.schedules,
    mlops.model_objects,
    mlops.llm_objects,
    dashboards.service_dashboard,
)


ProjectEmitter = Callable[[Project], Tree]

PROJECT_EMITTERS: tuple[ProjectEmitter, ...] = (
    adapter.adapter_files,
    platform_layer.platform_layer,
)


def emit_service(target: Target) -> list[dict]:
    return [doc for emitter in SERVICE_EMITTERS for doc in emitter(target)]
