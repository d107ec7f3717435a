"""The two registry entries of the model and llm blocks: every object each block adds to a service."""
from __future__ import annotations

from ..plan import Target
from . import llm, llm_rules, llm_serving, llm_slos, model, model_rollout
from . import mlops_dashboards  # noqa: F401  (registers the model and llm dashboard rows)


def model_objects(t: Target) -> list[dict]:
    return (model.training(t) + model.drift_rule(t) + model_rollout.metric_templates(t) + model_rollout.canary(t)
            + model_rollout.primary_guards(t))


def llm_objects(t: Target) -> list[dict]:
    return (llm.gateway(t) + llm_serving.vllm(t) + llm_serving.vector_store(t) + llm_rules.budget_rules(t)
            + llm_slos.prometheus_rule(t))
