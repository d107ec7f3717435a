"""Acceptance 4: bad SLO, policy and chaos input is a `path:line:col` error naming the fix (never a traceback)."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from compiler.errors import SpecError
from compiler.project import load_project
from tests.tools import REPO

CONFIG = """\
apiVersion: platform/v1
kind: PlatformConfig
spec:
  environments: [{name: dev}, {name: staging}, {name: prod, production: true}]
"""
HEAD = """\
apiVersion: platform/v1
kind: Service
metadata: {name: shop, team: web}
spec:
  image: ghcr.io/acme/shop:1.0.0
  port: 8080
"""
"""Spec lines 1-6; whatever a case adds starts on line 7."""
GOOD_SLI = "sli: {availability: {}}"
EVENTS = ('sli:\n  events:\n    errorQuery: sum(rate(x_total{{code=~"5.."}}[{{{{window}}}}]))\n'
          '    totalQuery: {total}\n')


def _specs(tmp_path: Path, body: str) -> Path:
    specs = tmp_path / "specs"
    (specs / "shop").mkdir(parents=True)
    (specs / "platform-config.yaml").write_text(CONFIG)
    (specs / "shop" / "platform.yaml").write_text(HEAD + textwrap.indent(textwrap.dedent(body), "  "))
    return specs


def _problems(tmp_path: Path, body: str) -> list[str]:
    specs = _specs(tmp_path, body)
    with pytest.raises(SpecError) as caught:
        load_project(specs)
    return [str(d) for d in caught.value.diagnostics]


def _slo(name="availability", objective="99.9", window="30d", sli=GOOD_SLI, extra="") -> str:
    sli = textwrap.indent(sli, "    ").lstrip()
    return f"- name: {name}\n  objective: {objective}\n  window: {window}\n  {sli}\n{extra}"


CASES = {
    "objective 100": (
        "slos:\n" + textwrap.indent(_slo(objective="100"), "  "),
        "specs/shop/platform.yaml:9:18: spec.slos[0].objective: objective 100 is out of range; write a percentage "
        "at least 50 and below 100"),
    "objective 40": (
        "slos:\n" + textwrap.indent(_slo(objective="40"), "  "),
        "specs/shop/platform.yaml:9:18: spec.slos[0].objective: objective 40 is out of range"),
    "unknown SLI kind": (
        "slos:\n" + textwrap.indent(_slo(sli="sli: {ratio: {}}"), "  "),
        "specs/shop/platform.yaml:11:13: spec.slos[0].sli.ratio: unknown field 'ratio'; allowed here: events, latency, "
        "availability"),
    "query without {{window}}": (
        "slos:\n" + textwrap.indent(_slo(sli=EVENTS.format(total="sum(rate(x_total[5m]))")), "  "),
        "specs/shop/platform.yaml:14:25: spec.slos[0].sli.events.totalQuery: the query has no {{window}}"),
    "invalid PromQL": (
        "slos:\n" + textwrap.indent(_slo(sli=EVENTS.format(total="sum(rate(x_total[{{window}}])")), "  "),
        "specs/shop/platform.yaml:14:25: spec.slos[0].sli.events.totalQuery: the query is not valid PromQL: "
        "unclosed '('"),
    "two SLOs with one name": (
        "slos:\n" + textwrap.indent(_slo() + _slo(objective="99"), "  "),
        "specs/shop/platform.yaml:12:13: SLO 'availability' is already defined as slos[0]; give each SLO its own name"),
    "page that can never fire": (
        "slos:\n" + textwrap.indent(_slo(objective="90"), "  "),
        "specs/shop/platform.yaml:8:7: spec.slos[0]: the page alert at 14.4x burn over 1h can never fire for "
        "objective 90% (it needs an error ratio of 144%); raise the objective above 93.06 or set alerting.page: false"),
    "window shorter than the longest alert window": (
        "slos:\n" + textwrap.indent(_slo(window="2d"), "  "),
        "specs/shop/platform.yaml:8:7: spec.slos[0]: window 2d is shorter than the 3d ticket alert window; use a "
        "window of at least 3d or set alerting.ticket: false"),
    "threshold not a declared bucket": (
        "slos:\n" + textwrap.indent(_slo(sli="sli:\n  latency: {metric: rpc_seconds, threshold: 0.2, "
                                             "buckets: [0.1, 0.25, 0.5]}"), "  "),
        "specs/shop/platform.yaml:12:20: spec.slos[0].sli.latency: threshold 0.2 is not a bucket bound of "
        "rpc_seconds (0.1, 0.25, 0.5)"),
    "threshold not a bucket of the runtime histogram": (
        "slos:\n" + textwrap.indent(_slo(sli="sli:\n  latency: {threshold: 0.2}"), "  "),
        "specs/shop/platform.yaml:12:32: threshold 0.2 is not a bucket bound of the runtime's "
        "http_request_duration_seconds"),
    "chaos in prod without naming it": (
        "chaos:\n  - {name: kill, action: pod-kill, schedule: '0 10 * * 1-5'}\n"
        "environments:\n  prod:\n    chaos:\n      - {name: kill, action: pod-kill, schedule: '0 10 * * 1-5'}\n",
        "specs/shop/platform.yaml:12:11: chaos experiment 'kill' is set for production environment 'prod' but does "
        "not name it; add environments: [prod]"),
    "chaos in an unknown environment": (
        "chaos:\n  - {name: kill, action: pod-kill, schedule: '0 10 * * 1-5', environments: [stage]}\n",
        "specs/shop/platform.yaml:8:79: unknown environment 'stage'; known: dev, staging, prod"),
    "chaos delay without latency": (
        "chaos:\n  - {name: slow, action: network-delay, schedule: '0 10 * * 1-5'}\n",
        "specs/shop/platform.yaml:8:7: spec.chaos[0]: network-delay needs params.latency, e.g. "
        "params: {latency: 200ms}"),
    "chaos parameter of another action": (
        "chaos:\n  - {name: cpu, action: cpu-stress, schedule: '0 10 * * 1-5', params: {latency: 1ms}}\n",
        "specs/shop/platform.yaml:8:7: spec.chaos[0]: cpu-stress has no parameter 'latency'; allowed: workers, load"),
    "chaos fixed mode without a value": (
        "chaos:\n  - {name: kill, action: pod-kill, schedule: '0 10 * * 1-5', mode: fixed}\n",
        "specs/shop/platform.yaml:8:7: spec.chaos[0]: mode fixed needs a value"),
    "chaos cron with six fields": (
        "chaos:\n  - {name: kill, action: pod-kill, schedule: '0 0 10 * * 1-5'}\n",
        "specs/shop/platform.yaml:8:48: spec.chaos[0].schedule: '0 0 10 * * 1-5' is not a cron schedule"),
    "freeze threshold above 100": (
        "errorBudgetPolicy: {freezeDeploysBelow: 120}\n",
        "specs/shop/platform.yaml:7:43: spec.errorBudgetPolicy.freezeDeploysBelow: should be less than or equal "
        "to 100"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_a_located_error(tmp_path, case):
    body, expected = CASES[case]
    problems = _problems(tmp_path, body)
    assert any(p.endswith(expected) or expected in p for p in problems), "\n".join(problems)


def test_threshold_of_an_undeclared_histogram_is_a_warning(tmp_path):
    specs = _specs(tmp_path, "slos:\n" + textwrap.indent(_slo(
        sli="sli:\n  latency: {metric: rpc_seconds, selector: '{job=\"shop\"}', threshold: 0.2}"), "  "))
    project = load_project(specs)
    assert [str(w).split("/specs/shop/")[-1] for w in project.warnings] == [
        "platform.yaml:12:79: warning: cannot check that threshold 0.2 is a bucket bound of rpc_seconds; "
        "declare the histogram's bounds in `buckets:` (a threshold between bounds counts nothing)"]


def test_the_cli_prints_the_error_without_a_traceback(tmp_path):
    specs = _specs(tmp_path, "slos:\n" + textwrap.indent(_slo(objective="100"), "  "))
    result = subprocess.run([sys.executable, "-c", "from compiler.cli import main; main()", "validate",
                             "--specs", str(specs)], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert result.returncode == 1
    assert "specs/shop/platform.yaml:9:18: spec.slos[0].objective: objective 100 is out of range" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_example_specs_are_valid_and_use_every_kind():
    project = load_project(REPO / "specs")
    slos = [slo for s in project.services for slo in s.base.slos]
    chaos = [exp for s in project.services for exp in s.base.chaos]
    assert {slo.sli.kind for slo in slos} == {"events", "latency", "availability"}
    assert len({slo.window for slo in slos}) >= 3
    assert {exp.action for exp in chaos} == {"pod-kill", "pod-failure", "network-delay", "network-loss",
                                             "cpu-stress", "memory-stress"}
    assert any(s.base.scaling and s.base.scaling.requestsPerSecond for s in project.services)
