"""Acceptance 2: every expression the compiler writes parses in Prometheus.

`promtool check rules` loads the rule groups of every generated PrometheusRule (every service, every
environment); each expression is also written alone as a recording rule into a scratch file, and so are the
prometheus-adapter queries with their template placeholders filled in the way the adapter fills them.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from compiler.emitters import adapter, slo as slo_emitter
from compiler.plan import env_targets
from compiler.project import load_project
from tests.tools import REPO, require_tool, run_tool

pytestmark = pytest.mark.tools


def _example_rules() -> dict[str, dict]:
    """Every PrometheusRule the example specs compile to, by `<service>-<environment>`."""
    project = load_project(REPO / "specs")
    return {f"{s.name}-{t.env.name}": doc for s in project.services for t in env_targets(project, s)
            for doc in slo_emitter.prometheus_rule(t)}


EXAMPLES = _example_rules()


def _check(promtool: str, path: Path) -> None:
    result = run_tool([promtool, "check", "rules", str(path)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_service_with_slos_has_a_rule_per_environment():
    assert len(EXAMPLES) == 9


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_promtool_checks_every_generated_rule_group(tmp_path, name):
    promtool = require_tool("promtool")
    doc = EXAMPLES[name]
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": doc["spec"]["groups"]}))
    _check(promtool, rules)
    scratch = [{"record": f"scratch:expr_{i}", "expr": rule["expr"]}
               for i, rule in enumerate(r for g in doc["spec"]["groups"] for r in g["rules"])]
    alone = tmp_path / "expressions.yaml"
    alone.write_text(yaml.safe_dump({"groups": [{"name": "scratch", "rules": scratch}]}))
    _check(promtool, alone)


def test_adapter_queries_parse(tmp_path):
    promtool = require_tool("promtool")
    rule = adapter.adapter_rule()
    filled = (rule["metricsQuery"].replace("<<.Series>>", "http_requests_total")
              .replace("<<.LabelMatchers>>", 'namespace="payments",pod=~"checkout-1|checkout-2"')
              .replace("<<.GroupBy>>", "pod"))
    scratch = tmp_path / "adapter.yaml"
    scratch.write_text(yaml.safe_dump({"groups": [{"name": "adapter", "rules": [
        {"record": "scratch:series_query", "expr": rule["seriesQuery"]},
        {"record": "scratch:metrics_query", "expr": filled}]}]}))
    _check(promtool, scratch)
