"""Terraform under terraform/: parses, is fmt-clean, passes checkov, and keeps the project's conventions."""
from __future__ import annotations

import re

import hcl2
import pytest

from tests.delivery.checkov_runner import json_reports, run_checkov
from tests.delivery.paths import ENVIRONMENTS, TERRAFORM, load_script, terraform_files
from tests.tools import REPO

SKIP_COMMENT = re.compile(r"#\s*checkov:skip=(?P<check>[A-Z0-9_]+)(?::(?P<reason>.*))?")


def unquote(value):
    """python-hcl2 7 keeps string quotes and adds bookkeeping keys; strip both for plain comparisons."""
    if isinstance(value, dict):
        return {unquote(key): unquote(item) for key, item in value.items() if not key.startswith("__")}
    if isinstance(value, list):
        return [unquote(item) for item in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def parse(path):
    with path.open(encoding="utf-8") as handle:
        return unquote(hcl2.load(handle))


def blocks(path, kind):
    """{name: body} of the `variable`/`output`/`module`/... blocks of one file."""
    found = {}
    for block in parse(path).get(kind, []):
        found.update(block)
    return found


def module_blocks(folder, kind):
    found = {}
    for path in sorted(folder.glob("*.tf")):
        found.update({name: (path, body) for name, body in blocks(path, kind).items()})
    return found


def module_folders():
    return sorted({path.parent for path in terraform_files()})


@pytest.mark.parametrize("path", terraform_files(), ids=lambda path: str(path.relative_to(TERRAFORM)))
def test_every_tf_file_parses(path):
    assert parse(path), f"{path} parsed to nothing"


def test_terraform_fmt_is_clean():
    fmt = load_script("terraform_fmt")
    assert fmt.unformatted_files(TERRAFORM) == []


def test_fmt_check_flags_a_badly_formatted_file(tmp_path):
    fmt = load_script("terraform_fmt")
    (tmp_path / "main.tf").write_text('locals {\n  a = 1\n      bb = 2\n}\n', encoding="utf-8")
    assert fmt.unformatted_files(tmp_path) == ["main.tf"]
    assert fmt.main([str(tmp_path)]) == 1
    assert fmt.main(["--write", str(tmp_path)]) == 0
    assert fmt.unformatted_files(tmp_path) == []


@pytest.fixture(scope="module")
def checkov_report():
    result = run_checkov(["--config-file", ".security/checkov-terraform.yaml", "-d", "terraform", "-o", "json"])
    terraform = json_reports(result, "terraform")
    assert len(terraform) == 1, f"expected one terraform report, got {[entry.get('check_type') for entry in reports]}"
    return terraform[0], result.returncode


def test_checkov_reports_no_failed_check(checkov_report):
    report, returncode = checkov_report
    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']}:{check['file_line_range'][0]})"
        for check in report["results"]["failed_checks"]
    ]
    assert failed == [], "checkov failed checks:\n" + "\n".join(failed)
    assert returncode == 0
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] >= 100, "checkov evaluated suspiciously few checks"


def test_checkov_saw_every_environment(checkov_report):
    report, _ = checkov_report
    scanned = {check["file_path"] for check in report["results"]["passed_checks"]}
    for env in ENVIRONMENTS:
        assert any(path.startswith(f"/envs/{env}/") for path in scanned), f"checkov did not evaluate envs/{env}"


def test_every_skipped_check_carries_a_reason(checkov_report):
    report, _ = checkov_report
    for check in report["results"]["skipped_checks"]:
        reason = check["check_result"].get("suppress_comment") or ""
        assert len(reason.strip()) >= 20, f"{check['check_id']} skipped without a reason"
    for path in terraform_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            match = SKIP_COMMENT.search(line)
            if match:
                reason = (match["reason"] or "").strip()
                assert len(reason) >= 20, f"{path}:{number} skips {match['check']} without a written reason"


@pytest.mark.parametrize("folder", module_folders(), ids=lambda folder: str(folder.relative_to(TERRAFORM)))
def test_variables_are_described_and_validated(folder):
    for name, (path, body) in module_blocks(folder, "variable").items():
        assert body.get("description"), f"{path}: variable {name} has no description"
        exempt = body.get("type") in ("bool", "${bool}") or name == "tags"
        if not exempt:
            assert body.get("validation"), f"{path}: variable {name} has no validation block"


@pytest.mark.parametrize("folder", module_folders(), ids=lambda folder: str(folder.relative_to(TERRAFORM)))
def test_outputs_are_described(folder):
    outputs = module_blocks(folder, "output")
    assert outputs, f"{folder} declares no outputs"
    for name, (path, body) in outputs.items():
        assert body.get("description"), f"{path}: output {name} has no description"


