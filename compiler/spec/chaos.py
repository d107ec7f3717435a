"""Chaos experiments of a service (`spec.chaos`), compiled to Chaos Mesh Schedules."""
from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from .base import DnsLabel, Duration, SpecModel

ChaosAction = Literal["pod-kill", "pod-failure", "network-delay", "network-loss", "cpu-stress", "memory-stress"]
ChaosMode = Literal["one", "all", "fixed", "fixed-percent"]

CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")
CRON_NAMED = re.compile(r"^@(yearly|annually|monthly|weekly|daily|midnight|hourly|every \d+[smh])$")
PERCENT = re.compile(r"^(100|[1-9]?[0-9])(\.\d+)?$")
STRESS_SIZE = re.compile(r"^\d+(B|KB|MB|GB|%)$")
NETEM_DURATION = re.compile(r"^\d+(\.\d+)?(ns|us|ms|s)$")

ACTION_PARAMS: dict[str, dict[str, re.Pattern | type]] = {
    "pod-kill": {"gracePeriod": int},
    "pod-failure": {},
    "network-delay": {"latency": NETEM_DURATION, "jitter": NETEM_DURATION, "correlation": PERCENT},
    "network-loss": {"loss": PERCENT, "correlation": PERCENT},
    "cpu-stress": {"workers": int, "load": int},
    "memory-stress": {"workers": int, "size": STRESS_SIZE},
}
"""The parameters each action accepts: a regex for string values, `int` for whole numbers."""
REQUIRED_PARAMS = {"network-delay": ("latency",), "network-loss": ("loss",), "memory-stress": ("size",)}
PARAM_EXAMPLES = {"latency": "200ms", "jitter": "20ms", "correlation": "25", "loss": "10", "size": "256MB"}


def _cron(value: str) -> str:
    fields = value.split()
    if CRON_NAMED.match(value.strip()):
        return value
    if len(fields) != 5 or not all(CRON_FIELD.match(f) for f in fields):
        raise ValueError(f"'{value}' is not a cron schedule; write five fields, e.g. '0 10 * * 1-5' "
                         "(10:00 on weekdays)")
    return value


class ChaosExperiment(SpecModel):
    name: DnsLabel = Field(description="Unique per service; the Schedule is named <service>-<name>.")
    action: ChaosAction
    schedule: str = Field(description="Cron schedule (five fields) of each run.")
    duration: Duration = Field("60s", description="How long each run injects the fault (pod-kill kills once and "
                                                  "ignores it).")
    mode: ChaosMode = Field("one", description="Which of the service's pods: one, all, fixed (value pods) or "
                                               "fixed-percent (value percent).")
    value: str | None = Field(None, description="Pod count (fixed) or percentage (fixed-percent).")
    params: dict[str, str | int] = Field(default_factory=dict, description="Per action: pod-kill {gracePeriod}, "
                                         "network-delay {latency, jitter, correlation}, network-loss {loss, "
                                         "correlation}, cpu-stress {workers, load}, memory-stress {workers, size}.")
    environments: list[DnsLabel] | None = Field(None, description="Where it runs; by default every non-production "
                                                "environment (dev, staging). Production only when named here.")

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        return _cron(value)

    @model_validator(mode="after")
    def _mode_value_params(self) -> "ChaosExperiment":
        if self.mode in ("fixed", "fixed-percent"):
            if self.value is None:
                raise ValueError(f"mode {self.mode} needs a value: the number of pods (fixed) or a percentage "
                                 "(fixed-percent), e.g. value: '50'")
            if not self.value.isdigit() or (self.mode == "fixed-percent" and not 0 < int(self.value) <= 100):
                raise ValueError(f"value '{self.value}' is not valid for mode {self.mode}; write a whole number"
                                 + (" from 1 to 100" if self.mode == "fixed-percent" else ""))
        elif self.value is not None:
            raise ValueError(f"value is only used with mode fixed or fixed-percent; remove it for mode {self.mode}")
        allowed = ACTION_PARAMS[self.action]
        for name, given in self.params.items():
            if name not in allowed:
                listed = ", ".join(allowed) or "none"
                raise ValueError(f"{self.action} has no parameter '{name}'; allowed: {listed}")
            rule = allowed[name]
            if rule is int:
                if isinstance(given, bool) or not isinstance(given, int) or given < 0:
                    raise ValueError(f"params.{name} must be a whole number (got {given!r})")
            elif not rule.match(str(given)):
                raise ValueError(f"params.{name} '{given}' is not valid; write e.g. '{PARAM_EXAMPLES[name]}'")
        missing = [p for p in REQUIRED_PARAMS.get(self.action, ()) if p not in self.params]
        if missing:
            raise ValueError(f"{self.action} needs params.{missing[0]}, e.g. "
                             f"params: {{{missing[0]}: {PARAM_EXAMPLES[missing[0]]}}}")
        return self

    def runs_in(self, env: str, production: bool) -> bool:
        if self.environments is None:
            return not production
        return env in self.environments
