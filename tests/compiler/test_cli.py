"""`platformc` as users run it (child processes): exit codes, validate, init, schema --check, light imports."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.compiler.harness import child_env, run_platformc, write_service

HEAVY = ("kubernetes", "sklearn", "fastapi", "uvicorn", "starlette", "numpy", "opentelemetry")

IMPORTS_AFTER = """
import json, sys
sys.argv = ["platformc", *sys.argv[1:]]
from compiler.cli import main
try:
    main()
except SystemExit as exit_:
    code = exit_.code
sys.stdout.flush()
print(json.dumps({"code": code, "heavy": sorted(m for m in sys.modules if m.split(".")[0] in %r)}))
""" % (HEAVY,)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    write_service(tmp_path / "specs", "checkout")
    write_service(tmp_path / "specs", "orders", team="fulfilment")
    return tmp_path


@pytest.mark.parametrize("args", [["--help"], ["compile", "--help"], ["--version"]], ids=" ".join)
def test_help_imports_nothing_heavy(args: list[str], tmp_path: Path):
    result = subprocess.run([sys.executable, "-c", IMPORTS_AFTER, *args], cwd=tmp_path, env=child_env(),
                            capture_output=True, text=True, timeout=60)
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["code"] in (0, None)
    assert report["heavy"] == []
    assert "Usage:" in result.stdout or "version" in result.stdout


def test_validate_and_compile_succeed_with_exit_0(repo: Path):
    validate = run_platformc(["validate"], cwd=repo)
    assert (validate.returncode, validate.stdout, validate.stderr) == (0, "2 spec(s) valid\n", "")
    compiled = run_platformc(["compile"], cwd=repo)
    assert compiled.returncode == 0, compiled.stderr
    assert compiled.stdout.startswith("compiled 2 service(s) into generated: ")
    assert (repo / "generated" / ".platformc-owned").is_file()
    again = run_platformc(["compile", "--check"], cwd=repo)
    assert (again.returncode, again.stdout) == (0, "generated is up to date (2 service(s))\n")


def test_validate_given_files_checks_only_those(repo: Path):
    (repo / "specs" / "orders" / "platform.yaml").write_text("kind: Service\n", encoding="utf-8")
    one = run_platformc(["validate", "specs/checkout/platform.yaml"], cwd=repo)
    assert (one.returncode, one.stdout) == (0, "1 spec(s) valid\n")
    both = run_platformc(["validate", "specs"], cwd=repo)
    assert both.returncode == 1
    assert both.stderr.splitlines()[0] == "specs/orders/platform.yaml:1:1: apiVersion: required field is missing; add it"


@pytest.mark.parametrize(("args", "code", "text"), [
    (["compile", "--env", "qa"], 1, "--env qa: unknown environment; the environments are dev, staging, prod"),
    (["compile", "--specs", "missing"], 1, "the specs folder 'missing' does not exist"),
    (["validate", "no-such-file.yaml"], 2, "does not exist"),
    (["frobnicate"], 2, "No such command"),
    (["compile", "--no-such-option"], 2, "No such option"),
    (["init", "orders"], 2, "Missing option '--team'"),
    (["init", "Orders_Service", "--team", "fulfilment"], 1, "NAME 'Orders_Service' is not a DNS label"),
    (["init", "checkout", "--team", "payments"], 1, "specs/checkout/platform.yaml already exists"),
])
def test_errors_have_exit_codes_and_no_traceback(repo: Path, args: list[str], code: int, text: str):
    result = run_platformc(args, cwd=repo)
    assert result.returncode == code
    assert text in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (repo / "generated").exists()


def test_a_bad_spec_exits_1_and_names_the_place(repo: Path):
    path = repo / "specs" / "orders" / "platform.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("port: 8080", "port: 0"), encoding="utf-8")
    for command in (["validate"], ["compile"], ["compile", "--check"]):
        result = run_platformc(command, cwd=repo)
        assert result.returncode == 1
        assert result.stderr.splitlines() == [
            "specs/orders/platform.yaml:8:9: spec.port: should be greater than or equal to 1 (got 0)",
            "1 error(s); nothing was written"]
    assert not (repo / "generated").exists()


def test_init_scaffolds_a_commented_spec_that_validates_and_compiles(tmp_path: Path):
    result = run_platformc(["init", "search", "--team", "discovery", "--port", "9000"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    spec = tmp_path / "specs" / "search" / "platform.yaml"
    text = spec.read_text(encoding="utf-8")
    assert text.startswith("#") and text.count("#") >= 5  # it explains itself
    data = yaml.safe_load(text)
    assert data["metadata"] == {"name": "search", "team": "discovery", "tier": "standard"}
    assert data["spec"]["port"] == 9000
    assert run_platformc(["validate"], cwd=tmp_path).returncode == 0
    compiled = run_platformc(["compile"], cwd=tmp_path)
    assert compiled.returncode == 0, compiled.stderr
    assert (tmp_path / "generated" / "services" / "search" / "base" / "kustomization.yaml").is_file()


def test_schema_check_passes_when_current_and_fails_when_stale(tmp_path: Path):
    written = run_platformc(["schema", "--out", "schema.json"], cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    schema = json.loads((tmp_path / "schema.json").read_text(encoding="utf-8"))
    assert "metadata" in schema["properties"] and "spec" in schema["properties"]
    assert run_platformc(["schema", "--check", "--out", "schema.json"], cwd=tmp_path).returncode == 0

    (tmp_path / "schema.json").write_text("{}\n", encoding="utf-8")
    stale = run_platformc(["schema", "--check", "--out", "schema.json"], cwd=tmp_path)
    assert stale.returncode == 1
    assert "would change schema.json" in stale.stderr
    assert (tmp_path / "schema.json").read_text(encoding="utf-8") == "{}\n"
    missing = run_platformc(["schema", "--check", "--out", "other.json"], cwd=tmp_path)
    assert missing.returncode == 1 and not (tmp_path / "other.json").exists()
