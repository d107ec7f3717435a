"""Request shapes of the LLM role (OpenAI-compatible, plus the `prompt` extension and RAG)."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict] | None = None


class PromptRef(BaseModel):
    """Extension: pick a registered prompt; its messages go before the request's."""
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=128)
    label: str | None = Field(None, max_length=64)
    version: str | None = Field(None, max_length=64)
    variables: dict[str, str] = Field(default_factory=dict)


class ChatRequest(BaseModel):
    """OpenAI chat completion request; fields not listed here are forwarded unchanged."""
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)
    model: str | None = Field(None, max_length=256)
    messages: list[ChatMessage] = Field(default_factory=list, max_length=10_000)
    stream: bool = False
    prompt: PromptRef | None = None


class RagDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=256)
    text: str = Field(min_length=1)
    metadata: dict[str, str | int | float | bool] = Field(default_factory=dict)


_COLLECTION = r"^[A-Za-z0-9_.-]{1,64}$"


class RagIngestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    collection: str = Field("default", pattern=_COLLECTION)
    documents: list[RagDocument] = Field(min_length=1)


class RagQueryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    collection: str = Field("default", pattern=_COLLECTION)
    query: str = Field(min_length=1, max_length=8192)
    top_k: int = Field(4, ge=1, le=50)


class RagMatch(BaseModel):
    document_id: str
    chunk: int
    score: float
    text: str
    metadata: dict


class RagQueryResponse(BaseModel):
    collection: str
    embedder: str
    matches: list[RagMatch]


class RagIngestResponse(BaseModel):
    collection: str
    embedder: str
    documents: int
    chunks: int
