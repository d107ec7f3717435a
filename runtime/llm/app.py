"""LLM role: `/v1/chat/completions` (streaming and not), `/v1/models`, `/v1/prompts`, `/v1/rag/*`."""
from __future__ import annotations

import asyncio
import contextlib

from fastapi import Depends, Request
from fastapi.responses import Response

from runtime.config import RuntimeConfig
from runtime.llm.budgets import TokenBudgets
from runtime.llm.gateway import Gateway
from runtime.llm.observability import GenAiSpans, LlmMetrics
from runtime.llm.prompts import PromptRegistry
from runtime.llm.rag.embedders import select_embedder
from runtime.llm.rag.store import EmbeddedVectorStore
from runtime.llm.schemas import (ChatRequest, RagIngestRequest, RagIngestResponse, RagQueryRequest,
                                 RagQueryResponse)
from runtime.llm.upstream import LOCAL_ECHO, HttpUpstream, LocalEchoUpstream
from runtime.web.base import create_base_app
from runtime.web.body import documented_body, parse_body, register_schemas
from runtime.web.errors import InputError, error_responses
from runtime.web.tracing import tracer_provider_from_env

_DESCRIPTION = """OpenAI-compatible gateway: forwards chat completions to the configured upstream and records
requests, tokens, latency, time to first token and cost per model and prompt version; enforces daily
token budgets (429 when used up); serves retrieval over an embedded vector store, Qdrant or PostgreSQL with pgvector.
Every POST needs `Authorization: Bearer <token>`."""


def create_llm_app(config: RuntimeConfig, tracer_provider=None, qdrant_transport=None):
    settings = config.llm
    prompts = PromptRegistry.load(settings.prompt_paths)
    embedder = select_embedder(settings.rag.embedder)
    if settings.rag.store == "qdrant":
        from runtime.llm.rag.qdrant import QdrantStore
        store = QdrantStore(embedder, settings.rag.qdrant_url, settings.rag.qdrant_api_key_env,
                            settings.rag.qdrant_timeout_seconds, settings.rag.chunk_words,
                            settings.rag.chunk_overlap_words, transport=qdrant_transport)
    elif settings.rag.store == "pgvector":
        from runtime.llm.rag.pgvector import PgvectorStore
        rag = settings.rag
        store = PgvectorStore(embedder, rag.pgvector_host, rag.pgvector_port, rag.pgvector_database,
                              rag.pgvector_user, rag.pgvector_password(), rag.pgvector_sslmode,
                              rag.pgvector_timeout_seconds, rag.chunk_words, rag.chunk_overlap_words)
    else:
        store = EmbeddedVectorStore(embedder, settings.rag.store_path, settings.rag.chunk_words,
                                    settings.rag.chunk_overlap_words)
    if settings.upstream.url == LOCAL_ECHO:
        upstream, provider = LocalEchoUpstream(), LOCAL_ECHO
    else:
        upstream = HttpUpstream(settings.upstream.url, settings.upstream.api_key(),
                                settings.upstream.timeout_seconds)
        provider = "openai"

    def readiness() -> dict:
        return {"upstream": {"ok": True, "url": settings.upstream.url,
                             "deterministic_stand_in": settings.upstream.url == LOCAL_ECHO},
                "prompts": {"ok": True, "count": len(prompts.prompts)},
                "budgets": {"ok": True, "names": sorted(budgets.limits)},
                "rag": {"ok": True, "embedder": embedder.name, "store": settings.rag.store,
                        "persisted": settings.rag.store != "embedded" or settings.rag.store_path is not None}}

    owned_provider = None if tracer_provider is not None else tracer_provider_from_env("llm-gateway")
    tracer_provider = tracer_provider or owned_provider

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        try:
            yield
        finally:
            await upstream.aclose()
            if hasattr(store, "close"):
                await asyncio.to_thread(store.close)
            if owned_provider is not None:
                await asyncio.to_thread(owned_provider.shutdown)

    ctx = create_base_app(config, "llm", "platform runtime: LLM gateway", _DESCRIPTION, readiness, lifespan)
    app, auth = ctx.app, Depends(ctx.require_token)
    metrics = LlmMetrics(ctx.metrics)
    budgets = TokenBudgets({item.name: item.daily_tokens for item in settings.budgets.budgets},
                           settings.budgets.state_path, metrics.budget_limit, metrics.budget_remaining)
    spans = GenAiSpans(tracer_provider, settings.telemetry.capture_content, provider)
    gateway = Gateway(settings, upstream, prompts, budgets, metrics, spans)
    app.state.llm = {"gateway": gateway, "store": store, "budgets": budgets}

    register_schemas(app, [ChatRequest, RagIngestRequest, RagQueryRequest])

    require_token = ctx.require_token

    @app.post("/v1/chat/completions", tags=["llm"], response_model=None,
              openapi_extra=documented_body(ChatRequest),
              responses={200: {"description": "the upstream's completion (JSON), or SSE chunks when stream=true",
                               "content": {"application/json": {"schema": {"type": "object"}},
                                           "text/event-stream": {"schema": {
                                               "type": "object", "properties": {"data": {"type": "string"}}}}}},
                         **error_responses(401, 404, 413, 422, 429, 502)},
              summary="OpenAI-compatible chat completion, streamed (SSE) or not; needs the bearer token")
    async def chat_completions(request: Request) -> Response:
        await require_token(request)  # called directly: FastAPI's dependency solving is slow on this hot path
        body = await parse_body(request, ChatRequest)
        return await gateway.chat(body, request.headers, request.scope["state"]["trace_id"])

    @app.get("/v1/models", tags=["llm"], summary="the upstream's model list")
    async def models() -> Response:
        reply = await upstream.models()
        return Response(reply.body, status_code=reply.status, media_type="application/json")

    @app.get("/v1/prompts", tags=["llm"], summary="registered prompts: versions and their labels")
    async def list_prompts() -> dict:
        return {"prompts": prompts.summary()}

    @app.post("/v1/rag/ingest", dependencies=[auth], tags=["rag"], response_model=RagIngestResponse,
              responses=error_responses(401, 409, 413, 422, 502),
              openapi_extra=documented_body(RagIngestRequest),
              summary="chunk, embed and store documents (same id replaces the earlier version)")
    async def rag_ingest(request: Request) -> dict:
        body = await parse_body(request, RagIngestRequest)
        if len(body.documents) > settings.rag.max_documents_per_request:
            raise InputError("body.documents", f"at most {settings.rag.max_documents_per_request} documents")
        ids = [document.id for document in body.documents]
        if len(set(ids)) != len(ids):
            raise InputError("body.documents", "document ids must be unique within a request")
        try:
            chunks = await asyncio.to_thread(store.ingest, body.collection,
                                             [document.model_dump() for document in body.documents])
        except ValueError as exc:
            raise InputError("body.collection", str(exc), status_code=409) from None
        return {"collection": body.collection, "embedder": embedder.name, "documents": len(ids), "chunks": chunks}

    @app.post("/v1/rag/query", dependencies=[auth], tags=["rag"], response_model=RagQueryResponse,
              responses=error_responses(401, 409, 413, 422, 502),
              openapi_extra=documented_body(RagQueryRequest),
              summary="nearest chunks to a query by cosine similarity")
    async def rag_query(request: Request) -> dict:
        body = await parse_body(request, RagQueryRequest)
        try:
            matches = await asyncio.to_thread(store.query, body.collection, body.query, body.top_k)
        except ValueError as exc:
            raise InputError("body.collection", str(exc), status_code=409) from None
        return {"collection": body.collection, "embedder": embedder.name, "matches": matches}

    return app
