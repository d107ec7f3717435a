"""Chaos Mesh Schedules: each experiment on its cron schedule, limited to the service's own pods.

Per environment only: an experiment runs in the environments it names, or in every non-production one.
The labels let the runtime find a service's Schedules and pause them while the error budget is low.
"""
from __future__ import annotations

from .. import conventions as names
from ..plan import Target
from ..spec.chaos import ACTION_PARAMS, ChaosExperiment

KINDS = {"pod-kill": "PodChaos", "pod-failure": "PodChaos", "network-delay": "NetworkChaos",
         "network-loss": "NetworkChaos", "cpu-stress": "StressChaos", "memory-stress": "StressChaos"}
SPEC_KEYS = {"PodChaos": "podChaos", "NetworkChaos": "networkChaos", "StressChaos": "stressChaos"}
HISTORY_LIMIT = 3
STARTING_DEADLINE_SECONDS = 300


def _target(t: Target, exp: ChaosExperiment) -> dict:
    target = {"mode": exp.mode, "selector": {"namespaces": [t.namespace],
                                             "labelSelectors": names.selector_labels(t.name)}}
    if exp.value is not None:
        target["value"] = exp.value
    return target


def _fault(exp: ChaosExperiment) -> dict:
    kinds = ACTION_PARAMS[exp.action]
    params = {k: (v if kinds[k] is int else str(v)) for k, v in exp.params.items()}
    if exp.action == "pod-kill":
        return {"action": "pod-kill", **({"gracePeriod": params["gracePeriod"]} if "gracePeriod" in params else {})}
    if exp.action == "pod-failure":
        return {"action": "pod-failure", "duration": exp.duration}
    if exp.action == "network-delay":
        return {"action": "delay", "direction": "to", "duration": exp.duration, "delay": params}
    if exp.action == "network-loss":
        return {"action": "loss", "direction": "to", "duration": exp.duration, "loss": params}
    stressor = "cpu" if exp.action == "cpu-stress" else "memory"
    return {"duration": exp.duration, "stressors": {stressor: {"workers": 1, **params}}}


def schedule(t: Target, exp: ChaosExperiment) -> dict:
    kind = KINDS[exp.action]
    metadata = t.metadata(names.chaos_schedule_name(t.name, exp.name), annotations={
        names.ANNOTATION_CHAOS_REQUIRES_ABOVE: f"{t.spec.errorBudgetPolicy.chaosRequiresAbove:g}"})
    metadata["labels"].update({names.LABEL_CHAOS_EXPERIMENT: exp.name, names.LABEL_CHAOS_BUDGET_GATED: "true"})
    return {"apiVersion": names.CHAOS_MESH_API, "kind": "Schedule", "metadata": metadata,
            "spec": {"schedule": exp.schedule, "concurrencyPolicy": "Forbid", "historyLimit": HISTORY_LIMIT,
                     "startingDeadlineSeconds": STARTING_DEADLINE_SECONDS, "type": kind,
                     SPEC_KEYS[kind]: {**_target(t, exp), **_fault(exp)}}}


def schedules(t: Target) -> list[dict]:
    if t.env is None:
        return []
    return [schedule(t, exp) for exp in t.spec.chaos if exp.runs_in(t.env.name, t.env.production)]
