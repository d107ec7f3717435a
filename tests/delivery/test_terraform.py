"""Terraform under terraform/: parses, is fmt-clean, passes checkov, and keeps the project's conventions."""
from __future__ import annotations

import re

import hcl2
import pytest

from tests.delivery.checkov_runner import all_reports, checks, json_reports, run_checkov
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


def reusable_modules():
    return [folder for folder in module_folders() if folder.parent == TERRAFORM / "modules"]


PLATFORM = TERRAFORM / "modules" / "platform"
# What sets one environment apart from another, as arguments of its modules/platform call.
PER_ENVIRONMENT_ARGUMENTS = {"environment", "kubernetes_version", "vpc_cidr", "flux_branch", "single_nat_gateway", "node_groups"}


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
    assert len(terraform) == 1, f"expected one terraform report, got {[entry.get('check_type') for entry in all_reports(result)]}"
    return terraform[0], result.returncode


def test_checkov_reports_no_failed_check(checkov_report):
    report, returncode = checkov_report
    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']}:{check['file_line_range'][0]})"
        for check in checks(report, "failed_checks")
    ]
    assert failed == [], "checkov failed checks:\n" + "\n".join(failed)
    assert returncode == 0
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] >= 100, "checkov evaluated suspiciously few checks"


def test_checkov_saw_every_environment(checkov_report):
    """Every root was parsed and checked (its provider configuration). checkov reports the resources of
    modules shared by the roots once, so the module calls themselves are checked by the tests below."""
    report, _ = checkov_report
    scanned = {check["file_path"] for check in checks(report, "passed_checks")}
    for env in ENVIRONMENTS:
        assert any(path.startswith(f"/envs/{env}/") for path in scanned), f"checkov did not evaluate envs/{env}"
    assert any(path.startswith("/modules/vpc/") for path in scanned) and any(path.startswith("/modules/eks/") for path in scanned)


def test_every_skipped_check_carries_a_reason(checkov_report):
    report, _ = checkov_report
    for check in checks(report, "skipped_checks"):
        reason = check["check_result"].get("suppress_comment") or ""
        assert len(reason.strip()) >= 20, f"{check['check_id']} skipped without a reason"
    for path in terraform_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            match = SKIP_COMMENT.search(line)
            if match:
                reason = (match["reason"] or "").strip()
                assert len(reason) >= 20, f"{path}:{number} skips {match['check']} without a written reason"


def validated(body) -> bool:
    return bool(body.get("validation")) or body.get("type") in ("bool", "${bool}")


@pytest.mark.parametrize("folder", reusable_modules(), ids=lambda folder: str(folder.relative_to(TERRAFORM)))
def test_module_variables_are_described_and_validated(folder):
    for name, (path, body) in module_blocks(folder, "variable").items():
        assert body.get("description"), f"{path}: variable {name} has no description"
        assert validated(body) or name == "tags", f"{path}: variable {name} has no validation block"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_root_variables_are_described_and_validated_by_the_platform_module(env):
    """Root variables only carry settings into modules/platform, whose own variables validate them."""
    root = TERRAFORM / "envs" / env
    call = module_blocks(root, "module")["platform"][1]
    platform_variables = module_blocks(PLATFORM, "variable")
    for name, (path, body) in module_blocks(root, "variable").items():
        assert body.get("description"), f"{path}: variable {name} has no description"
        assert call.get(name) == f"${{var.{name}}}", f"{path}: variable {name} is not passed to modules/platform as {name}"
        assert validated(platform_variables[name][1]), f"modules/platform does not validate {name}"


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


def platform_call(env):
    return module_blocks(TERRAFORM / "envs" / env, "module")["platform"][1]


def module_calls():
    return [
        pytest.param(folder, name, body, id=f"{folder.relative_to(TERRAFORM)}:{name}")
        for folder in module_folders()
        for name, (_, body) in module_blocks(folder, "module").items()
    ]


