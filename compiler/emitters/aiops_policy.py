"""What the AIOps runtime may do in one environment: its remediation policy and the RBAC that allows exactly that.

Both come from one list of `Remediation`s derived from the objects the compiler emits for that environment
(HPAs, Chaos Mesh Schedules, SLO and drift alerts, retrain CronJobs), so a rule never names a target that does
not exist and the Roles grant no verb a rule does not use:

- SLOErrorBudgetBurnPage of a service with an HPA -> scale_deployment by one replica, bounded by the HPA's
  maxReplicas (horizontalpodautoscalers get; deployments/scale get, patch).
- SLOChaosBudgetLow of a service with Schedules -> pause_chaos on the service's budget-gated Schedules, only
  while its error budget left is at or below chaosRequiresAbove (schedules list; patch on those names).
- SLOErrorBudgetExhausted (policy freeze-deploys) -> suspend_kustomization: Flux stops applying the service's
  changes (kustomizations patch on the service's name, in the Flux namespace).
- ModelDriftHigh (policy retrain-model) -> retrain: a Job from the service's retrain CronJob (cronjobs get on
  that name; jobs create).

Every target namespace is known when compiling, so each gets a Role and a RoleBinding to the runtime's
ServiceAccount; no ClusterRole is needed (one would only be if the runtime acted in namespaces the specs do
not name).
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import conventions as names
from ..plan import Target, env_targets
from ..project import Project
from ..spec.base import duration_seconds
from . import chaos, model, scaling, slo

ROLE_NAME = "aiops-remediation"
CHAOS_GROUP, CHAOS_VERSION = names.CHAOS_MESH_API.split("/")
FLUX_GROUP = names.FLUX_KUSTOMIZATION_API.split("/")[0]


@dataclass(frozen=True)
class Permission:
    namespace: str
    group: str
    resource: str
    verbs: tuple[str, ...]
    name: str | None
    """The one object the verbs apply to; None where RBAC cannot name it (list, create)."""


@dataclass(frozen=True)
class Remediation:
    rule: dict
    allow: dict
    permissions: tuple[Permission, ...]


def _alerts(t: Target) -> set[str]:
    rules = slo.prometheus_rule(t) + model.drift_rule(t)
    return {rule["alert"] for doc in rules for group in doc["spec"]["groups"] for rule in group["rules"]
            if "alert" in rule}


def _remediation(t: Target, name: str, alert: str, action: str, namespace: str, target: str, params: dict,
                 permissions: tuple[Permission, ...], cooldown: float | None = None) -> Remediation:
    rule = {"name": f"{t.name}-{name}", "match": {"alertname": alert, names.SLO_LABEL_SERVICE: t.name},
            "action": action, "target": {"namespace": namespace, "name": target}, "params": params}
    if cooldown is not None:
        rule["cooldown_seconds"] = cooldown
    return Remediation(rule, {"action": action, "namespace": namespace, "name": target}, permissions)


def _scale(t: Target, alerts: set[str]) -> list[Remediation]:
    if names.ALERT_BURN_PAGE not in alerts:
        return []
    found = []
    for hpa in scaling.hpa(t):
        hpa_name, deployment = hpa["metadata"]["name"], hpa["spec"]["scaleTargetRef"]["name"]
        permissions = (Permission(t.namespace, "autoscaling", "horizontalpodautoscalers", ("get",), hpa_name),
                       Permission(t.namespace, "apps", "deployments/scale", ("get", "patch"), deployment))
        found.append(_remediation(t, "scale-up", names.ALERT_BURN_PAGE, "scale_deployment", t.namespace,
                                  deployment, {"hpa": hpa_name, "step": 1}, permissions))
    return found


def _pause_chaos(t: Target, alerts: set[str]) -> list[Remediation]:
    schedules = [d["metadata"]["name"] for d in chaos.schedules(t)]
    if names.ALERT_CHAOS_BUDGET_LOW not in alerts or not schedules:
        return []
    labels = {**names.selector_labels(t.name), names.LABEL_CHAOS_BUDGET_GATED: "true"}
    remaining = (f'min({names.SLO_BUDGET_REMAINING}{{{names.SLO_LABEL_SERVICE}="{t.name}",'
                 f'{names.SLO_LABEL_ENV}="{t.env.name}"}})')
    params = {"chaos_requires_above": t.spec.errorBudgetPolicy.chaosRequiresAbove / 100,
              "error_budget_query": remaining, "selector": ",".join(f"{k}={v}" for k, v in sorted(labels.items()))}
    permissions = (Permission(t.namespace, CHAOS_GROUP, "schedules", ("list",), None),
                   *(Permission(t.namespace, CHAOS_GROUP, "schedules", ("patch",), s) for s in schedules))
    return [_remediation(t, "pause-chaos", names.ALERT_CHAOS_BUDGET_LOW, "pause_chaos", t.namespace, "", params,
                         permissions)]


def _freeze(t: Target, alerts: set[str]) -> list[Remediation]:
    if names.ALERT_BUDGET_EXHAUSTED not in alerts:
        return []
    flux = t.config.spec.fluxNamespace
    permissions = (Permission(flux, FLUX_GROUP, "kustomizations", ("patch",), t.name),)
    return [_remediation(t, "freeze-deploys", names.ALERT_BUDGET_EXHAUSTED, "suspend_kustomization", flux, t.name,
                         {}, permissions)]


def _retrain(t: Target, alerts: set[str], cooldown: float) -> list[Remediation]:
    cronjob = names.retrain_name(t.name)
    has_cronjob = any(d["kind"] == "CronJob" and d["metadata"]["name"] == cronjob for d in model.training(t))
    if names.ALERT_MODEL_DRIFT not in alerts or not has_cronjob:
        return []
    permissions = (Permission(t.namespace, "batch", "cronjobs", ("get",), cronjob),
                   Permission(t.namespace, "batch", "jobs", ("create",), None))
    return [_remediation(t, "retrain", names.ALERT_MODEL_DRIFT, "retrain", t.namespace, cronjob, {}, permissions,
                         cooldown)]


def remediations(project: Project, env: str) -> list[Remediation]:
    retrain_cooldown = duration_seconds(project.config.spec.platform.aiops.retrainCooldown)
    found: list[Remediation] = []
    for service in project.services:
        t = next(t for t in env_targets(project, service) if t.env.name == env)
        alerts = _alerts(t)
        found += _scale(t, alerts) + _pause_chaos(t, alerts) + _freeze(t, alerts)
        found += _retrain(t, alerts, retrain_cooldown)
    return found


def policy(project: Project, env: str) -> dict:
    """The runtime's policy file (runtime/aiops/remediation.py RemediationPolicy); dry-run unless opted in."""
    settings = project.config.spec.platform.aiops
    found = remediations(project, env)
    return {"dry_run": env not in settings.remediateIn, "max_actions_per_hour": settings.maxActionsPerHour,
            "default_cooldown_seconds": duration_seconds(settings.cooldown),
            "allowlist": [r.allow for r in found], "rules": [r.rule for r in found]}


