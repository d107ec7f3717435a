"""Approximate token counts, used only when an upstream does not report `usage` (and by local-echo).

Roughly one token per word or punctuation mark; real tokenisers differ by some tens of percent, which is
why upstream-reported usage always wins.
"""
from __future__ import annotations

import re

_TOKEN = re.compile(r"\w+|[^\w\s]")


def count_text(text: str) -> int:
    return len(_TOKEN.findall(text))


def message_text(content) -> str:
    """The text of an OpenAI message `content`: a string or a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def count_messages(messages: list[dict]) -> int:
    """Text tokens plus a few per message for role and separators, as chat formats add."""
    return sum(count_text(message_text(message.get("content"))) + 4 for message in messages) + 2
