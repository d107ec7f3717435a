"""The container image type for blocks that service.py itself imports (model, llm).

The check lives in service.py; it is looked up when a value is validated, not at import time, so the
modules service.py imports can use it without an import cycle.
"""
from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator


def _pinned_image(value: str) -> str:
    from .service import _image
    return _image(value)


Image = Annotated[str, AfterValidator(_pinned_image)]
