"""Remediation policy engine for Alertmanager webhooks.

Policy file (YAML), validated by `RemediationPolicy`:

    dry_run: true                    # the default; set false to act
    max_actions_per_hour: 5          # per replica; counts executed and dry-run decisions alike
    default_cooldown_seconds: 900    # per action+target
    allowlist:                       # nothing outside this list is ever done
      - {action: scale_deployment, namespace: shop, name: checkout}
    rules:                           # first rule whose `match` labels all equal the alert's wins
      - name: checkout-latency
        match: {alertname: CheckoutLatencyHigh}
        action: scale_deployment     # or restart_rollout, pause_chaos, suspend_kustomization, retrain
        target: {namespace: "{namespace}", name: checkout}   # "{label}" is filled from the alert's labels
        params: {step: 1}
        cooldown_seconds: 600

Actions and the Kubernetes permissions their executor needs (the compiler emits these Roles):
- scale_deployment: raises the Deployment's replicas by `step` within the bounds of its HPA (`params.hpa`, the
  HPA's name) up to the HPA's maxReplicas, or without an HPA up to `params.max_replicas` (one of the two is
  required). The HPA object itself is never changed. horizontalpodautoscalers get, deployments/scale get/patch.
- restart_rollout: stamps the pod template's restartedAt annotation. deployments patch.
- pause_chaos: only when the error budget left (alert annotation `error_budget_remaining`, else
  `params.error_budget_query` against Prometheus) is below `params.chaos_requires_above`; annotates Chaos Mesh
  Schedules with `experiment.chaos-mesh.org/pause: "true"`: the target's Schedule, or with an empty name every
  Schedule of the namespace that matches the label selector `params.selector` (all when unset).
  schedules.chaos-mesh.org list/patch.
- suspend_kustomization: sets `spec.suspend: true` on a Flux Kustomization.
  kustomizations.kustomize.toolkit.fluxcd.io patch.
- retrain: creates a Job from the target CronJob's job template, like `kubectl create job --from=cronjob/x`
  (works on a suspended CronJob too). cronjobs get, jobs create.

One replica decides for a given target (rendezvous hash of action+target over the replicas), so cooldowns
and caps for a target are kept in one place and an alert delivered to every replica acts once.
Every decision goes to the audit log (JSON lines) and `aiops_remediation_decisions_total{action,outcome}`.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import time
from collections import deque
from pathlib import Path
from typing import Literal, Protocol

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from runtime.aiops.sharding import ReplicaIdentity

log = logging.getLogger("runtime.aiops.remediation")

ActionName = Literal["scale_deployment", "restart_rollout", "pause_chaos", "suspend_kustomization", "retrain"]
OUTCOMES = ("executed", "dry_run", "denied", "cooldown", "capped", "failed")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class PolicyError(Exception):
    pass


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Target(_Strict):
    namespace: str = Field(min_length=1)
    name: str = Field("", description="empty for pause_chaos means every Schedule in the namespace")


class AllowedAction(_Strict):
    action: ActionName
    namespace: str = Field(min_length=1)
    name: str = ""


class Rule(_Strict):
    name: str = Field(min_length=1)
    match: dict[str, str] = Field(min_length=1)
    action: ActionName
    target: Target
    params: dict[str, float | int | str] = Field(default_factory=dict)
    cooldown_seconds: float | None = Field(None, ge=0)


class RemediationPolicy(_Strict):
    dry_run: bool = True
    max_actions_per_hour: int = Field(5, ge=0)
    default_cooldown_seconds: float = Field(900.0, ge=0)
    allowlist: list[AllowedAction] = Field(default_factory=list)
    rules: list[Rule] = Field(default_factory=list)

    def allows(self, action: str, target: Target) -> bool:
        return any(item.action == action and item.namespace == target.namespace and item.name == target.name
                   for item in self.allowlist)


def load_policy(path: Path | None) -> RemediationPolicy:
    """No file: an empty policy (dry-run, nothing allowed)."""
    if path is None:
        return RemediationPolicy()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return RemediationPolicy.model_validate(data)
    except OSError as exc:
        raise PolicyError(f"cannot read remediation policy {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"remediation policy {path} is not valid YAML: {exc}") from None
    except ValidationError as exc:
        lines = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise PolicyError(f"remediation policy {path} is invalid: {lines}") from None


class Executor(Protocol):
    def execute(self, action: str, target: Target, params: dict) -> str: ...


class KubernetesExecutor:
    """Acts through the `kubernetes` client with the pod's ServiceAccount; built only when first needed.

    `apis` replaces the client objects (apps, autoscaling, batch, custom) so tests can record the calls."""

    def __init__(self, apis: dict | None = None) -> None:
        if apis is None:
            from kubernetes import client, config

            try:
                config.load_incluster_config()
            except config.ConfigException:
                config.load_kube_config()
            apis = {"apps": client.AppsV1Api(), "autoscaling": client.AutoscalingV2Api(),
                    "batch": client.BatchV1Api(), "custom": client.CustomObjectsApi()}
        self.apps = apis["apps"]
        self.autoscaling = apis["autoscaling"]
        self.batch = apis["batch"]
        self.custom = apis["custom"]
        self._clock = time.time

    def execute(self, action: str, target: Target, params: dict) -> str:
        return getattr(self, f"_{action}")(target, params)

    def _scale_deployment(self, target: Target, params: dict) -> str:
        step = int(params.get("step", 1))
        if "hpa" in params:
            hpa = self.autoscaling.read_namespaced_horizontal_pod_autoscaler(str(params["hpa"]), target.namespace)
            ref = hpa.spec.scale_target_ref
            if ref.kind != "Deployment" or ref.name != target.name:
                raise PolicyError(f"HPA {params['hpa']} scales {ref.kind} {ref.name}, not deployment {target.name}")
            ceiling, bound = hpa.spec.max_replicas, f"HPA {params['hpa']} maxReplicas"
        elif "max_replicas" in params:
            ceiling, bound = int(params["max_replicas"]), "max_replicas"
        else:
            raise PolicyError(f"scaling deployment {target.name} needs params.hpa or params.max_replicas")
        scale = self.apps.read_namespaced_deployment_scale(target.name, target.namespace)
        current = scale.spec.replicas or 0
        wanted = min(current + step, ceiling)
        if wanted <= current:
            return f"deployment {target.name} already at {bound} {ceiling}"
        self.apps.patch_namespaced_deployment_scale(target.name, target.namespace, {"spec": {"replicas": wanted}})
        return f"deployment {target.name} replicas {current} -> {wanted} ({bound} {ceiling})"

    def _restart_rollout(self, target: Target, params: dict) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self._clock()))
        body = {"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": stamp}}}}}
        self.apps.patch_namespaced_deployment(target.name, target.namespace, body)
        return f"deployment {target.name} restarted at {stamp}"

    def _pause_chaos(self, target: Target, params: dict) -> str:
        if target.name:
            names = [target.name]
        else:
            selector = str(params.get("selector", ""))
            schedules = self.custom.list_namespaced_custom_object("chaos-mesh.org", "v1alpha1", target.namespace,
                                                                  "schedules", label_selector=selector)["items"]
            names = sorted(item["metadata"]["name"] for item in schedules)
        body = {"metadata": {"annotations": {"experiment.chaos-mesh.org/pause": "true"}}}
        for name in names:
            self.custom.patch_namespaced_custom_object("chaos-mesh.org", "v1alpha1", target.namespace,
                                                       "schedules", name, body)
        return f"paused chaos schedules {names}"

    def _suspend_kustomization(self, target: Target, params: dict) -> str:
        self.custom.patch_namespaced_custom_object("kustomize.toolkit.fluxcd.io", "v1", target.namespace,
                                                   "kustomizations", target.name, {"spec": {"suspend": True}})
        return f"suspended Flux Kustomization {target.name}"

    def _retrain(self, target: Target, params: dict) -> str:
        cronjob = self.batch.read_namespaced_cron_job(target.name, target.namespace)
        template = _plain(cronjob.spec.job_template)
        name = retrain_job_name(target.name, self._clock())
        meta = template.get("metadata") or {}
        annotations = {**(meta.get("annotations") or {}), "cronjob.kubernetes.io/instantiate": "manual"}
        job = {"apiVersion": "batch/v1", "kind": "Job",
               "metadata": {"name": name, "namespace": target.namespace,
                            "labels": dict(meta.get("labels") or {}), "annotations": annotations,
                            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob",
                                                 "name": cronjob.metadata.name, "uid": cronjob.metadata.uid,
                                                 "controller": True, "blockOwnerDeletion": False}]},
               "spec": template["spec"]}
        self.batch.create_namespaced_job(target.namespace, job)
        return f"created job {name} from cronjob {target.name}"


def _plain(obj) -> dict:
    """A client model object as the JSON-shaped dict the API server takes (camelCase keys, no None values)."""
    from kubernetes.client import ApiClient

    return ApiClient().sanitize_for_serialization(obj)


def retrain_job_name(cronjob: str, now: float) -> str:
    """`<cronjob>-manual-<unix minutes>`, cut to the 63 characters a Job's pod labels allow."""
    suffix = f"-manual-{int(now // 60)}"
    return cronjob[: 63 - len(suffix)].rstrip("-") + suffix


