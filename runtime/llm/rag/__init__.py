"""Retrieval: embedders and the embedded vector store behind `/v1/rag/*`."""
