"""The output folder is only ever replaced whole: interrupted or failing compiles leave it as it was, removed
services are pruned, files the compiler does not own survive, and `compile --check` writes nothing."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from compiler.api import compile_specs
from tests.compiler.harness import call_platformc, child_env, leftovers, tree_bytes, tree_stats, write_service

# A child `platformc compile` whose writer stops (and says so) once it has written a few files into its
# staging folder, so the test can SIGKILL it mid-write. `STOP_IN` picks where: "stage" or "swap".
KILLABLE_COMPILE = """
import pathlib, sys, time
import compiler.writer as writer

stop_in = sys.argv[1]
real_write, real_rename = writer._write_new, pathlib.Path.rename
written = []

def write_then_stop(path, data):
    result = real_write(path, data)
    if ".tmp-" in str(path):
        written.append(path)
        if stop_in == "stage" and len(written) == 3:
            print("STOPPED", flush=True)
            time.sleep(600)
    return result

def rename_then_stop(self, target):
    result = real_rename(self, target)
    if stop_in == "swap" and str(target).endswith(".old"):
        print("STOPPED", flush=True)
        time.sleep(600)
    return result

writer._write_new = write_then_stop
pathlib.Path.rename = rename_then_stop
if stop_in == "swap":
    writer._exchange = lambda a, b: False  # take the two-rename path a system without renameat2 uses
sys.argv = ["platformc", "compile", "--specs", "specs", "--out", "generated"]
from compiler.cli import main
main()
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """Two services compiled into generated/, plus files a person (or `flux bootstrap`) put there."""
    specs = tmp_path / "specs"
    write_service(specs, "checkout")
    write_service(specs, "orders", team="fulfilment")
    compile_specs(specs, tmp_path / "generated")
    flux = tmp_path / "generated" / "clusters" / "dev" / "flux-system"
    flux.mkdir()
    (flux / "gotk-components.yaml").write_text("# flux bootstrap wrote this\n", encoding="utf-8")
    (flux / "kustomization.yaml").write_text("resources: [gotk-components.yaml]\n", encoding="utf-8")
    (tmp_path / "generated" / "README.md").write_text("Do not edit by hand.\n", encoding="utf-8")
    (tmp_path / "generated" / "services" / "orders" / "NOTES.md").write_text("orders: on call is Ana\n",
                                                                             encoding="utf-8")
    compile_specs(specs, tmp_path / "generated")  # settle: a bootstrapped env changes its cluster files
    return tmp_path


UNOWNED = ["README.md", "clusters/dev/flux-system/gotk-components.yaml", "clusters/dev/flux-system/kustomization.yaml",
           "services/orders/NOTES.md"]


def _deployment_file(out: Path, service: str) -> str:
    """Where the compiler put the service's Deployment (relative to `out`), whatever it names the file."""
    found = sorted((out / "services" / service / "base").glob("deployment*.yaml"))
    assert len(found) == 1, found
    return found[0].relative_to(out).as_posix()


def _change_specs(repo: Path) -> None:
    write_service(repo / "specs", "checkout", replicas=4)
    write_service(repo / "specs", "search", team="discovery")


def _kill_mid_write(repo: Path, stop_in: str, sig: int = signal.SIGKILL) -> tuple[int, str]:
    """Run the stoppable compile, send `sig` once it has stopped; its exit status and stderr."""
    child = subprocess.Popen([sys.executable, "-c", KILLABLE_COMPILE, stop_in], cwd=repo, env=child_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline()
        assert line.strip() == "STOPPED", f"the compile never reached the {stop_in}: {line!r} {child.stderr.read()}"
        os.kill(child.pid, sig)
        code = child.wait(timeout=30)
        return code, child.stderr.read()
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=30)
        child.stdout.close()
        child.stderr.close()


def test_a_compile_killed_while_staging_leaves_the_old_tree_intact(repo: Path):
    out = repo / "generated"
    files, stats = tree_bytes(out), tree_stats(out)
    _change_specs(repo)

    assert _kill_mid_write(repo, "stage")[0] == -signal.SIGKILL

    assert tree_bytes(out) == files
    assert tree_stats(out) == stats
    assert [name for name in leftovers(out) if ".tmp-" in name], "the child was not killed inside its staging folder"
    result = call_platformc(["compile", "--specs", "specs", "--out", "generated"], cwd=repo)
    assert result.returncode == 0, result.stderr
    assert leftovers(out) == []
    check = call_platformc(["compile", "--specs", "specs", "--out", "generated", "--check"], cwd=repo)
    assert check.returncode == 0, check.stderr
    assert all((out / rel).read_bytes() == files[rel] for rel in UNOWNED)
    assert (out / "services" / "search").is_dir()