class AuditLog:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()

    def write(self, decision: dict) -> None:
        line = json.dumps(decision, sort_keys=True, separators=(",", ":"))
        log.info("remediation decision", extra={"decision": decision})
        if self.path is None:
            return
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")


def _fill(template: str, labels: dict[str, str]) -> str:
    def replace(match: re.Match) -> str:
        if match.group(1) not in labels:
            raise KeyError(match.group(1))
        return labels[match.group(1)]
    return _PLACEHOLDER.sub(replace, template)


class RemediationEngine:
    def __init__(self, policy: RemediationPolicy, replica: ReplicaIdentity, audit: AuditLog, decisions_counter,
                 executor_factory=KubernetesExecutor, budget_lookup=None, clock=time.time) -> None:
        self.policy = policy
        self.replica = replica
        self.audit = audit
        self.counter = decisions_counter
        self._executor_factory = executor_factory
        self._executor: Executor | None = None
        self._budget_lookup = budget_lookup
        self._clock = clock
        self._last_action: dict[str, float] = {}
        self._recent: deque[float] = deque()
        self._lock = threading.Lock()

    def executor(self) -> Executor:
        if self._executor is None:
            self._executor = self._executor_factory()
        return self._executor

    def rule_for(self, labels: dict[str, str]) -> Rule | None:
        for rule in self.policy.rules:
            if all(labels.get(key) == value for key, value in rule.match.items()):
                return rule
        return None

    async def handle_alert(self, alert) -> dict | None:
        """The decision for one alert, or None when no rule matches or the alert is resolved."""
        if alert.status != "firing":
            return None
        rule = self.rule_for(alert.labels)
        if rule is None:
            return None
        now = self._clock()
        decision = {"at": round(now, 3), "alertname": alert.labels.get("alertname", ""),
                    "fingerprint": alert.fingerprint or "", "rule": rule.name, "action": rule.action,
                    "dry_run": self.policy.dry_run, "replica": self.replica.ordinal}
        try:
            target = Target(namespace=_fill(rule.target.namespace, alert.labels),
                            name=_fill(rule.target.name, alert.labels))
        except (KeyError, ValidationError) as exc:
            return self._record(decision, "denied", f"target placeholder not filled by the alert's labels: {exc}")
        decision["target"] = {"namespace": target.namespace, "name": target.name}
        key = f"{rule.action}|{target.namespace}|{target.name}"
        owner = self.replica.owns(key)
        if not owner:
            from runtime.aiops.sharding import owner_of
            decision.update(outcome="delegated", reason=f"replica {owner_of(key, self.replica.count)} owns {key}")
            return decision
        if not self.policy.allows(rule.action, target):
            return self._record(decision, "denied", f"{rule.action} on {target.namespace}/{target.name} "
                                                    "is not in the allowlist")
        if rule.action == "pause_chaos":
            refusal = await self._chaos_refusal(rule, alert)
            if refusal:
                return self._record(decision, "denied", refusal)
        with self._lock:
            cooldown = rule.cooldown_seconds if rule.cooldown_seconds is not None else self.policy.default_cooldown_seconds
            last = self._last_action.get(key)
            if last is not None and now - last < cooldown:
                return self._record(decision, "cooldown", f"last action on {key} {now - last:.0f} s ago, "
                                                          f"cooldown {cooldown:.0f} s")
            while self._recent and now - self._recent[0] >= 3600:
                self._recent.popleft()
            if len(self._recent) >= self.policy.max_actions_per_hour:
                return self._record(decision, "capped", f"{len(self._recent)} actions in the last hour, cap "
                                                        f"{self.policy.max_actions_per_hour}")
            self._last_action[key] = now
            self._recent.append(now)
        if self.policy.dry_run:
            return self._record(decision, "dry_run", f"would run {rule.action} on {target.namespace}/{target.name} "
                                                     f"with {dict(rule.params)}")
        try:
            executor = self.executor()
            result = await asyncio.to_thread(executor.execute, rule.action, target, dict(rule.params))
        except Exception as exc:
            return self._record(decision, "failed", f"{exc.__class__.__name__}: {exc}")
        return self._record(decision, "executed", result)

    async def _chaos_refusal(self, rule: Rule, alert) -> str | None:
        threshold = rule.params.get("chaos_requires_above")
        if threshold is None:
            return "pause_chaos rule needs params.chaos_requires_above"
        raw = alert.annotations.get("error_budget_remaining")
        remaining = None
        if raw is not None:
            try:
                remaining = float(raw)
            except ValueError:
                return f"annotation error_budget_remaining={raw!r} is not a number"
        elif "error_budget_query" in rule.params and self._budget_lookup is not None:
            try:
                remaining = await self._budget_lookup(str(rule.params["error_budget_query"]))
            except Exception as exc:
                return f"error budget query failed: {exc}"
        if remaining is None:
            return "error budget left is unknown (no annotation, no query result)"
        if remaining >= float(threshold):
            return f"error budget left {remaining:g} is not below chaosRequiresAbove {float(threshold):g}"
        return None

    def _record(self, decision: dict, outcome: str, reason: str) -> dict:
        decision.update(outcome=outcome, reason=reason)
        self.counter.labels(decision["action"], outcome).inc()
        self.audit.write(decision)
        return decision
