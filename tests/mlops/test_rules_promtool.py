"""Acceptance 1: `promtool test rules` on the rules the compiler emits for the example specs.

- the token budget alert fires when the spend rate would use the daily budget up before 00:00 UTC, and not
  when it would not; the threshold alert fires at the first alertAt level;
- the TTFT SLO (an llm.slos entry, compiled by the service SLO machinery) pages on a fast burn;
- ModelDriftHigh fires when the drift score stays above retrainOn.drift, routed with policy=retrain-model.
promtool's clock starts at 1970-01-01 00:00 UTC, so "seconds to the budget reset" is 86400 minus the eval time.
"""
from __future__ import annotations

import pytest
import yaml

from compiler import conventions as names
from compiler.emitters import llm_rules, llm_slos, model
from compiler.emitters.llm import budget_share
from tests.mlops.helpers import example_target, rules_file
from tests.tools import require_tool, run_tool

pytestmark = pytest.mark.tools

GATEWAY = 'namespace="support",service="assistant-llm-gateway"'
PODS = ("assistant-llm-gateway-5d9f-a1", "assistant-llm-gateway-5d9f-b2")
BASE_LABELS = {"service": "assistant", "team": "support", "environment": "prod"}


def _promtool_test(tmp_path, rules: list[dict], tests: list[dict]) -> None:
    promtool = require_tool("promtool")
    rules_path = rules_file(rules, tmp_path / "rules.yaml", keep_annotations=False)
    checked = run_tool([promtool, "check", "rules", str(rules_file(rules, tmp_path / "full.yaml"))])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(
        {"rule_files": [rules_path.name], "evaluation_interval": "1m",
         "tests": [{"interval": "1m", **test} for test in tests]}, sort_keys=False))
    result = run_tool([promtool, "test", "rules", "test.yaml"], cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def _budget_series(tokens_per_minute_per_pod: int, minutes: int) -> list[dict]:
    t = example_target("assistant")
    limit = budget_share(t.spec.llm)
    assert limit * len(PODS) >= t.spec.llm.tokenBudget.daily
    series = []
    for pod in PODS:
        series += [
            {"series": f'{names.METRIC_LLM_TOKENS}{{{GATEWAY},pod="{pod}",model="gpt-4o-mini",type="prompt",'
                       f'prompt="summarize",prompt_version="3"}}',
             "values": f"0+{tokens_per_minute_per_pod}x{minutes}"},
            {"series": f'{names.METRIC_LLM_BUDGET_LIMIT}{{namespace="support",pod="{pod}",budget="assistant"}}',
             "values": f"{limit}x{minutes}"},
            {"series": f'{names.METRIC_LLM_BUDGET_REMAINING}{{namespace="support",pod="{pod}",budget="assistant"}}',
             "values": f"{limit}-{tokens_per_minute_per_pod}x{minutes}"},
        ]
    return series


def test_token_budget_burn_alert_fires_only_when_the_budget_would_run_out_before_the_reset(tmp_path):
    t = example_target("assistant")
    assert t.spec.llm.tokenBudget.daily == 2_000_000
    rules = llm_rules.budget_rules(t)
    burn = {**BASE_LABELS, "severity": "ticket"}
    fifty = {**BASE_LABELS, "severity": "ticket", "threshold": "50"}
    tests = [
        {   # 2 x 1500 tokens/min = 50 tokens/s: 4.3M by midnight, far more than the 2M budget.
            "input_series": _budget_series(1500, 400),
            "alert_rule_test": [
                {"eval_time": "45m", "alertname": names.ALERT_LLM_TOKEN_BUDGET_BURN, "exp_alerts": [
                    {"exp_labels": burn}]},
                {"eval_time": "120m", "alertname": names.ALERT_LLM_TOKEN_BUDGET_BURN, "exp_alerts": [
                    {"exp_labels": burn}]},
                {"eval_time": "120m", "alertname": names.ALERT_LLM_TOKEN_BUDGET_USED, "exp_alerts": []},
                {"eval_time": "360m", "alertname": names.ALERT_LLM_TOKEN_BUDGET_USED, "exp_alerts": [
                    {"exp_labels": fifty}]},
            ],
            "promql_expr_test": [
                {"expr": names.RECORD_LLM_TOKEN_BURN.format(window="1h"), "eval_time": "120m",
                 "exp_samples": [{"labels": names.RECORD_LLM_TOKEN_BURN.format(window="1h")
                                  + '{budget="assistant",service="assistant"}', "value": 2.16}]}],
        },
        {   # 2 x 300 tokens/min = 10 tokens/s: 864k a day, well inside the budget.
            "input_series": _budget_series(300, 400),
            "alert_rule_test": [
                {"eval_time": "120m", "alertname": names.ALERT_LLM_TOKEN_BUDGET_BURN, "exp_alerts": []},
                {"eval_time": "390m", "alertname": names.ALERT_LLM_TOKEN_BUDGET_BURN, "exp_alerts": []},
                {"eval_time": "390m", "alertname": names.ALERT_LLM_TOKEN_BUDGET_USED, "exp_alerts": []},
            ],
        },
    ]
    _promtool_test(tmp_path, rules, tests)


def test_ttft_slo_pages_on_a_fast_burn(tmp_path):
    t = example_target("assistant")
    rules = llm_slos.prometheus_rule(t)
    assert rules, "the llm.slos compile into a PrometheusRule"
    metric = names.METRIC_LLM_TTFT
    job = 'job="assistant-llm-gateway",namespace="support",model="gpt-4o-mini"'

    def series(fast_per_minute: int, total_per_minute: int) -> list[dict]:
        return [{"series": f'{metric}_bucket{{{job},le="1.0"}}', "values": f"0+{fast_per_minute}x120"},
                {"series": f'{metric}_bucket{{{job},le="+Inf"}}', "values": f"0+{total_per_minute}x120"},
                {"series": f'{metric}_count{{{job}}}', "values": f"0+{total_per_minute}x120"}]

    page = {**BASE_LABELS, "slo": "ttft", "severity": "page"}
    tests = [
        {"input_series": series(50, 100),   # half the first tokens slower than 1 s: 50x the 1% budget
         "alert_rule_test": [{"eval_time": "70m", "alertname": names.ALERT_BURN_PAGE, "exp_alerts": [
             {"exp_labels": page}]}]},
        {"input_series": series(995, 1000),  # 0.5% slow: inside the 99% objective
         "alert_rule_test": [{"eval_time": "70m", "alertname": names.ALERT_BURN_PAGE, "exp_alerts": []}]},
    ]
    _promtool_test(tmp_path, rules, tests)


def test_model_drift_high_fires_and_routes_to_the_retrain_job(tmp_path):
    t = example_target("fraud-scoring")
    rules = model.drift_rule(t)
    drift = 'model_drift_score{namespace="risk",model="fraud-detector",model_version="7",pod="fraud-scoring-1"}'
    expected = {"namespace": "risk", "model": "fraud-detector", "model_version": "7", "severity": "ticket",
                "policy": names.POLICY_RETRAIN_MODEL, "service": "fraud-scoring", "team": "risk",
                "environment": "prod", "cronjob": "fraud-scoring-retrain"}
    tests = [{"input_series": [{"series": drift, "values": "0.05x30 0.35x60"}],
              "alert_rule_test": [
                  {"eval_time": "25m", "alertname": names.ALERT_MODEL_DRIFT, "exp_alerts": []},
                  {"eval_time": "40m", "alertname": names.ALERT_MODEL_DRIFT, "exp_alerts": []},
                  {"eval_time": "60m", "alertname": names.ALERT_MODEL_DRIFT, "exp_alerts": [
                      {"exp_labels": expected}]}]}]
    _promtool_test(tmp_path, rules, tests)


def test_cost_budget_alerts_follow_the_spend_rate_and_the_daily_total(tmp_path):
    t = example_target("assistant")
    assert t.spec.llm.costBudget.dailyUSD == 50
    rules = llm_rules.budget_rules(t)

    def spend(usd_per_minute_per_pod: float) -> list[dict]:
        return [{"series": f'{names.METRIC_LLM_COST}{{{GATEWAY},pod="{pod}",model="gpt-4o-mini"}}',
                 "values": f"0+{usd_per_minute_per_pod}x200"} for pod in PODS]

    burn = {**BASE_LABELS, "severity": "ticket"}
    tests = [
        {   # 0.2 USD a minute: 288 USD a day at this rate, 5.76x the budget; 25 USD (50%) spent at 125m.
            "input_series": spend(0.1),
            "alert_rule_test": [
                {"eval_time": "90m", "alertname": names.ALERT_LLM_COST_BUDGET_BURN, "exp_alerts": [
                    {"exp_labels": burn}]},
                {"eval_time": "110m", "alertname": names.ALERT_LLM_COST_BUDGET_SPENT, "exp_alerts": []},
                {"eval_time": "130m", "alertname": names.ALERT_LLM_COST_BUDGET_SPENT, "exp_alerts": [
                    {"exp_labels": {**BASE_LABELS, "severity": "ticket", "threshold": "50"}}]},
            ],
        },
        {   # 0.02 USD a minute: 28.8 USD a day, inside the budget.
            "input_series": spend(0.01),
            "alert_rule_test": [
                {"eval_time": "180m", "alertname": names.ALERT_LLM_COST_BUDGET_BURN, "exp_alerts": []},
                {"eval_time": "180m", "alertname": names.ALERT_LLM_COST_BUDGET_SPENT, "exp_alerts": []},
            ],
        },
    ]
    _promtool_test(tmp_path, rules, tests)
