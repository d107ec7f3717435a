"""The registry of service emitters: each is a pure function from a Target to a list of manifests.

Adding an output kind: write its emitter module, add one line here, its tests, its goldens, a line of docs.
"""
from __future__ import annotations

from collections.abc import Callable

from ..plan import Target
from . import monitoring, network, scaling, workload

Emitter = Callable[[Target], list[dict]]

SERVICE_EMITTERS: tuple[Emitter, ...] = (
    workload.service_account,
    workload.deployment,
    network.service,
    network.network_policy,
    scaling.hpa,
    scaling.pod_disruption_budget,
    monitoring.service_monitor,
)


def emit_service(target: Target) -> list[dict]:
    return [doc for emitter in SERVICE_EMITTERS for doc in emitter(target)]
