"""Turning pydantic validation errors into `path:line:col: message` diagnostics with the fix."""
from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from .errors import Diagnostic
from .loader import LoadedDoc, Loc
from .spec.base import SpecValueError


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


_EXPECTED = {  # pydantic error type -> what the spec should hold there, in YAML terms
    "string_type": "a string",
    "int_type": "a whole number", "int_parsing": "a whole number", "int_from_float": "a whole number",
    "float_type": "a number", "float_parsing": "a number",
    "bool_type": "true/false", "bool_parsing": "true/false",
    "dict_type": "a mapping (key: value)", "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
    "list_type": "a list",
}


def _got(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean (YAML reads true/false, yes/no and on/off as booleans)"
    if value is None:
        return "an empty value (null)"
    if isinstance(value, str):
        return f"the string {_short(value)}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return _short(value)


def _type_message(kinds: list[str], value: Any) -> str:
    """'should be X, not Y' for one type error, or for all the members of a union that refused the value."""
    expected = list(dict.fromkeys(_EXPECTED[k] for k in kinds))
    if "a number" in expected and "a whole number" in expected:
        expected.remove("a whole number")
    wanted = expected[0] if len(expected) == 1 else ", ".join(expected[:-1]) + " or " + expected[-1]
    hint = ""
    if isinstance(value, str) and value.strip().lstrip("-").replace(".", "", 1).isdigit():
        hint = "; remove the quotes"
    return f"should be {wanted}, not {_got(value)}{hint}"


def _message(error: dict, loc: Loc, model: type[BaseModel], root_loc: Loc, where_note: str,
             removed: bool = False) -> str:
    """The message of one pydantic error; `removed` when a required key exists in the file but an override's
    null took it out."""
    kind = error["type"]
    where = _dotted(root_loc + loc) + where_note
    prefix = f"{where}: " if where else ""
    if kind == "extra_forbidden":
        name = str(loc[-1])
        allowed = fields_at(model, loc[:-1])
        close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else (
            f"; allowed here: {', '.join(allowed)}" if allowed else "; remove it")
        return f"{prefix}unknown field '{name}'{hint}"
    if kind == "missing" and removed:
        return f"{prefix}required field is removed by this null; give it a value or drop the line"
    if kind == "missing":
        return f"{prefix}required field is missing; add it"
    if kind in _EXPECTED:
        return prefix + _type_message([kind], error.get("input"))
    message = error["msg"]
    for start in ("Value error, ", "Assertion failed, "):
        if message.startswith(start):
            return prefix + message[len(start):]
    for noun in ("Input ", "String ", "List ", "Dictionary ", "Value "):
        if message.startswith(noun + "should"):
            message = message[len(noun):]
    if "input" in error and not isinstance(error["input"], (dict, list)):
        message += f" (got {_short(error['input'])})"
    return prefix + message


def _spec_loc(loc: tuple) -> Loc:
    """Drop the parts pydantic adds for union members and function validators, keeping the document path."""
    kept = []
    for part in loc:
        if isinstance(part, str) and ("[" in part or part in {"str", "int", "float", "bool", "function-after"}):
            continue
        kept.append(part)
    return tuple(kept)


def _located(error: dict) -> tuple[Loc, bool]:
    """The document path an error is about, and whether it is about the key there rather than the value."""
    loc = _spec_loc(error["loc"])
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, SpecValueError):
        return loc + cause.at, cause.on_key
    return loc, error["type"] == "extra_forbidden"


def _merge_union_errors(errors: list[dict]) -> list[dict]:
    """A value every member of a union refused gives one 'should be A, B or C' error instead of one per member."""
    by_loc: dict[Loc, list[dict]] = {}
    for error in errors:
        by_loc.setdefault(_spec_loc(error["loc"]), []).append(error)
    merged = []
    for group in by_loc.values():
        if len(group) > 1 and all(e["type"] in _EXPECTED for e in group):
            first = dict(group[0])
            first["msg"] = "Value error, " + _type_message([e["type"] for e in group], first.get("input"))
            first["type"] = "value_error"
            merged.append(first)
        else:
            merged += group
    return merged


def validation_diagnostics(exc: ValidationError, doc: LoadedDoc, model: type[BaseModel],
                           root_loc: Loc = (), suffix: str = "", where_note: str = "") -> list[Diagnostic]:
    """One diagnostic per distinct problem, positioned on the offending key or value.

    `where_note` follows the field path (e.g. " (environment 'dev')"); `suffix` ends the message.
    """
    seen: set[tuple] = set()
    result = []
    for error in _merge_union_errors(exc.errors(include_url=False)):
        loc, on_key = _located(error)
        message = _message(error, loc, model, root_loc, where_note, removed=loc in doc.marks) + suffix
        diag = doc.diagnostic(loc, message, key=on_key)
        if (diag.line, diag.col, diag.message) not in seen:
            seen.add((diag.line, diag.col, diag.message))
            result.append(diag)
    return result
