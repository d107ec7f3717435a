"""What the model and llm blocks change in the service's own objects (workload, Service, ServiceMonitor).

Kept free of imports from the other emitters so workload, network and monitoring can call it directly.
"""
from __future__ import annotations

from .. import conventions as names
from ..plan import Target


def pod_labels(t: Target) -> dict[str, str]:
    """Model name and version on the serving pods: a new version changes the template, which starts a canary."""
    model = t.spec.model
    if model is None:
        return {}
    return {names.LABEL_MODEL_NAME: model.name, names.LABEL_MODEL_VERSION: model.version}


def container_env(t: Target) -> list[dict]:
    """The model the serving image loads, and for an llm block the gateway as the app's OpenAI endpoint
    (OpenAI SDKs read OPENAI_BASE_URL and OPENAI_API_KEY)."""
    env = []
    model = t.spec.model
    if model is not None:
        env += [{"name": "MODEL_FRAMEWORK", "value": model.framework}, {"name": "MODEL_NAME", "value": model.name},
                {"name": "MODEL_REGISTRY", "value": model.registry}, {"name": "MODEL_VERSION", "value": model.version}]
    llm = t.spec.llm
    if llm is not None:
        gateway = names.llm_gateway_name(t.name)
        token = llm.gateway.tokenSecret
        secret, key = (token.secret, token.key) if token else (gateway, "token")
        env += [{"name": "OPENAI_BASE_URL", "value": f"http://{gateway}.{t.namespace}.svc:{names.LLM_GATEWAY_PORT}/v1"},
                {"name": "OPENAI_API_KEY", "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}]
    return env


def endpoint_fields(t: Target) -> dict:
    """Relabelings putting the pod's model version on every series the service exports, as `model_version`."""
    if t.spec.model is None:
        return {}
    source = "__meta_kubernetes_pod_label_" + "".join(c if c.isalnum() else "_" for c in names.LABEL_MODEL_VERSION)
    return {"relabelings": [{"sourceLabels": [source], "targetLabel": names.SERIES_MODEL_VERSION,
                             "action": "replace"}]}


def monitor_fields(t: Target) -> dict:
    """With a canary the scraped Services are Flagger's `-primary` and `-canary`: the job label comes from
    their part-of label, so every series keeps `job="<service>"` as the SLO rules expect."""
    return {"jobLabel": names.LABEL_PART_OF} if canary_owns_service(t) else {}


def flagger_service_labels(t: Target) -> dict[str, str]:
    """Labels Flagger puts on its primary and canary Services, so the service's ServiceMonitor scrapes both."""
    return {**names.selector_labels(t.name), names.LABEL_PART_OF: t.name}


def canary_owns_service(t: Target) -> bool:
    """With a Flagger Canary, Flagger creates and owns the Service named after the Deployment."""
    return t.spec.model is not None and t.spec.model.rollout is not None
