"""LLM metrics (names fixed in briefs/metric-names.md), the price table, and GenAI spans."""
from __future__ import annotations

import json
import random

from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags

from runtime.config import Price
from runtime.web.metrics import LabelCache, MetricSet

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60)
TTFT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10)
COST_BUCKETS = (0.00001, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5)


class LlmMetrics:
    def __init__(self, metrics: MetricSet) -> None:
        self.requests = LabelCache(metrics.counter("llm_requests_total", "LLM gateway requests",
                                                   ("model", "prompt", "prompt_version", "status")))
        self.tokens = LabelCache(metrics.counter("llm_tokens_total", "LLM tokens",
                                                 ("model", "type", "prompt", "prompt_version")))
        self.latency = LabelCache(metrics.histogram("llm_request_latency_seconds", "LLM request latency",
                                                    ("model",), LATENCY_BUCKETS))
        self.ttft = LabelCache(metrics.histogram("llm_time_to_first_token_seconds",
                                                 "Time to the first streamed token", ("model",), TTFT_BUCKETS))
        self.cost_total = LabelCache(metrics.counter("llm_cost_usd_total", "LLM spend in USD from the price table",
                                                     ("model",)))
        self.cost = LabelCache(metrics.histogram("llm_request_cost_usd", "LLM cost per request in USD", ("model",),
                                                 COST_BUCKETS))
        self.budget_limit = LabelCache(metrics.gauge("llm_token_budget_limit", "Daily token limit", ("budget",)))
        self.budget_remaining = LabelCache(metrics.gauge("llm_token_budget_remaining", "Tokens left today",
                                                         ("budget",)))


class PriceTable:
    def __init__(self, prices: dict[str, Price]) -> None:
        self.prices = prices

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
        price = self.prices.get(model)
        if price is None:
            return None
        return (prompt_tokens * price.prompt_per_million + completion_tokens * price.completion_per_million) / 1e6


def parent_context(trace_id_hex: str):
    """A remote parent carrying the request's trace id, so spans and JSON logs share one trace id."""
    span_context = SpanContext(trace_id=int(trace_id_hex, 16), span_id=random.getrandbits(64) or 1,
                               is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    return trace.set_span_in_context(NonRecordingSpan(span_context))


class GenAiSpans:
    """Spans per the OpenTelemetry GenAI semantic conventions; message content only if capture is on."""

    def __init__(self, tracer_provider, capture_content: bool, provider_name: str) -> None:
        provider = tracer_provider or trace.get_tracer_provider()
        self.tracer = provider.get_tracer("runtime.llm")
        self.capture_content = capture_content
        self.provider_name = provider_name

    def start(self, request: dict, trace_id_hex: str):
        model = request.get("model") or ""
        attributes = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": self.provider_name,
                      "gen_ai.system": self.provider_name, "gen_ai.request.model": model}
        for key, attribute in (("max_tokens", "gen_ai.request.max_tokens"), ("temperature", "gen_ai.request.temperature"),
                               ("top_p", "gen_ai.request.top_p"), ("seed", "gen_ai.request.seed")):
            value = request.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                attributes[attribute] = value
        if self.capture_content:
            attributes["gen_ai.input.messages"] = json.dumps(request.get("messages", []))
        return self.tracer.start_span(f"chat {model}".strip(), kind=SpanKind.CLIENT, attributes=attributes,
                                      context=parent_context(trace_id_hex))

    def finish(self, span, *, response_model: str | None, response_id: str | None, finish_reasons: list[str],
               prompt_tokens: int, completion_tokens: int, prompt_name: str, prompt_version: str,
               status: int, output_text: str | None) -> None:
        if response_model:
            span.set_attribute("gen_ai.response.model", response_model)
        if response_id:
            span.set_attribute("gen_ai.response.id", response_id)
        if finish_reasons:
            span.set_attribute("gen_ai.response.finish_reasons", finish_reasons)
        span.set_attribute("gen_ai.usage.input_tokens", prompt_tokens)
        span.set_attribute("gen_ai.usage.output_tokens", completion_tokens)
        span.set_attribute("http.response.status_code", status)
        if prompt_name != "none":
            span.set_attribute("runtime.prompt.name", prompt_name)
            span.set_attribute("runtime.prompt.version", prompt_version)
        if self.capture_content and output_text is not None:
            span.set_attribute("gen_ai.output.messages",
                               json.dumps([{"role": "assistant", "content": output_text}]))
        if status >= 400:
            span.set_status(trace.Status(trace.StatusCode.ERROR, f"HTTP {status}"))
            span.set_attribute("error.type", str(status))
        span.end()
