"""LLM role: OpenAI-compatible gateway with prompt registry, token budgets, cost metrics, spans and RAG."""