@pytest.mark.parametrize(("folder", "name", "call"), module_calls())
def test_module_calls_match_the_called_module(folder, name, call):
    """What `terraform validate` would catch first, checked without provider downloads:
    every argument is a variable of the called module, and every variable without a default is set."""
    target = (folder / call["source"]).resolve()
    declared = module_blocks(target, "variable")
    arguments = set(call) - {"source", "depends_on", "providers", "count", "for_each"}
    assert sorted(arguments - set(declared)) == [], f"{name} passes arguments {target.name} does not declare"
    required = {variable for variable, (_, body) in declared.items() if "default" not in body}
    assert sorted(required - arguments) == [], f"{name} leaves required variables of {target.name} unset"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_root_outputs_and_providers_use_existing_platform_outputs(env):
    root = TERRAFORM / "envs" / env
    referenced = {
        match for path in sorted(root.glob("*.tf"))
        for match in re.findall(r"module\.platform\.(\w+)", path.read_text(encoding="utf-8"))
    }
    assert referenced, f"envs/{env} uses no output of modules/platform"
    assert sorted(referenced - set(module_blocks(PLATFORM, "output"))) == []
    root_outputs = {name: body["value"] for name, (_, body) in module_blocks(root, "output").items()}
    assert root_outputs == {name: f"${{module.platform.{name}}}" for name in root_outputs}, "root outputs pass platform outputs through under their own names"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_environment_root_is_thin(env):
    """A root holds settings, providers, one modules/platform call and outputs; every resource lives in a module."""
    root = TERRAFORM / "envs" / env
    kinds = {kind for path in sorted(root.glob("*.tf")) for kind in parse(path)}
    assert kinds <= {"terraform", "provider", "variable", "output", "locals", "module"}, f"envs/{env} declares {sorted(kinds)}"
    modules = module_blocks(root, "module")
    assert set(modules) == {"platform"} and modules["platform"][1]["source"] == "../../modules/platform"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_environment_bootstraps_flux_at_its_generated_cluster_path(env):
    assert platform_call(env)["environment"] == env
    flux_call = module_blocks(PLATFORM, "module")["flux"][1]
    assert flux_call["source"] == "../flux-bootstrap"
    assert flux_call["environment"] == "${var.environment}"

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
    platform_variables = module_blocks(PLATFORM, "variable")
    assert platform_variables["endpoint_public_access"][1]["default"] is False


def test_prod_follows_the_promotion_branch_and_the_others_follow_main():
    branches = {env: platform_call(env)["flux_branch"] for env in ENVIRONMENTS}
    assert branches == {"dev": "main", "staging": "main", "prod": "release/prod"}
    git = module_blocks(PLATFORM, "output")["flux_git"][1]
    assert git["value"]["branch"] == "${var.flux_branch}" and git["sensitive"] is True
    for env in ENVIRONMENTS:
        flux_provider = next(block["flux"] for block in parse(TERRAFORM / "envs" / env / "providers.tf")["provider"] if "flux" in block)
        assert flux_provider["git"] == "${module.platform.flux_git}"
    promotion = (REPO / ".github" / "workflows" / "promote-prod.yml").read_text(encoding="utf-8")
    assert "RELEASE_BRANCH: release/prod" in promotion


def test_staging_and_prod_survive_a_zone_outage():
    """dev may save on a single NAT gateway; staging rehearses prod, and prod keeps a node per zone."""
    assert platform_call("dev")["single_nat_gateway"] is True
    for env in ("staging", "prod"):
        assert platform_call(env)["single_nat_gateway"] is False
    for name, group in platform_call("prod")["node_groups"].items():
        assert group["min_size"] >= 3, f"prod node group {name} must keep a node in each of three zones"


def test_environment_roots_differ_only_where_environments_should():
    """The roots are thin copies; outside the values that set an environment apart they must stay identical."""
    roots = {env: TERRAFORM / "envs" / env for env in ENVIRONMENTS}
    assert len({tuple(sorted(path.name for path in root.iterdir())) for root in roots.values()}) == 1, "the roots hold different files"
    for name in ("versions.tf", "providers.tf", "variables.tf", "outputs.tf", "terraform.tfvars.example"):
        texts = {env: (root / name).read_text(encoding="utf-8") for env, root in roots.items()}
        assert len(set(texts.values())) == 1, f"{name} differs between environments"
    for name in ("backend.tf", "main.tf"):
        texts = {}
        for env, root in roots.items():
            text = (root / name).read_text(encoding="utf-8").replace(f'"{env}"', '"<env>"').replace(f"/{env}/", "/<env>/")
            texts[env] = text[:text.index("module \"platform\"")] if name == "main.tf" else text
        assert len(set(texts.values())) == 1, f"{name} differs between environments beyond the environment's name"
    calls = {env: platform_call(env) for env in ENVIRONMENTS}
    shared = {env: {key: value for key, value in call.items() if key not in PER_ENVIRONMENT_ARGUMENTS} for env, call in calls.items()}
    assert shared["dev"] == shared["staging"] == shared["prod"], "modules/platform calls differ beyond the per-environment values"
    assert all(PER_ENVIRONMENT_ARGUMENTS <= set(call) for call in calls.values()), "every root states all its per-environment values"
    cidrs = {call["vpc_cidr"] for call in calls.values()}
    assert len(cidrs) == len(ENVIRONMENTS), "environments must not share a VPC CIDR"
