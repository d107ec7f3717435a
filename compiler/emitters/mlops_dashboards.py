"""Dashboard rows of the model and llm blocks, added to the service dashboard through its ROW_BUILDERS hook."""
from __future__ import annotations

from .. import conventions as names
from . import dashboards
from .dashboard_panels import Panel, Query, Row, Threshold

GREEN, YELLOW, RED = dashboards.GREEN, dashboards.YELLOW, dashboards.RED


def _job(job: str) -> str:
    return f'{names.SERIES_NAMESPACE}="$namespace", {names.SERIES_JOB}="{job}"'


def model_rows(ctx: dashboards.DashboardContext) -> list[Row]:
    model = ctx.target.spec.model
    sel, rate, version = ctx.selector, ctx.rate, names.SERIES_MODEL_VERSION
    drift = (f"max by ({version}) ({names.METRIC_MODEL_DRIFT}{{{sel}, {names.SERIES_MODEL}=\"{model.name}\"}})")
    drift_limit = model.retrainOn.drift if model.retrainOn and model.retrainOn.drift else None
    thresholds = (Threshold(None, GREEN), Threshold(drift_limit, RED)) if drift_limit else ()
    return [Row(f"Model {model.name} (production version {model.version})", (
        Panel("Predictions per second by version", (Query(
            f"sum by ({version}) (rate({names.METRIC_MODEL_PREDICTIONS}{{{sel}}}[{rate}]))",
            legend=f"v{{{{{version}}}}}"),), unit="reqps", span=8,
            description="During a canary both versions serve; the new one's share grows by rollout.stepWeight."),
        Panel("Prediction latency p99 by version", (Query(
            f"histogram_quantile(0.99, sum by (le, {version}) "
            f"(rate({names.METRIC_MODEL_LATENCY}_bucket{{{sel}}}[{rate}])))", legend=f"v{{{{{version}}}}}"),),
            unit="s", span=8),
        Panel("Drift score", (Query(drift, legend=f"v{{{{{version}}}}}"),), span=8, thresholds=thresholds,
              threshold_lines=bool(thresholds),
              description="The runtime's drift detector; above the line for retrainOn.driftFor, ModelDriftHigh "
                          "starts a training run."),
    ))]


def _slo_panels(ctx: dashboards.DashboardContext, slo) -> tuple[Panel, ...]:
    sel = ctx.slo_selector(slo.name)
    return (
        Panel(f"{slo.name}: attainment", (Query(f"1 - {names.SLO_ERROR_RATIO_PERIOD}{{{sel}}}", legend="attainment"),),
              kind="stat", unit="percentunit", span=6, decimals=3,
              thresholds=(Threshold(None, RED), Threshold(slo.objective / 100, GREEN)),
              description=f"{slo.objective:g}% within {slo.latency.threshold:g}s ({slo.latency.of}) over {slo.window}."),
        Panel(f"{slo.name}: error budget left", (Query(f"{names.SLO_BUDGET_REMAINING}{{{sel}}}", legend="left"),),
              kind="gauge", unit="percentunit", span=6, max=1,
              thresholds=(Threshold(None, RED), Threshold(0.25, YELLOW), Threshold(0.5, GREEN))),
    )


