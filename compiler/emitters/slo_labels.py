"""The label set every SLO series and alert carries, and the selector that picks one SLO's series."""
from __future__ import annotations

from .. import conventions as names
from ..plan import Target
from ..spec.slo import SLO


def series_labels(t: Target, slo: SLO) -> dict[str, str]:
    assert t.env is not None, "SLO rules are compiled per environment"
    return {names.SLO_LABEL_SERVICE: t.name, names.SLO_LABEL_SLO: slo.name, names.SLO_LABEL_TEAM: t.namespace,
            names.SLO_LABEL_ENV: t.env.name}


def selector(t: Target, slo: SLO) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in series_labels(t, slo).items()) + "}"
