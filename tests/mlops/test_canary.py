"""Acceptance 2 (model): the Canary and MetricTemplates are complete, their queries parse in Prometheus,
their thresholds come from the spec, and the training CronJobs carry the validation gate."""
from __future__ import annotations

import copy
import json
import shutil

import jsonschema
import pytest
import yaml

from compiler import conventions as names
from compiler.emitters import model_rollout
from tests.mlops.helpers import example_target, find, objects, target_of, write_service
from tests.tools import REPO, require_tool, run_tool

SCHEMAS = REPO / "tests" / "schemas"
FLAGGER_VARIABLES = {"{{ namespace }}": "risk", "{{ target }}": "fraud-scoring", "{{ interval }}": "1m"}


def _schema(kind: str) -> jsonschema.Draft202012Validator:
    name = {"Canary": "flagger-canary", "MetricTemplate": "flagger-metrictemplate"}[kind]
    return jsonschema.Draft202012Validator(json.loads((SCHEMAS / f"{name}.schema.json").read_text()))


@pytest.fixture(scope="module")
def fraud():
    return objects(example_target("fraud-scoring"))


def test_canary_and_templates_match_the_flagger_schemas(fraud):
    checked = 0
    for doc in fraud:
        if doc["kind"] in ("Canary", "MetricTemplate"):
            assert doc["apiVersion"] == names.FLAGGER_API
            errors = [e.message for e in _schema(doc["kind"]).iter_errors(doc)]
            assert errors == [], f"{doc['kind']}/{doc['metadata']['name']}: {errors}"
            checked += 1
    assert checked == 3


def test_a_misspelt_canary_field_fails_the_schema(fraud):
    broken = copy.deepcopy(find(fraud, "Canary"))
    broken["spec"]["analysis"]["stepWieght"] = 10
    assert list(_schema("Canary").iter_errors(broken))