def test_a_compile_killed_between_the_two_renames_is_recovered_by_the_next_compile(repo: Path):
    out = repo / "generated"
    files = tree_bytes(out)
    _change_specs(repo)

    assert _kill_mid_write(repo, "swap")[0] == -signal.SIGKILL

    assert tree_bytes(out.parent / f".{out.name}.old") == files  # the old tree is whole, one rename away
    assert call_platformc(["compile", "--specs", "specs", "--out", "generated"], cwd=repo).returncode == 0
    assert leftovers(out) == []
    assert all((out / rel).read_bytes() == files[rel] for rel in UNOWNED)
    assert b"replicas: 4" in (out / _deployment_file(out, "checkout")).read_bytes()


def test_ctrl_c_while_staging_exits_130_and_cleans_up(repo: Path):
    out = repo / "generated"
    files, stats = tree_bytes(out), tree_stats(out)
    _change_specs(repo)

    code, stderr = _kill_mid_write(repo, "stage", signal.SIGINT)

    assert (code, stderr.strip()) == (130, "aborted")
    assert tree_bytes(out) == files
    assert tree_stats(out) == stats
    assert leftovers(out) == []


def test_a_failing_compile_leaves_the_output_untouched(repo: Path):
    out = repo / "generated"
    files, stats = tree_bytes(out), tree_stats(out)
    _change_specs(repo)
    (repo / "specs" / "orders" / "platform.yaml").write_text("apiVersion: platform/v1\nkind: Service\n",
                                                             encoding="utf-8")
    result = call_platformc(["compile", "--specs", "specs", "--out", "generated"], cwd=repo)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == "2 error(s); nothing was written"
    assert tree_bytes(out) == files
    assert tree_stats(out) == stats
    assert leftovers(out) == []


def test_removed_services_are_pruned_and_unowned_files_survive(repo: Path):
    out = repo / "generated"
    unowned = {rel: (out / rel).read_bytes() for rel in UNOWNED}
    _change_specs(repo)
    assert call_platformc(["compile", "--specs", "specs", "--out", "generated"], cwd=repo).returncode == 0
    assert {rel: (out / rel).read_bytes() for rel in UNOWNED} == unowned

    for path in (repo / "specs" / "orders").iterdir():
        path.unlink()
    (repo / "specs" / "orders").rmdir()
    result = call_platformc(["compile", "--specs", "specs", "--out", "generated"], cwd=repo)
    assert result.returncode == 0, result.stderr

    remaining = tree_bytes(out)
    assert {rel: (out / rel).read_bytes() for rel in UNOWNED} == unowned
    assert [rel for rel in remaining if "orders" in rel] == ["services/orders", "services/orders/NOTES.md"]
    assert "orders" not in (out / ".platformc-owned").read_text(encoding="utf-8")
    assert "fulfilment" not in (out / ".platformc-owned").read_text(encoding="utf-8")
    empty = [rel for rel, content in remaining.items() if content == "<dir>" and not any((out / rel).iterdir())]
    assert empty == []


def test_compile_check_writes_nothing_and_lists_what_would_change(repo: Path):
    out = repo / "generated"
    ok = call_platformc(["compile", "--specs", "specs", "--out", "generated", "--check"], cwd=repo)
    assert ok.returncode == 0 and "up to date" in ok.stdout

    files, stats = tree_bytes(out), tree_stats(out)
    deployment = _deployment_file(out, "checkout")
    _change_specs(repo)
    (repo / "specs" / "orders" / "platform.yaml").unlink()
    (repo / "specs" / "orders").rmdir()
    result = call_platformc(["compile", "--specs", "specs", "--out", "generated", "--check"], cwd=repo)

    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert f"would change generated/{deployment}" in lines
    assert "    -  replicas: 2" in lines and "    +  replicas: 4" in lines
    assert any(line.startswith("would add generated/services/search/") for line in lines)
    assert any(line.startswith("would remove generated/services/orders/") for line in lines)
    assert not any("NOTES.md" in line or "README.md" in line or "flux-system/" in line for line in lines)
    assert lines[-1] == "generated/ is stale: run `platformc compile` and commit the result"
    assert tree_bytes(out) == files
    assert tree_stats(out) == stats
    assert leftovers(out) == []


def test_concurrent_compiles_into_one_folder_wait_for_each_other(repo: Path):
    """Two compiles racing on one output folder: the second waits for the first's swap (no lost stage)."""
    _change_specs(repo)
    shutil.rmtree(repo / ".platformc-cache", ignore_errors=True)
    command = [sys.executable, "-c", "from compiler.cli import main; main()", "compile", "--specs", "specs",
               "--out", "generated"]
    children = [subprocess.Popen(command, cwd=repo, env=child_env(), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [(child.wait(timeout=120), child.stderr.read()) for child in children]
    for child in children:
        child.stdout.close()
        child.stderr.close()
    assert [code for code, _ in results] == [0, 0, 0], results
    assert leftovers(repo / "generated") == []
    assert call_platformc(["compile", "--specs", "specs", "--out", "generated", "--check"], cwd=repo).returncode == 0
    assert all((repo / "generated" / rel).is_file() for rel in UNOWNED)
