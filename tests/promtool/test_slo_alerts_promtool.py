"""Acceptance 1: the generated alerts, executed by Prometheus' own rule engine (`promtool test rules`).

For a 99.9% SLO on a 30d and on a 7d window, after days of healthy traffic: 10% errors page within 15
minutes, 2% within 50; 0.4% for a day raises a ticket and never a page; 0.05% raises nothing; 5% slow
requests fire the latency SLO; vanished metrics fire the absent alert; and the long windows are weighted by
requests under uneven traffic. Each scenario runs in its own promtool process, two at a time.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from tests.tools import require_tool, run_tool

from .rulegen import prometheus_rule, service_spec, write_rules_file
from .scenarios import Scenario, incident_scenarios, promtool_test_file, slos, uneven_scenario

pytestmark = pytest.mark.tools
WINDOWS = ("30d", "7d")


def _all_scenarios() -> list[Scenario]:
    return incident_scenarios() + [uneven_scenario()]


def _key(window: str, scenario: Scenario) -> str:
    return f"{window}: {scenario.name}"


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, tuple[int, str]]:
    promtool = require_tool("promtool")
    folder = tmp_path_factory.mktemp("promtool-slo")
    jobs = []
    for window in WINDOWS:
        for slo in slos(window):
            rules = write_rules_file(folder / f"rules-{window}-{slo['name']}.yaml",
                                     prometheus_rule(folder / f"specs-{window}-{slo['name']}", service_spec([slo])))
            for i, scenario in enumerate(s for s in _all_scenarios() if s.slo == slo["name"]):
                test_file = folder / f"test-{window}-{slo['name']}-{i}.yaml"
                test_file.write_text(yaml.safe_dump(promtool_test_file(rules.name, [scenario]), sort_keys=False))
                jobs.append((_key(window, scenario), test_file))

    def run(job: tuple[str, Path]) -> tuple[str, tuple[int, str]]:
        key, test_file = job
        done = run_tool([promtool, "test", "rules", test_file.name], cwd=folder, timeout=300)
        return key, (done.returncode, done.stdout + done.stderr)

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return dict(pool.map(run, jobs))


@pytest.mark.parametrize("key", [_key(w, s) for w in WINDOWS for s in _all_scenarios()])
def test_scenario(results, key):
    code, output = results[key]
    assert code == 0, f"{key}\n{output}"
    assert "SUCCESS" in output
