"""Chaos Mesh Schedules: valid against the Schedule schema, limited to the service's pods, absent from prod
unless named, labelled so the runtime can find and pause them when the error budget is low."""
from __future__ import annotations

import copy
import json

import jsonschema
import pytest

from compiler import conventions as names
from compiler.emitters import chaos
from compiler.plan import base_target, env_targets
from compiler.project import load_project
from tests.tools import REPO

SCHEMA = json.loads((REPO / "tests" / "schemas" / "chaos-mesh-schedule.schema.json").read_text())


@pytest.fixture(scope="module")
def project():
    return load_project(REPO / "specs")


@pytest.fixture(scope="module")
def schedules(project) -> dict[tuple[str, str], list[dict]]:
    return {(s.name, t.env.name): chaos.schedules(t) for s in project.services for t in env_targets(project, s)}


def test_schema_is_valid_and_closed():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_every_schedule_matches_the_schema(schedules):
    validator = jsonschema.Draft202012Validator(SCHEMA)
    docs = [d for docs in schedules.values() for d in docs]
    assert len(docs) >= 6
    for doc in docs:
        assert [e.message for e in validator.iter_errors(doc)] == [], doc["metadata"]["name"]


def test_a_misspelt_field_fails_the_schema(schedules):
    doc = copy.deepcopy(next(d for docs in schedules.values() for d in docs if d["spec"]["type"] == "NetworkChaos"))
    doc["spec"]["networkChaos"]["delay" if "delay" in doc["spec"]["networkChaos"] else "loss"]["latncy"] = "1ms"
    assert list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(doc))


def test_every_action_is_emitted(schedules):
    kinds = {(d["spec"]["type"], d["spec"][key].get("action", next(iter(d["spec"][key].get("stressors", {"-": 0})))))
             for docs in schedules.values() for d in docs
             for key in ("podChaos", "networkChaos", "stressChaos") if key in d["spec"]}
    assert kinds == {("PodChaos", "pod-kill"), ("PodChaos", "pod-failure"), ("NetworkChaos", "delay"),
                     ("NetworkChaos", "loss"), ("StressChaos", "cpu"), ("StressChaos", "memory")}


def test_experiments_touch_only_the_service_own_pods(project, schedules):
    teams = {s.name: s.team for s in project.services}
    for (service, _), docs in schedules.items():
        for doc in docs:
            spec = doc["spec"][{"PodChaos": "podChaos", "NetworkChaos": "networkChaos",
                                "StressChaos": "stressChaos"}[doc["spec"]["type"]]]
            assert spec["selector"] == {"namespaces": [teams[service]],
                                        "labelSelectors": names.selector_labels(service)}
            assert doc["metadata"]["namespace"] == teams[service]


def test_prod_runs_only_experiments_that_name_it(project, schedules):
    prod = {service: [d["metadata"]["labels"][names.LABEL_CHAOS_EXPERIMENT] for d in docs]
            for (service, env), docs in schedules.items() if env == "prod"}
    named = {s.name: [e.name for e in s.base.chaos if e.environments and "prod" in e.environments]
             for s in project.services}
    assert prod == named
    assert any(prod.values()), "one example names prod on purpose"
    for service in project.services:
        assert chaos.schedules(base_target(service, project.config)) == []


def test_schedules_are_labelled_for_the_budget_pause(project, schedules):
    policies = {s.name: s.base.errorBudgetPolicy for s in project.services}
    for (service, _), docs in schedules.items():
        for doc in docs:
            meta = doc["metadata"]
            assert meta["labels"][names.LABEL_CHAOS_BUDGET_GATED] == "true"
            assert meta["labels"][names.LABEL_NAME] == service
            assert float(meta["annotations"][names.ANNOTATION_CHAOS_REQUIRES_ABOVE]) == \
                policies[service].chaosRequiresAbove
            assert doc["spec"]["concurrencyPolicy"] == "Forbid"
