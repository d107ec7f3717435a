"""Recording rules of one SLO: 5m event rates, error ratios over every alert window and the SLO window.

Windows up to 6h are computed from the SLI's own queries. The long ones (1d, 3d, the SLO window) are sums over
time of the recorded 5m rates, bad over all: weighted by requests like the exact ratio, and cheap because they
read two single series instead of every raw series over days.
"""
from __future__ import annotations

from .. import conventions as names
from ..plan import Target
from ..spec.slo import SLO
from .sli import for_window, sli_templates
from .slo_labels import selector, series_labels

SHORT_WINDOWS = tuple(w for w in names.SLO_RATIO_WINDOWS if w not in names.SLO_LONG_WINDOWS and w != "5m")


def _long_ratio(sel: str, window: str) -> str:
    return (f"sum_over_time({names.SLO_ERRORS_RATE5M}{sel}[{window}])"
            f" / sum_over_time({names.SLO_TOTAL_RATE5M}{sel}[{window}])")


def recording_rules(t: Target, slo: SLO) -> list[dict]:
    labels = series_labels(t, slo)
    sel = selector(t, slo)
    errors, total = sli_templates(t, slo)
    rules = [
        {"record": names.SLO_ERRORS_RATE5M, "expr": f"sum({for_window(errors, '5m')}) or on() vector(0)"},
        {"record": names.SLO_TOTAL_RATE5M, "expr": f"sum({for_window(total, '5m')})"},
        {"record": names.slo_error_ratio("5m"),
         "expr": f"{names.SLO_ERRORS_RATE5M}{sel} / {names.SLO_TOTAL_RATE5M}{sel}"},
    ]
    for window in SHORT_WINDOWS:
        rules.append({"record": names.slo_error_ratio(window),
                      "expr": f"(sum({for_window(errors, window)}) or on() vector(0)) / "
                              f"sum({for_window(total, window)})"})
    for window in names.SLO_LONG_WINDOWS:
        rules.append({"record": names.slo_error_ratio(window), "expr": _long_ratio(sel, window)})
    rules.append({"record": names.SLO_ERROR_RATIO_PERIOD, "expr": _long_ratio(sel, slo.window)})
    return [dict(rule, labels=dict(labels)) for rule in rules]
