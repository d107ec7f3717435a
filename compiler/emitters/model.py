"""The `model` block: training CronJobs (the validation gate passed to the training image) and the drift alert.

Two CronJobs run the same training pod: `<service>-train` on `training.schedule` (when `retrainOn.schedule`),
and `<service>-retrain`, always suspended, the template of one-off runs. A suspended CronJob rather than a
Job manifest kept outside the overlay: it stays in the reconciled tree, so every environment's copy tracks the
spec (image, dataset, resources), and a run is `kubectl create job --from=cronjob/<service>-retrain <name>`
(what the AIOps webhook does on ModelDriftHigh) instead of applying a stale file from a checkout. A Job in
the overlay itself would run once per apply and then block every change (a Job's template is immutable).
"""
from __future__ import annotations

from .. import conventions as names
from ..plan import Target
from ..spec.base import duration_seconds
from ..spec.model import ModelSpec
from . import pods

TRAIN_ROLE = "model-training"
WORK_DIR = "/work"
REGISTRY_MOUNT = "/registry"
FINISHED_TTL_SECONDS = 3 * 86400


def _training_env(model: ModelSpec, trigger: str) -> list[dict]:
    training, validation = model.training, model.validation
    assert training is not None and validation is not None
    return [{"name": "PLATFORM_MODEL_NAME", "value": model.name},
            {"name": "PLATFORM_MODEL_FRAMEWORK", "value": model.framework},
            {"name": "PLATFORM_MODEL_REGISTRY", "value": model.registry},
            {"name": "PLATFORM_MODEL_PRODUCTION_VERSION", "value": model.version},
            {"name": "PLATFORM_MODEL_DATASET", "value": training.dataset},
            {"name": "PLATFORM_MODEL_VALIDATION_METRIC", "value": validation.metric},
            {"name": "PLATFORM_MODEL_VALIDATION_MIN", "value": f"{validation.min:g}"},
            {"name": "PLATFORM_MODEL_TRIGGER", "value": trigger},
            {"name": "PLATFORM_MODEL_WORK_DIR", "value": WORK_DIR}]


def _training_pod(t: Target, component: str, trigger: str) -> dict:
    model = t.spec.model
    assert model is not None and model.training is not None
    training = model.training
    volumes = [{"name": "work", "emptyDir": {"sizeLimit": "20Gi"}}, {"name": "tmp", "emptyDir": {"sizeLimit": "2Gi"}}]
    mounts = [{"name": "work", "mountPath": WORK_DIR}, {"name": "tmp", "mountPath": "/tmp"}]
    if model.registry.startswith("pvc://"):
        claim = model.registry[len("pvc://"):].split("/", 1)[0]
        volumes.append({"name": "registry", "persistentVolumeClaim": {"claimName": claim}})
        mounts.append({"name": "registry", "mountPath": REGISTRY_MOUNT})
    container = {"name": "train", "image": training.image, "imagePullPolicy": "Always",
                 "env": _training_env(model, trigger),
                 "resources": pods.resources(str(training.resources.cpu), str(training.resources.memory)),
                 "securityContext": pods.container_security(), "volumeMounts": mounts}
    return pods.pod_spec(component, [container], volumes, restartPolicy="Never")


def _cronjob(t: Target, name: str, *, suspend: bool, trigger: str) -> dict:
    model = t.spec.model
    assert model is not None and model.training is not None
    training = model.training
    component = names.training_name(t.name)
    labels = pods.component_labels(t, component, TRAIN_ROLE)
    annotations = {names.ANNOTATION_SOURCE: t.service.source, **pods.skip_annotations(t)}
    job = {"backoffLimit": training.retries, "activeDeadlineSeconds": int(duration_seconds(training.timeout)),
           "ttlSecondsAfterFinished": FINISHED_TTL_SECONDS,
           "template": {"metadata": {"labels": dict(labels), "annotations": dict(annotations)},
                        "spec": _training_pod(t, component, trigger)}}
    return {"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": pods.component_metadata(t, component, TRAIN_ROLE, name=name, annotations=annotations),
            "spec": {"schedule": training.schedule, "timeZone": "Etc/UTC", "suspend": suspend,
                     "concurrencyPolicy": "Forbid", "startingDeadlineSeconds": 3600,
                     "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 3,
                     "jobTemplate": {"metadata": {"labels": dict(labels)}, "spec": job}}}


def training(t: Target) -> list[dict]:
    model = t.spec.model
    if model is None or model.training is None:
        return []
    component = names.training_name(t.name)
    docs = [pods.service_account(t, component, TRAIN_ROLE)]
    if model.retrainOn is None or model.retrainOn.schedule:
        docs.append(_cronjob(t, names.training_name(t.name), suspend=False, trigger="schedule"))
    docs.append(_cronjob(t, names.retrain_name(t.name), suspend=True, trigger="drift"))
    policy = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
              "metadata": pods.component_metadata(t, component, TRAIN_ROLE),
              "spec": {"podSelector": {"matchLabels": names.selector_labels(component)},
                       "policyTypes": ["Ingress", "Egress"], "ingress": [],
                       "egress": [pods.dns_egress(), pods.internet_egress(443)]}}
    return docs + [policy]


def drift_rule(t: Target) -> list[dict]:
    """ModelDriftHigh from the runtime's drift score; `policy: retrain-model` routes it to the AIOps webhook."""
    model = t.spec.model
    if model is None or model.retrainOn is None or model.retrainOn.drift is None or t.env is None:
        return []
    threshold = f"{model.retrainOn.drift:g}"
    selector = f'{names.SERIES_NAMESPACE}="{t.namespace}", {names.SERIES_MODEL}="{model.name}"'
    by = ", ".join((names.SERIES_NAMESPACE, names.SERIES_MODEL, names.SERIES_MODEL_VERSION))
    labels = {names.LABEL_SEVERITY: names.SEVERITY_TICKET, names.LABEL_POLICY: names.POLICY_RETRAIN_MODEL,
              names.SLO_LABEL_SERVICE: t.name, names.SLO_LABEL_TEAM: t.namespace, names.SLO_LABEL_ENV: t.env.name,
              names.LABEL_RETRAIN_CRONJOB: names.retrain_name(t.name)}
    rule = {"alert": names.ALERT_MODEL_DRIFT,
            "expr": f"max by ({by}) ({names.METRIC_MODEL_DRIFT}{{{selector}}}) > {threshold}",
            "for": model.retrainOn.driftFor, "labels": labels,
            "annotations": {
                "summary": f"{t.name}: model {model.name} drifted (score above {threshold})",
                "description": f"The drift score of {model.name} version {{{{ $labels.model_version }}}} is "
                               f"{{{{ $value | printf \"%.2f\" }}}} (threshold {threshold}) for "
                               f"{model.retrainOn.driftFor}. The AIOps webhook starts a training run from "
                               f"cronjob/{names.retrain_name(t.name)}; a candidate is registered only if "
                               f"its {model.validation.metric if model.validation else 'validation score'} "
                               "passes the gate."}}
    metadata = pods.component_metadata(t, names.training_name(t.name), TRAIN_ROLE, name=f"{t.name}-model")
    metadata["labels"].update(names.PROMETHEUS_RULE_LABELS)
    return [{"apiVersion": names.MONITORING_API, "kind": "PrometheusRule", "metadata": metadata,
             "spec": {"groups": [{"name": f"{t.name}-model-drift", "rules": [rule]}]}}]