def llm_rows(ctx: dashboards.DashboardContext) -> list[Row]:
    llm = ctx.target.spec.llm
    sel, rate = _job(names.llm_gateway_name(ctx.service)), ctx.rate
    budget = f'{names.SERIES_NAMESPACE}="$namespace", {names.SERIES_BUDGET}="{ctx.service}"'
    prompt, version = names.SERIES_PROMPT, names.SERIES_PROMPT_VERSION
    quantile = lambda q, metric: Query(
        f"histogram_quantile({q}, sum by (le) (rate({metric}_bucket{{{sel}}}[{rate}])))", legend=f"p{int(q * 100)}")
    rows = [Row("LLM gateway", (
        Panel("Requests by prompt version and status", (Query(
            f"sum by ({prompt}, {version}, status) (rate({names.METRIC_LLM_REQUESTS}{{{sel}}}[{rate}]))",
            legend=f"{{{{{prompt}}}}} v{{{{{version}}}}} {{{{status}}}}"),), unit="reqps", span=12),
        Panel("Tokens per second by type and prompt version", (Query(
            f"sum by (type, {prompt}, {version}) (rate({names.METRIC_LLM_TOKENS}{{{sel}}}[{rate}]))",
            legend=f"{{{{type}}}} {{{{{prompt}}}}} v{{{{{version}}}}}"),), span=12),
        Panel("Time to first token", (quantile(0.5, names.METRIC_LLM_TTFT), quantile(0.99, names.METRIC_LLM_TTFT)),
              unit="s", span=8),
        Panel("Request latency", (quantile(0.5, names.METRIC_LLM_LATENCY), quantile(0.99, names.METRIC_LLM_LATENCY)),
              unit="s", span=8),
        Panel("Spend per hour", (Query(f"sum(rate({names.METRIC_LLM_COST}{{{sel}}}[{rate}])) * 3600",
                                       legend="USD/h"),), unit="currencyUSD", span=8),
    ))]
    if llm.slos:
        rows.append(Row("LLM SLOs", tuple(panel for slo in llm.slos for panel in _slo_panels(ctx, slo))))
    if llm.tokenBudget is not None:
        left = (f"sum({names.METRIC_LLM_BUDGET_REMAINING}{{{budget}}}) / sum({names.METRIC_LLM_BUDGET_LIMIT}"
                f"{{{budget}}})")
        levels = llm.tokenBudget.alertAt
        steps = (Threshold(None, RED), Threshold(1 - max(levels) / 100, YELLOW), Threshold(1 - min(levels) / 100, GREEN))
        rows.append(Row("Token budget", (
            Panel("Daily token budget left", (Query(left, legend="left"),), kind="gauge", unit="percentunit",
                  span=8, min=0, max=1, thresholds=steps if len(levels) > 1 else (steps[0], steps[2]),
                  description=f"Alerts at {', '.join(f'{level}%' for level in levels)} used."),
            Panel("Budget burn rate", tuple(Query(
                f"{names.RECORD_LLM_TOKEN_BURN.format(window=w)}{{{names.SLO_LABEL_SERVICE}=\"{ctx.service}\"}}",
                legend=f"burn rate {w}") for w in ("5m", "1h")), span=16, threshold_lines=True,
                thresholds=(Threshold(None, GREEN), Threshold(1, RED)),
                description="Tokens per second x 1 day / the daily budget: above 1 the budget runs out before "
                            "the day ends."),
        )))
    if llm.serving is not None:
        vllm, model = _job(names.vllm_name(ctx.service)), llm.model
        rows.append(Row(f"vLLM ({llm.serving.model})", (
            Panel("Queue depth", (Query(f"sum({names.METRIC_VLLM_WAITING}{{{vllm}}})", legend="waiting"),
                                  Query(f"sum({names.METRIC_VLLM_RUNNING}{{{vllm}}})", legend="running")), span=6),
            Panel("KV-cache use", (Query(f"max({names.METRIC_VLLM_KV_CACHE}{{{vllm}}})", legend="used"),),
                  unit="percentunit", span=6, min=0, max=1,
                  thresholds=(Threshold(None, GREEN), Threshold(0.9, RED))),
            Panel("Time to first token (engine)", (Query(
                f"histogram_quantile(0.99, sum by (le) (rate({names.METRIC_VLLM_TTFT}_bucket{{{vllm}}}[{rate}])))",
                legend="p99"),), unit="s", span=6),
            Panel("Tokens per second", (
                Query(f"sum(rate({names.METRIC_VLLM_GENERATION_TOKENS}{{{vllm}}}[{rate}]))", legend="generated"),
                Query(f"sum(rate({names.METRIC_VLLM_PROMPT_TOKENS}{{{vllm}}}[{rate}]))", legend="prompt")),
                span=6, description=f"Served as model '{model}'."),
        )))
    return rows


dashboards.ROW_BUILDERS.setdefault("model", []).append(model_rows)
dashboards.ROW_BUILDERS.setdefault("llm", []).append(llm_rows)