def test_every_metric_template_query_parses_in_prometheus(fraud, tmp_path):
    promtool = require_tool("promtool")
    rules = []
    for doc in fraud:
        if doc["kind"] == "MetricTemplate":
            query = doc["spec"]["query"]
            for variable, value in FLAGGER_VARIABLES.items():
                query = query.replace(variable, value)
            assert "{{" not in query, query
            rules.append({"record": "canary:" + doc["metadata"]["name"].replace("-", "_"), "expr": query})
    assert len(rules) == 2
    path = tmp_path / "canary.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "canary", "rules": rules}]}))
    result = run_tool([promtool, "check", "rules", str(path)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_canary_analysis_and_thresholds_come_from_the_spec(fraud):
    rollout = example_target("fraud-scoring").spec.model.rollout
    canary = find(fraud, "Canary")["spec"]
    analysis = canary["analysis"]
    assert (analysis["interval"], analysis["threshold"]) == (rollout.interval, rollout.threshold)
    assert canary["provider"] == "kubernetes", "the example platform installs Flagger without a mesh"
    assert "stepWeight" not in analysis, "no traffic split without a mesh: blue/green iterations instead"
    assert analysis["iterations"] == -(-rollout.maxWeight // rollout.stepWeight)
    limits = {m["name"]: m["thresholdRange"]["max"] for m in analysis["metrics"]}
    assert limits == {"error-ratio": rollout.rollbackOn.errorRatio, "latency-p99": 0.1}
    assert canary["targetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "fraud-scoring"}
    assert canary["autoscalerRef"]["name"] == "fraud-scoring"
    for metric in analysis["metrics"]:
        template = find(fraud, "MetricTemplate", metric["templateRef"]["name"])
        assert template["spec"]["provider"]["type"] == "prometheus"


def test_a_mesh_provider_gives_weighted_steps_and_must_match_the_platform(tmp_path):
    from compiler.errors import SpecError
    from compiler.project import load_project
    specs = tmp_path / "specs"
    shutil.copytree(REPO / "specs", specs)
    config = specs / "platform-config.yaml"
    config.write_text(config.read_text().replace("  platform:\n", "  platform:\n    meshProvider: linkerd\n", 1))
    project = load_project(specs)
    service = next(s for s in project.services if s.name == "fraud-scoring")
    from compiler.emitters.model_rollout import canary
    from compiler.plan import env_targets
    spec = canary(env_targets(project, service)[0])[0]["spec"]
    assert spec["provider"] == "linkerd"
    assert (spec["analysis"]["stepWeight"], spec["analysis"]["maxWeight"]) == (
        service.base.model.rollout.stepWeight, service.base.model.rollout.maxWeight)
    spec_file = specs / "fraud-scoring" / "platform.yaml"
    spec_file.write_text(spec_file.read_text().replace("    rollout:\n", "    rollout:\n      provider: istio\n", 1))
    with pytest.raises(SpecError) as caught:
        load_project(specs)
    assert any("is not the platform's Flagger provider ('linkerd')" in d.message for d in caught.value.diagnostics)


def test_without_rollback_limits_the_canary_uses_the_strictest_slo(tmp_path):
    spec = {"image": "ghcr.io/acme/scoring:1.0.0", "port": 8080,
            "slos": [{"name": "http", "objective": 99.9, "sli": {"availability": {}}},
                     {"name": "fast", "objective": 99, "sli": {"latency": {"threshold": 0.25}}}],
            "model": {"name": "m", "framework": "onnx", "registry": "pvc://models/m", "version": "3",
                      "rollout": {"provider": "kubernetes", "stepWeight": 20, "maxWeight": 60}}}
    docs = objects(target_of(write_service(tmp_path, "scoring", "risk", spec)))
    analysis = find(docs, "Canary")["spec"]["analysis"]
    assert {m["name"]: m["thresholdRange"]["max"] for m in analysis["metrics"]} == {
        "error-ratio": pytest.approx(0.1), "latency-p99": 0.25}
    assert analysis["iterations"] == 3 and "stepWeight" not in analysis


def test_flagger_owns_the_service_and_the_primary_pods_keep_their_guards(fraud):
    kinds = {(d["kind"], d["metadata"]["name"]) for d in fraud}
    assert ("Service", "fraud-scoring") not in kinds
    primary = find(fraud, "NetworkPolicy", "fraud-scoring" + model_rollout.PRIMARY_SUFFIX)
    assert primary["spec"]["podSelector"]["matchLabels"][names.LABEL_NAME] == "fraud-scoring-primary"
    assert find(fraud, "PodDisruptionBudget", "fraud-scoring-primary")
    monitor = find(fraud, "ServiceMonitor", "fraud-scoring")["spec"]
    assert monitor["jobLabel"] == names.LABEL_PART_OF
    assert monitor["endpoints"][0]["relabelings"][0]["targetLabel"] == "model_version"


def test_serving_pods_carry_the_model_version(fraud):
    pod = find(fraud, "Deployment", "fraud-scoring")["spec"]["template"]
    assert pod["metadata"]["labels"][names.LABEL_MODEL_VERSION] == "7"
    env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
    assert env["MODEL_VERSION"] == "7" and env["MODEL_REGISTRY"] == "s3://acme-models/fraud"


def test_training_cronjobs_pass_the_validation_gate_and_the_retrain_template_is_suspended(fraud):
    model = example_target("fraud-scoring").spec.model
    scheduled = find(fraud, "CronJob", names.training_name("fraud-scoring"))
    retrain = find(fraud, "CronJob", names.retrain_name("fraud-scoring"))
    assert scheduled["spec"]["schedule"] == model.training.schedule and scheduled["spec"]["suspend"] is False
    assert retrain["spec"]["suspend"] is True
    for job in (scheduled, retrain):
        container = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e["value"] for e in container["env"]}
        assert env["PLATFORM_MODEL_VALIDATION_METRIC"] == "auc"
        assert env["PLATFORM_MODEL_VALIDATION_MIN"] == "0.85"
        assert env["PLATFORM_MODEL_DATASET"] == model.training.dataset
        assert container["image"] == model.training.image
        assert container["resources"]["requests"] == {"cpu": "2", "memory": "4Gi"}
