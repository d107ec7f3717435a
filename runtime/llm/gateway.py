"""The chat completion path: prompt resolution, budget check, forwarding, metrics, cost, spans."""
from __future__ import annotations

import time
from dataclasses import dataclass

import orjson
from fastapi.responses import Response, StreamingResponse
from opentelemetry import propagate, trace

from runtime.config import LlmSettings
from runtime.llm.budgets import TokenBudgets, next_reset
from runtime.llm.observability import GenAiSpans, LlmMetrics, PriceTable
from runtime.llm.prompts import PromptRegistry, ResolvedPrompt
from runtime.llm.schemas import ChatRequest
from runtime.llm.tokens import count_messages, count_text
from runtime.web.errors import InputError, UpstreamError

NO_PROMPT = "none"


@dataclass
class Outcome:
    """What one request did, for metrics and spans."""
    model: str
    prompt: str
    prompt_version: str
    status: int = 200
    prompt_tokens: int = 0
    completion_tokens: int = 0
    response_model: str | None = None
    response_id: str | None = None
    output_text: str | None = None
    finish_reasons: tuple = ()


class Gateway:
    def __init__(self, settings: LlmSettings, upstream, prompts: PromptRegistry, budgets: TokenBudgets,
                 metrics: LlmMetrics, spans: GenAiSpans) -> None:
        self.settings = settings
        self.upstream = upstream
        self.prompts = prompts
        self.budgets = budgets
        self.metrics = metrics
        self.spans = spans
        self.prices = PriceTable(settings.prices)

    def _prompt(self, request: ChatRequest, headers) -> ResolvedPrompt | None:
        ref = request.prompt
        name = ref.name if ref else headers.get("x-prompt-name")
        if not name:
            return None
        label = ref.label if ref else headers.get("x-prompt-label")
        version = ref.version if ref else headers.get("x-prompt-version")
        return self.prompts.resolve(name, label, version, ref.variables if ref else {})

    def _budget_name(self, headers) -> str | None:
        name = headers.get(self.settings.budgets.header) or self.settings.budgets.default
        if name is not None and name not in self.budgets.limits:
            raise InputError(f"header.{self.settings.budgets.header}", f"unknown token budget {name!r}")
        return name

    def _payload(self, request: ChatRequest, prompt: ResolvedPrompt | None) -> tuple[dict, bool]:
        payload = request.model_dump(exclude={"prompt"}, exclude_unset=True, exclude_none=False)
        messages = payload.get("messages", [])
        if prompt is not None:
            messages = [*prompt.messages, *messages]
            if not payload.get("model") and prompt.model:
                payload["model"] = prompt.model
        if not messages:
            raise InputError("body.messages", "no messages (give messages or a prompt)")
        if not payload.get("model"):
            raise InputError("body.model", "model is required (in the request or the prompt version)")
        payload["messages"] = messages
        added_usage = False
        if request.stream and self.settings.upstream.request_usage_in_stream:
            options = dict(payload.get("stream_options") or {})
            if not options.get("include_usage"):
                options["include_usage"] = True
                payload["stream_options"] = options
                added_usage = True
        return payload, added_usage

    async def chat(self, request: ChatRequest, headers, trace_id: str) -> Response:
        started = time.perf_counter()
        prompt = self._prompt(request, headers)
        payload, added_usage = self._payload(request, prompt)
        outcome = Outcome(model=payload["model"], prompt=prompt.name if prompt else NO_PROMPT,
                          prompt_version=prompt.version if prompt else NO_PROMPT)
        budget = self._budget_name(headers)
        if budget is not None:
            state = self.budgets.state(budget)
            if state.remaining <= 0:
                outcome.status = 429
                self._count(outcome)
                reset = next_reset(time.time())
                return Response(orjson.dumps({"error": {
                    "type": "token_budget_exhausted", "budget": budget, "limit": state.limit, "used": state.used,
                    "resets_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(reset)),
                    "message": f"daily token budget {budget!r} ({state.limit} tokens) is used up until "
                               f"00:00 UTC"}}),
                    status_code=429, media_type="application/json",
                    headers={"retry-after": str(max(1, int(reset - time.time())))})
        span = self.spans.start(payload, trace_id)
        forward_headers: dict[str, str] = {}
        propagate.inject(forward_headers, context=trace.set_span_in_context(span))
        body = orjson.dumps(payload)
        extra_headers = {"x-prompt-name": outcome.prompt, "x-prompt-version": outcome.prompt_version}
        if request.stream:
            return await self._stream(body, forward_headers, payload, outcome, span, budget, started,
                                      added_usage, extra_headers)
        try:
            reply = await self.upstream.complete(body, forward_headers)
        except UpstreamError:
            outcome.status = 502
            self._finish(outcome, span, budget, started)
            raise
        outcome.status = reply.status
        self._read_reply(reply.body, payload, outcome)
        self._finish(outcome, span, budget, started)
        return Response(reply.body, status_code=reply.status, media_type="application/json", headers=extra_headers)

    def _read_reply(self, body: bytes, payload: dict, outcome: Outcome) -> None:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            data = {}
        if outcome.status >= 400 or not isinstance(data, dict):
            return
        usage = data.get("usage") or {}
        choices = data.get("choices") or []
        text = "".join(str((choice.get("message") or {}).get("content") or "") for choice in choices)
        outcome.prompt_tokens = int(usage.get("prompt_tokens") or count_messages(payload["messages"]))
        outcome.completion_tokens = int(usage.get("completion_tokens") or count_text(text))
        outcome.response_model = data.get("model")
        outcome.response_id = data.get("id")
        outcome.finish_reasons = tuple(str(c.get("finish_reason")) for c in choices if c.get("finish_reason"))
        outcome.output_text = text

    async def _stream(self, body, forward_headers, payload, outcome, span, budget, started, added_usage,
                      extra_headers) -> Response:
        try:
            stream = await self.upstream.open_stream(body, forward_headers)
        except UpstreamError:
            outcome.status = 502
            self._finish(outcome, span, budget, started)
            raise
        outcome.status = stream.status
        if stream.status >= 400:
            self._finish(outcome, span, budget, started)
            return Response(stream.error_body, status_code=stream.status, media_type="application/json")

        async def relay():
            first_token_at = None
            parts: list[str] = []
            usage = None
            reasons = []
            try:
                async for line in stream.lines:
                    if line.startswith("data:"):
                        data = line[5:].strip()
                        if data and data != "[DONE]":
                            try:
                                chunk = orjson.loads(data)
                            except orjson.JSONDecodeError:
                                chunk = None
                            if isinstance(chunk, dict):
                                outcome.response_id = outcome.response_id or chunk.get("id")
                                outcome.response_model = outcome.response_model or chunk.get("model")
                                if chunk.get("usage"):
                                    usage = chunk["usage"]
                                    if added_usage and not chunk.get("choices"):
                                        continue
                                for choice in chunk.get("choices") or []:
                                    content = (choice.get("delta") or {}).get("content")
                                    if content:
                                        if first_token_at is None:
                                            first_token_at = time.perf_counter()
                                        parts.append(content)
                                    if choice.get("finish_reason"):
                                        reasons.append(str(choice["finish_reason"]))
                    yield line + "\n"
            except UpstreamError:
                outcome.status = 502
                yield 'data: {"error": {"type": "upstream_error", "message": "upstream stream failed"}}\n\n'
            finally:
                await stream.aclose()
                text = "".join(parts)
                outcome.output_text = text
                outcome.finish_reasons = tuple(reasons)
                outcome.prompt_tokens = int((usage or {}).get("prompt_tokens") or count_messages(payload["messages"]))
                outcome.completion_tokens = int((usage or {}).get("completion_tokens") or count_text(text))
                if first_token_at is not None:
                    self.metrics.ttft(outcome.model).observe(first_token_at - started)
                self._finish(outcome, span, budget, started)

        return StreamingResponse(relay(), status_code=stream.status, media_type="text/event-stream",
                                 headers={**extra_headers, "cache-control": "no-cache"})

    def _count(self, outcome: Outcome) -> None:
        self.metrics.requests(outcome.model, outcome.prompt, outcome.prompt_version, str(outcome.status)).inc()

    def _finish(self, outcome: Outcome, span, budget: str | None, started: float) -> None:
        self._count(outcome)
        self.metrics.latency(outcome.model).observe(time.perf_counter() - started)
        if outcome.status < 400:
            labels = (outcome.prompt, outcome.prompt_version)
            self.metrics.tokens(outcome.model, "prompt", *labels).inc(outcome.prompt_tokens)
            self.metrics.tokens(outcome.model, "completion", *labels).inc(outcome.completion_tokens)
            cost = self.prices.cost(outcome.model, outcome.prompt_tokens, outcome.completion_tokens)
            if cost is not None:
                self.metrics.cost_total(outcome.model).inc(cost)
                self.metrics.cost(outcome.model).observe(cost)
            if budget is not None:
                self.budgets.consume(budget, outcome.prompt_tokens + outcome.completion_tokens)
        self.spans.finish(span, response_model=outcome.response_model, response_id=outcome.response_id,
                          finish_reasons=list(outcome.finish_reasons), prompt_tokens=outcome.prompt_tokens,
                          completion_tokens=outcome.completion_tokens, prompt_name=outcome.prompt,
                          prompt_version=outcome.prompt_version, status=outcome.status,
                          output_text=outcome.output_text)