@pytest.mark.parametrize("folder", module_folders(), ids=lambda folder: str(folder.relative_to(TERRAFORM)))
def test_provider_versions_are_constrained(folder):
    terraform = [settings for path in sorted(folder.glob("*.tf")) for settings in parse(path).get("terraform", [])]
    declared = [settings for settings in terraform if "required_providers" in settings]
    assert declared, f"{folder} has no required_providers"
    assert any(settings.get("required_version") for settings in terraform), f"{folder} has no required_version"
    for providers in declared[0]["required_providers"]:
        for name, requirement in providers.items():
            assert requirement.get("source"), f"{folder}: provider {name} has no source"
            assert requirement.get("version"), f"{folder}: provider {name} has no version constraint"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_environment_root_pins_providers_and_uses_locked_s3_state(env):
    root = TERRAFORM / "envs" / env
    settings = [block for path in sorted(root.glob("*.tf")) for block in parse(path).get("terraform", [])]
    providers = {name: body for block in settings for group in block.get("required_providers", []) for name, body in group.items()}
    assert providers["flux"]["source"] == "fluxcd/flux"
    for name, body in providers.items():
        assert re.fullmatch(r"~> \d+\.\d+", body["version"]), f"{env}: {name} is not pinned to a minor release line"
    backends = [backend for block in settings for backend in block.get("backend", [])]
    assert len(backends) == 1 and "s3" in backends[0]
    s3 = backends[0]["s3"]
    assert s3["key"] == f"platform/{env}/terraform.tfstate"
    assert s3["encrypt"] is True and s3["use_lockfile"] is True


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_environment_bootstraps_flux_at_its_generated_cluster_path(env):
    root = TERRAFORM / "envs" / env
    locals_ = {key: value for block in parse(root / "main.tf").get("locals", []) for key, value in block.items()}
    assert locals_["environment"] == env
    modules = module_blocks(root, "module")
    assert modules["flux"][1]["source"] == "../../modules/flux-bootstrap"
    assert modules["flux"][1]["environment"] == "${local.environment}"

    flux = TERRAFORM / "modules" / "flux-bootstrap"
    flux_locals = {key: value for block in parse(flux / "main.tf").get("locals", []) for key, value in block.items()}
    assert flux_locals["cluster_path"] == "generated/clusters/${var.environment}"
    bootstrap = next(resource["flux_bootstrap_git"] for resource in parse(flux / "main.tf")["resource"] if "flux_bootstrap_git" in resource)
    body = next(iter(bootstrap.values()))
    assert body["path"] == "${local.cluster_path}"
    assert body["embedded_manifests"] is True, "bootstrap must not download manifests from GitHub at apply time"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_environment_keeps_the_api_endpoint_private_by_default(env):
    variables = module_blocks(TERRAFORM / "envs" / env, "variable")
    assert variables["endpoint_public_access"][1]["default"] is False
    assert variables["public_access_cidrs"][1]["default"] == []


def test_prod_follows_the_promotion_branch_and_the_others_follow_main():
    branches = {env: module_blocks(TERRAFORM / "envs" / env, "variable")["flux_branch"][1]["default"] for env in ENVIRONMENTS}
    assert branches == {"dev": "main", "staging": "main", "prod": "release/prod"}
    promotion = (REPO / ".github" / "workflows" / "promote-prod.yml").read_text(encoding="utf-8")
    assert "RELEASE_BRANCH: release/prod" in promotion


def test_environment_roots_differ_only_where_environments_should():
    """The three roots are copies a user edits per environment; keep the copies from drifting apart."""
    roots = {env: TERRAFORM / "envs" / env for env in ENVIRONMENTS}
    for name in ("versions.tf", "providers.tf", "outputs.tf", "terraform.tfvars.example"):
        texts = {env: (root / name).read_text(encoding="utf-8") for env, root in roots.items()}
        assert len(set(texts.values())) == 1, f"{name} differs between environments"
    variables = {env: module_blocks(root, "variable") for env, root in roots.items()}
    per_env_defaults = {"vpc_cidr", "flux_branch"}
    for name, (_, dev_body) in variables["dev"].items():
        for env in ENVIRONMENTS[1:]:
            body = variables[env][name][1]
            if name in per_env_defaults:
                body, dev_body_cmp = {**body, "default": None}, {**dev_body, "default": None}
            else:
                dev_body_cmp = dev_body
            assert body == dev_body_cmp, f"variable {name} differs between dev and {env}"
    assert {env: set(found) for env, found in variables.items()} == {env: set(variables["dev"]) for env in ENVIRONMENTS}
    cidrs = {variables[env]["vpc_cidr"][1]["default"] for env in ENVIRONMENTS}
    assert len(cidrs) == len(ENVIRONMENTS), "environments must not share a VPC CIDR"
    modules = {env: {name: body for name, (_, body) in module_blocks(root, "module").items()} for env, root in roots.items()}
    assert modules["dev"] == modules["staging"] == modules["prod"], "module calls differ between environments"
