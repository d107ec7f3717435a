"""The compiled examples, checked by the tools that consume them: kustomize, kubernetes-validate, checkov."""
from __future__ import annotations

import json

import kubernetes_validate
import pytest
import yaml

from tests import crd_schemas
from tests.delivery.checkov_runner import kubernetes_report

pytestmark = pytest.mark.tools
KUBERNETES_VERSIONS = ["1.30.0", "1.33.0", "1.37.0"]


def test_every_cluster_and_flux_folder_builds(built):
    assert set(built.clusters) == {"dev", "staging", "prod"}
    service_folders = [f for f in built.folders if f.startswith("services/")]
    assert len(service_folders) == 3 * len({f.split("/")[1] for f in service_folders})
    for folder, docs in built.folders.items():
        assert docs, f"{folder} renders no object"


def test_flux_kustomizations_reconcile_with_prune_and_wait(built):
    for env, docs in built.clusters.items():
        for doc in docs:
            if doc["kind"] != "Kustomization":
                continue
            spec = doc["spec"]
            assert spec["prune"] is True and spec["wait"] is True, doc["metadata"]["name"]
            assert spec["sourceRef"] == {"kind": "GitRepository", "name": "flux-system"}
            assert f"/overlays/{env}" in spec["path"] or not spec["path"].startswith("./generated/services/")


def _is_core(doc: dict) -> bool:
    group = doc["apiVersion"].rpartition("/")[0]
    return "." not in group or group.endswith(".k8s.io")


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_core_objects_pass_kubernetes_validate_strict(built, version):
    checked = 0
    for folder, docs in built.folders.items():
        for doc in docs:
            if not _is_core(doc):
                continue
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                pytest.fail(f"{folder}: {doc['kind']}/{doc['metadata']['name']} invalid for {version}: {exc}")
            checked += 1
    assert checked >= 20


def test_custom_resources_match_their_crd_schemas_strictly(built):
    checked = 0
    objects = built.all_objects() + [d for docs in built.clusters.values() for d in docs]
    for doc in objects:
        if _is_core(doc):
            continue
        problems = crd_schemas.errors(doc)
        if problems is None:
            continue
        assert problems == [], f"{doc['kind']}/{doc['metadata']['name']}: {problems}"
        checked += 1
    assert checked >= 10


def test_a_misspelt_field_fails_the_strict_crd_check(built):
    monitor = next(d for d in built.all_objects() if d["kind"] == "ServiceMonitor")
    broken = json.loads(json.dumps(monitor))
    broken["spec"]["endpoints"][0]["intervall"] = "30s"
    assert crd_schemas.errors(broken)


@pytest.fixture(scope="module")
def checkov_report(built, tmp_path_factory):
    folder = tmp_path_factory.mktemp("rendered")
    for name, docs in built.folders.items():
        (folder / (name.replace("/", "_") + ".yaml")).write_text(yaml.safe_dump_all(docs))
    return kubernetes_report(folder, timeout=600)


def test_checkov_finds_no_failed_check(checkov_report):
    failed = checkov_report["results"]["failed_checks"]
    summary = [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in failed]
    assert summary == []
    assert checkov_report["summary"]["passed"] > 100


def test_every_checkov_skip_comes_from_the_spec_with_its_reason(checkov_report, built):
    declared = {}
    for doc in built.all_objects():
        for key, value in doc["metadata"].get("annotations", {}).items():
            if key.startswith("checkov.io/skip"):
                check, _, reason = value.partition("=")
                declared[(doc["kind"], doc["metadata"]["name"], check)] = reason
    skipped = checkov_report["results"]["skipped_checks"]
    assert skipped, "the examples declare at least one exception"
    for check in skipped:
        kind, _, name = check["resource"].split(".", 2)
        reason = declared.get((kind, name, check["check_id"]))
        assert reason, f"{check['check_id']} skipped on {check['resource']} without a declared reason"
        assert check["check_result"]["suppress_comment"] == reason
