"""Strict JSON Schemas for the custom resources we emit, derived from the typed cloudcoil models.

The cloudcoil models are generated from the upstream CRDs but accept unknown fields; a typo in a field name
would pass them. Here every object schema that lists its properties is closed (additionalProperties: false),
so the check is as strict as `kubernetes-validate --strict` is for core objects.
"""
from __future__ import annotations

import functools
import importlib

import jsonschema

# (apiVersion, kind) -> (module, class) of the cloudcoil model.
MODELS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): ("cloudcoil.models.prometheus_operator.v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"): ("cloudcoil.models.prometheus_operator.v1", "PrometheusRule"),
    ("monitoring.coreos.com/v1", "PodMonitor"): ("cloudcoil.models.prometheus_operator.v1", "PodMonitor"),
    ("kustomize.toolkit.fluxcd.io/v1", "Kustomization"): ("cloudcoil.models.fluxcd.kustomize.v1", "Kustomization"),
    ("source.toolkit.fluxcd.io/v1", "GitRepository"): ("cloudcoil.models.fluxcd.source.v1", "GitRepository"),
    ("source.toolkit.fluxcd.io/v1", "HelmRepository"): ("cloudcoil.models.fluxcd.source.v1", "HelmRepository"),
    ("helm.toolkit.fluxcd.io/v2", "HelmRelease"): ("cloudcoil.models.fluxcd.helm.v2", "HelmRelease"),
}


def _close(node):
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            _close(value)
    elif isinstance(node, list):
        for value in node:
            _close(value)
    return node


@functools.cache
def validator_for(api_version: str, kind: str) -> jsonschema.protocols.Validator | None:
    target = MODELS.get((api_version, kind))
    if target is None:
        return None
    model = getattr(importlib.import_module(target[0]), target[1])
    schema = _close(model.model_json_schema(by_alias=True, mode="validation"))
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def errors(doc: dict) -> list[str] | None:
    """Problems in a custom resource, or None when no schema is known for its kind."""
    validator = validator_for(doc["apiVersion"], doc["kind"])
    if validator is None:
        return None
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]
