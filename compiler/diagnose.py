"""Turning pydantic validation errors into `path:line:col: message` diagnostics with the fix."""
from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from .errors import Diagnostic
from .loader import LoadedDoc, Loc


def _unwrap(tp: Any) -> Any:
    """Strip Annotated/Optional/Union down to the first model, list or dict inside."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            preferred = [a for a in args if _is_model(a) or typing.get_origin(a) in (list, dict)]
            tp = (preferred or args)[0]
        else:
            return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def fields_at(model: type[BaseModel], loc: Loc) -> list[str]:
    """The field names a spec may use at `loc` (empty when `loc` is not inside a model)."""
    tp: Any = model
    for part in loc:
        tp = _unwrap(tp)
        if _is_model(tp):
            field = tp.model_fields.get(str(part))
            if field is None:
                return []
            tp = field.annotation
        elif typing.get_origin(tp) is list:
            tp = typing.get_args(tp)[0]
        elif typing.get_origin(tp) is dict:
            tp = typing.get_args(tp)[1]
        else:
            return []
    tp = _unwrap(tp)
    return list(tp.model_fields) if _is_model(tp) else []


def _dotted(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _message(error: dict, loc: Loc, model: type[BaseModel], root_loc: Loc) -> str:
    kind = error["type"]
    where = _dotted(root_loc + loc)
    if kind == "extra_forbidden":
        name = str(loc[-1])
        allowed = fields_at(model, loc[:-1])
        close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else (
            f"; allowed here: {', '.join(allowed)}" if allowed else "; remove it")
        return f"{where}: unknown field '{name}'{hint}"
    if kind == "missing":
        return f"{where}: required field is missing; add it"
    message = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            return f"{where}: {message[len(prefix):]}"
    message = message.replace("Input should be", "should be")
    if "input" in error and not isinstance(error["input"], (dict, list)):
        message += f" (got {_short(error['input'])})"
    return f"{where}: {message}"


def _spec_loc(loc: tuple) -> Loc:
    """Drop the parts pydantic adds for union members and function validators, keeping the document path."""
    kept = []
    for part in loc:
        if isinstance(part, str) and ("[" in part or part in {"str", "int", "float", "bool", "function-after"}):
            continue
        kept.append(part)
    return tuple(kept)


def validation_diagnostics(exc: ValidationError, doc: LoadedDoc, model: type[BaseModel],
                           root_loc: Loc = (), suffix: str = "") -> list[Diagnostic]:
    """One diagnostic per distinct problem, positioned on the offending key or value."""
    seen: set[tuple] = set()
    result = []
    for error in exc.errors(include_url=False):
        loc = _spec_loc(error["loc"])
        message = _message(error, loc, model, root_loc) + suffix
        on_key = error["type"] in ("extra_forbidden",)
        diag = doc.diagnostic(loc, message, key=on_key)
        if (diag.line, diag.col, diag.message) not in seen:
            seen.add((diag.line, diag.col, diag.message))
            result.append(diag)
    return result
