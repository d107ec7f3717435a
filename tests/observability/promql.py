"""Reading PromQL for the checks: which series an expression reads, and Grafana variables filled in."""
from __future__ import annotations

import re

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_BRACES = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENT = re.compile(r"(?<![\w:.])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:])(\s*\()?")
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left",
             "group_right", "inf", "nan", "atan2"}

GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h"}


def metrics_read(expr: str) -> set[str]:
    """Metric names an expression selects (function names, label names and keywords left out)."""
    text = _STRING.sub('""', expr)
    text = _BRACES.sub("", text)
    text = _RANGE.sub("", text)
    text = _GROUPING.sub("", text)
    found = set()
    for match in _IDENT.finditer(text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in _KEYWORDS:
            continue
        found.add(name)
    return found


def fill_variables(expr: str, values: dict[str, str]) -> str:
    """The expression as Grafana sends it: `$name` and `${name}` replaced by the given values."""
    for name, value in {**GRAFANA_VARIABLES, **{f"${k}": v for k, v in values.items()}}.items():
        expr = expr.replace("${" + name[1:] + "}", value).replace(name, value)
    return expr
