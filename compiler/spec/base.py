"""Shared building blocks of the spec models: strict base class and validated scalar types."""
from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
CPU_QUANTITY = re.compile(r"^(\d+(\.\d+)?|\d+m)$")
MEMORY_QUANTITY = re.compile(r"^\d+(Ki|Mi|Gi|Ti|K|M|G|T)?$")
DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w))+$")
HTTP_PATH = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$")


class SpecValueError(ValueError):
    """A validator's complaint about one entry inside the value it checks, so the diagnostic points there.

    `at` is the path from the validated value down to the entry; `on_key` points at the entry's key
    (e.g. a bad name) instead of its value.
    """

    def __init__(self, message: str, at: tuple[str | int, ...] = (), *, on_key: bool = False):
        super().__init__(message)
        self.at = tuple(at)
        self.on_key = on_key


class SpecModel(BaseModel):
    """Every spec model: unknown fields are errors, values are immutable once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _dns_label(max_len: int):
    def check(value: str) -> str:
        if "/" in value or value in (".", ".."):
            raise ValueError(f"'{value}' is a path; a name is one lower-case word like 'checkout', "
                             "with no '/' or '..'")
        if len(value) > max_len:
            raise ValueError(f"'{value}' is {len(value)} characters; at most {max_len} are allowed")
        if not DNS_LABEL.match(value):
            raise ValueError(f"'{value}' is not a DNS label: use lower-case letters, digits and '-', "
                             "starting and ending with a letter or digit")
        return value
    return check


def _subdomain(value: str) -> str:
    if len(value) > 253 or not DNS_SUBDOMAIN.match(value):
        raise ValueError(f"'{value}' is not a valid Kubernetes object name (lower-case DNS subdomain)")
    return value


def _cpu(value: str | int | float) -> str:
    text = str(value)
    if not CPU_QUANTITY.match(text):
        raise ValueError(f"'{text}' is not a CPU quantity; write cores like '1' or '0.5', or millicores like '250m'")
    return text


def _memory(value: str | int) -> str:
    text = str(value)
    if not MEMORY_QUANTITY.match(text):
        raise ValueError(f"'{text}' is not a memory quantity; write e.g. '256Mi' or '1Gi'")
    return text


def _duration(value: str) -> str:
    if not DURATION.match(value):
        raise ValueError(f"'{value}' is not a duration; write e.g. '30s', '5m', '1h', '7d'")
    return value


def _http_path(value: str) -> str:
    if not HTTP_PATH.match(value):
        raise ValueError(f"'{value}' is not an HTTP path; it must start with '/', e.g. '/healthz'")
    return value


DnsLabel = Annotated[str, AfterValidator(_dns_label(63))]
ServiceName = Annotated[str, AfterValidator(_dns_label(40))]
ObjectName = Annotated[str, AfterValidator(_subdomain)]
CpuQuantity = Annotated[str | int | float, AfterValidator(_cpu)]
MemoryQuantity = Annotated[str | int, AfterValidator(_memory)]
Duration = Annotated[str, AfterValidator(_duration)]
HttpPath = Annotated[str, AfterValidator(_http_path)]

_MEMORY_FACTORS = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
                   "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
_DURATION_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def cpu_millis(quantity: str) -> int:
    return int(quantity[:-1]) if quantity.endswith("m") else round(float(quantity) * 1000)


def memory_bytes(quantity: str) -> int:
    match = re.match(r"^(\d+)([KMGT]i?)?$", quantity)
    assert match, quantity
    return int(match.group(1)) * _MEMORY_FACTORS[match.group(2) or ""]


def format_cpu(millis: int) -> str:
    return f"{millis // 1000}" if millis % 1000 == 0 else f"{millis}m"


def format_memory(nbytes: int) -> str:
    for suffix in ("Gi", "Mi", "Ki"):
        factor = _MEMORY_FACTORS[suffix]
        if nbytes % factor == 0:
            return f"{nbytes // factor}{suffix}"
    return str(nbytes)


def duration_seconds(value: str) -> float:
    return sum(int(n) * _DURATION_SECONDS[u] for n, u in re.findall(r"(\d+)(ms|s|m|h|d|w)", value))


class SecretRef(SpecModel):
    """A key of a Kubernetes Secret, by reference: specs never hold secret values."""

    secret: ObjectName = Field(description="Name of the Kubernetes Secret (in the namespace that uses it).")
    key: Annotated[str, Field(min_length=1, max_length=253, pattern=r"^[-._a-zA-Z0-9]+$")]