def role_rules(permissions: list[Permission]) -> list[dict]:
    """Permissions of one namespace as RBAC rules: one per group, resource and verbs, names merged."""
    merged: dict[tuple, set[str] | None] = {}
    for p in permissions:
        key = (p.group, p.resource, p.verbs)
        known = merged.get(key, set())
        merged[key] = None if known is None or p.name is None else known | {p.name}
    rules = []
    for (group, resource, verbs), objects in sorted(merged.items()):
        rule = {"apiGroups": [group], "resources": [resource], "verbs": list(verbs)}
        if objects is not None:
            rule["resourceNames"] = sorted(objects)
        rules.append(rule)
    return rules


def rbac(project: Project, env: str, labels: dict[str, str]) -> list[dict]:
    """A Role and RoleBinding (to the runtime's ServiceAccount) in every namespace a remediation acts in."""
    aiops_ns = project.config.spec.platform.alerting.aiops.namespace
    by_namespace: dict[str, list[Permission]] = {}
    for remediation in remediations(project, env):
        for permission in remediation.permissions:
            by_namespace.setdefault(permission.namespace, []).append(permission)
    docs = []
    for namespace, permissions in sorted(by_namespace.items()):
        meta = {"name": ROLE_NAME, "namespace": namespace, "labels": dict(labels)}
        docs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta,
                     "rules": role_rules(permissions)})
        docs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": dict(meta),
                     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": ROLE_NAME},
                     "subjects": [{"kind": "ServiceAccount", "name": names.AIOPS_SERVICE, "namespace": aiops_ns}]})
    return docs


def acted_in(project: Project, env: str) -> list[str]:
    """Namespaces holding a Role of the runtime: they must exist before the runtime's objects are applied."""
    return sorted({p.namespace for r in remediations(project, env) for p in r.permissions})
