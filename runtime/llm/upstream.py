"""Where chat completions go: any OpenAI-compatible server over HTTP, or the built-in `local-echo`.

`local-echo` is a deterministic stand-in for local runs and tests only: it answers "echo: <last user
message>" with token counts from `runtime.llm.tokens`, never calls a model, and says so in its model id.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

from runtime.llm.tokens import count_messages, count_text, message_text
from runtime.web.errors import UpstreamError

LOCAL_ECHO = "local-echo"


@dataclass
class UpstreamReply:
    status: int
    body: bytes


class UpstreamStream:
    """An open streamed reply: status, then SSE lines; `aclose` must be called."""

    def __init__(self, status: int, lines: AsyncIterator[str], closer, error_body: bytes = b"") -> None:
        self.status = status
        self.lines = lines
        self._closer = closer
        self.error_body = error_body

    async def aclose(self) -> None:
        if self._closer is not None:
            await self._closer()


class HttpUpstream:
    """aiohttp client: on this hot path it costs about a quarter of what httpx's async client does."""

    def __init__(self, base_url: str, api_key: str, timeout_seconds: float) -> None:
        self.headers = {"content-type": "application/json"}
        if api_key:
            self.headers["authorization"] = f"Bearer {api_key}"
        self.base_url = base_url
        self.chat_url = f"{base_url}/v1/chat/completions"
        self.timeout_seconds = timeout_seconds
        self._session = None

    def _client(self):
        """The session, made on first use because it must be created inside the running event loop."""
        if self._session is None:
            import aiohttp

            connector = aiohttp.TCPConnector(limit=256, keepalive_timeout=30, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(headers=self.headers, connector=connector,
                                                  timeout=aiohttp.ClientTimeout(total=self.timeout_seconds))
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _failure(self, exc: Exception) -> UpstreamError:
        return UpstreamError(f"LLM upstream {self.base_url} failed: {exc.__class__.__name__}: {exc}")

    async def complete(self, payload: bytes, headers: dict[str, str]) -> UpstreamReply:
        import aiohttp

        try:
            async with self._client().post(self.chat_url, data=payload, headers=headers) as response:
                return UpstreamReply(response.status, await response.read())
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise self._failure(exc) from None

    async def open_stream(self, payload: bytes, headers: dict[str, str]) -> UpstreamStream:
        import aiohttp

        try:
            response = await self._client().post(self.chat_url, data=payload, headers=headers)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise self._failure(exc) from None
        if response.status >= 400:
            try:
                body = await response.read()
            finally:
                response.release()
            return UpstreamStream(response.status, _no_lines(), None, body)

        async def lines() -> AsyncIterator[str]:
            try:
                async for raw in response.content:
                    yield raw.decode("utf-8").rstrip("\r\n")
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise self._failure(exc) from None

        async def close() -> None:
            response.release()

        return UpstreamStream(response.status, lines(), close)

    async def models(self) -> UpstreamReply:
        import aiohttp

        try:
            async with self._client().get(f"{self.base_url}/v1/models") as response:
                return UpstreamReply(response.status, await response.read())
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise self._failure(exc) from None


async def _no_lines() -> AsyncIterator[str]:
    return
    yield  # pragma: no cover - makes this an async generator


def echo_completion(request: dict) -> dict:
    """The deterministic local-echo answer for an OpenAI chat request."""
    messages = request.get("messages") or []
    last_user = next((message_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
    content = f"echo: {last_user}"
    digest = hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()[:24]
    prompt_tokens = count_messages(messages)
    completion_tokens = count_text(content)
    return {"id": f"chatcmpl-echo-{digest}", "object": "chat.completion", "created": 0,
            "model": request.get("model") or LOCAL_ECHO,
            "system_fingerprint": LOCAL_ECHO,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}}


def echo_stream_lines(request: dict) -> list[str]:
    """SSE lines of the local-echo answer: one chunk per word, then usage (if asked), then [DONE]."""
    answer = echo_completion(request)
    words = answer["choices"][0]["message"]["content"].split(" ")
    base = {"id": answer["id"], "object": "chat.completion.chunk", "created": 0, "model": answer["model"]}
    lines = []
    for index, word in enumerate(words):
        delta = {"content": word if index == 0 else " " + word}
        if index == 0:
            delta["role"] = "assistant"
        lines += [f"data: {json.dumps({**base, 'choices': [{'index': 0, 'delta': delta, 'finish_reason': None}]})}", ""]
    lines += [f"data: {json.dumps({**base, 'choices': [{'index': 0, 'delta': {}, 'finish_reason': 'stop'}]})}", ""]
    if (request.get("stream_options") or {}).get("include_usage"):
        lines += [f"data: {json.dumps({**base, 'choices': [], 'usage': answer['usage']})}", ""]
    lines += ["data: [DONE]", ""]
    return lines


class LocalEchoUpstream:
    base_url = LOCAL_ECHO

    async def aclose(self) -> None:
        return None

    async def complete(self, payload: bytes, headers: dict[str, str]) -> UpstreamReply:
        return UpstreamReply(200, json.dumps(echo_completion(json.loads(payload))).encode())

    async def open_stream(self, payload: bytes, headers: dict[str, str]) -> UpstreamStream:
        lines = echo_stream_lines(json.loads(payload))

        async def produce() -> AsyncIterator[str]:
            for line in lines:
                yield line
        return UpstreamStream(200, produce(), None)

    async def models(self) -> UpstreamReply:
        return UpstreamReply(200, json.dumps({"object": "list", "data": [
            {"id": LOCAL_ECHO, "object": "model", "created": 0, "owned_by": "runtime"}]}).encode())


def create_echo_server():
    """A tiny OpenAI-compatible HTTP server answering like local-echo: the upstream of benches and tests."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response, StreamingResponse
    from starlette.routing import Route

    async def chat(request: Request):
        body = await request.json()
        if body.get("stream"):
            lines = echo_stream_lines(body)

            async def produce():
                for line in lines:
                    yield line + "\n"
            return StreamingResponse(produce(), media_type="text/event-stream")
        return Response(json.dumps(echo_completion(body)), media_type="application/json")

    async def models(request: Request):
        reply = await LocalEchoUpstream().models()
        return Response(reply.body, media_type="application/json")

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"]),
                             Route("/v1/models", models, methods=["GET"])])
