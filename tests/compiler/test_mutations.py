"""Mutated example specs never crash the compiler: every failure is a PlatformError (a SpecError with positions).

Hypothesis takes the repository's example specs and breaks them at the data level (delete, replace, rename,
add keys; odd values) and at the text level (cut, duplicate, re-indent, insert YAML punctuation), then runs
the whole validate + compile path (`compile_specs`, in check mode so nothing is written).
"""
from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.api import compile_specs
from compiler.cache import CACHE_DIR
from compiler.errors import PlatformError, SpecError
from tests.tools import REPO

# Read once: hypothesis replays draws, so the inputs must not change while it runs.
EXAMPLES = {p.parent.name: p.read_bytes() for p in sorted((REPO / "specs").glob("*/platform.yaml"))}
BESIDE = {  # files a spec refers to (prompts, ...), copied along with it
    name: {f.relative_to(REPO / "specs" / name).as_posix(): f.read_bytes()
           for f in sorted((REPO / "specs" / name).rglob("*")) if f.is_file() and f.name != "platform.yaml"}
    for name in EXAMPLES
}
CONFIG = (REPO / "specs" / "platform-config.yaml").read_bytes()

ODD_VALUES = st.sampled_from([
    "", " ", "x" * 300, "../escape", "a/b", "ÜNÏCÖDE", "a b", "-leading", "UPPER", "on", "null", "~", "0",
    "/healthz", "healthz", "250m", "1Gi", "10x", "CKV_K8S_1", "CKV_K8S_", "ghcr.io/acme/x:latest",
    "ghcr.io/acme/x", "ghcr.io/acme/x:1.0", "sk-0123456789abcdefghijKLMN", "2024-01-31", "dev", "prod", "qa",
    -1, 0, 1, 2, 3, 65535, 65536, 10**9, 10**30, 0.5, -0.0, 1e308, True, False, None,
    [], {}, ["a"], [1, 2], {"a": 1}, {"minReplicas": 5, "maxReplicas": 2}, {"replicas": 0},
    {"secret": "db", "key": "password"}, {"dev": {"replicas": 1}}, {"qa": {}}, [{"check": "CKV_K8S_1"}],
])
TOKENS = st.sampled_from([
    ":", ": ", "- ", "-", "  ", "\t", "\n", "{", "}", "[", "]", ",", "'", '"', "#", "&a ", "*a", "<<: ", "!!str ",
    "!!python/none ", "---\n", "? ", "|\n", ">\n", "%", "@", "`", "\\", "on", "yes", "null", "~", "0x1F", "1e3",
    "\u00e9", "\ufeff", "\x00",
])


def _locations(value: Any, loc: tuple = ()) -> list[tuple]:
    found = [loc]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _locations(item, loc + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _locations(item, loc + (index,))
    return found


def _parent_and_key(data: Any, loc: tuple) -> tuple[Any, Any]:
    parent = data
    for part in loc[:-1]:
        parent = parent[part]
    return parent, loc[-1]


def _tweak(value: Any, draw) -> Any:
    """A nearby value of the same kind, which often keeps the spec valid and so reaches the emitters."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return draw(st.integers(max(value - 3, -1), value + 3))
    if isinstance(value, float):
        return draw(st.sampled_from([value / 2, value * 2, round(value, 1), 0.0, 1.0]))
    if isinstance(value, str):
        return draw(st.sampled_from([value + "-x", value.upper(), value[:-1], value + value, value.strip("/")]))
    if isinstance(value, list):
        return value + value[:1] if draw(st.booleans()) else value[1:]
    if isinstance(value, dict):
        return {k: v for i, (k, v) in enumerate(value.items()) if i % 2 == 0}
    return value


def _mutate_data(data: dict, draw) -> dict:
    for _ in range(draw(st.integers(1, 2))):
        locations = [loc for loc in _locations(data) if loc]
        if not locations:
            break
        loc = draw(st.sampled_from(locations))
        parent, key = _parent_and_key(data, loc)
        action = draw(st.sampled_from(["tweak", "tweak", "delete", "replace", "rename", "add", "nest"]))
        odd = copy.deepcopy(draw(ODD_VALUES))  # the samples are shared objects; later mutations may edit them
        if action == "tweak":
            parent[key] = _tweak(parent[key], draw)
        elif action == "delete":
            del parent[key]
        elif action == "replace":
            parent[key] = odd
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(st.sampled_from([key[:-1] or "x", key + "s", key.upper(), key + " ", "environments"]))] = \
                parent.pop(key)
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "replica", "env", "image", "scaling", "ports"]))] = odd
        elif action == "nest":
            parent[key] = {"value": parent[key]}
    return data


def _mutate_text(text: str, draw) -> str:
    for _ in range(draw(st.integers(1, 4))):
        lines = text.split("\n")
        action = draw(st.sampled_from(["insert", "cut", "duplicate", "indent", "swap"]))
        at = draw(st.integers(0, max(len(lines) - 1, 0)))
        if action == "insert":
            pos = draw(st.integers(0, len(text)))
            text = text[:pos] + draw(TOKENS) + text[pos:]
            continue
        if action == "cut":
            pos = draw(st.integers(0, len(text)))
            text = text[:pos] + text[pos + draw(st.integers(1, 40)):]
            continue
        if action == "duplicate":
            lines.insert(at, lines[at])
        elif action == "indent":
            lines[at] = draw(st.sampled_from(["", " ", "    ", "\t"])) + lines[at].lstrip(" ")
        elif action == "swap" and len(lines) > 1:
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
        text = "\n".join(lines)
    return text


def _write_service(specs: Path, service: str, spec_bytes: bytes) -> None:
    for rel, content in BESIDE[service].items():
        (specs / service / rel).parent.mkdir(parents=True, exist_ok=True)
        (specs / service / rel).write_bytes(content)
    (specs / service).mkdir(parents=True, exist_ok=True)
    (specs / service / "platform.yaml").write_bytes(spec_bytes)


def _compile(service: str, spec_bytes: bytes, config_bytes: bytes) -> None:
    """The whole path on one mutated spec; only a PlatformError may come out, and a SpecError has positions."""
    with tempfile.TemporaryDirectory() as tmp:
        specs = Path(tmp) / "specs"
        _write_service(specs, service, spec_bytes)
        (specs / "platform-config.yaml").write_bytes(config_bytes)
        try:
            compile_specs(specs, Path(tmp) / "generated", check=True)
        except SpecError as error:
            assert error.diagnostics
            for diagnostic in error.diagnostics:
                assert diagnostic.line >= 1 and diagnostic.col >= 1 and diagnostic.message
                assert diagnostic.path.endswith((".yaml", "--env")), diagnostic
        except PlatformError as error:
            assert error.lines() and all(error.lines())


def test_there_are_examples_to_mutate():
    assert len(EXAMPLES) >= 3


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_data_mutations_of_the_examples_never_crash(data):
    service = data.draw(st.sampled_from(sorted(EXAMPLES)))
    mutated = _mutate_data(yaml.safe_load(EXAMPLES[service]), data.draw)
    text = yaml.safe_dump(mutated, allow_unicode=True, sort_keys=False)
    _compile(service, text.encode(), CONFIG)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_text_mutations_of_the_examples_never_crash(data):
    service = data.draw(st.sampled_from(sorted(EXAMPLES)))
    text = _mutate_text(EXAMPLES[service].decode("utf-8"), data.draw)
    _compile(service, text.encode("utf-8", errors="surrogatepass"), CONFIG)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_config_mutations_never_crash(data):
    config = _mutate_data(yaml.safe_load(CONFIG), data.draw)
    service = "checkout"
    _compile(service, EXAMPLES[service], yaml.safe_dump(config, sort_keys=False).encode())


@pytest.mark.parametrize("service", sorted(EXAMPLES))
def test_the_unmutated_examples_compile(service: str, tmp_path: Path):
    """The starting points are valid, so the mutations explore the neighbourhood of working specs."""
    specs = tmp_path / "specs"
    _write_service(specs, service, EXAMPLES[service])
    (specs / "platform-config.yaml").write_bytes(CONFIG)
    result = compile_specs(specs, tmp_path / "generated", check=True)
    assert [s.name for s in result.project.services] == [service]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_damaged_build_cache_never_crashes_a_compile(data):
    """The cache beside the output is local state a crash or a person can damage; a compile must shrug it off."""
    with tempfile.TemporaryDirectory() as tmp:
        specs, out = Path(tmp) / "specs", Path(tmp) / "generated"
        _write_service(specs, "checkout", EXAMPLES["checkout"])
        (specs / "platform-config.yaml").write_bytes(CONFIG)
        compile_specs(specs, out)
        cache_file = Path(tmp) / CACHE_DIR / "generated.json"
        cache = json.loads(cache_file.read_text(encoding="utf-8"))
        damaged = data.draw(st.sampled_from(["data", "text", "junk"]))
        if damaged == "junk":
            cache["services"] = data.draw(st.sampled_from([[], "x", None, {"specs/checkout": []}]))
            cache_file.write_text(json.dumps(data.draw(st.sampled_from([cache, [], "x", None, 1]))), encoding="utf-8")
        elif damaged == "data":
            cache_file.write_text(json.dumps(_mutate_data(cache, data.draw)), encoding="utf-8")
        else:
            cache_file.write_text(_mutate_text(json.dumps(cache, indent=1), data.draw), encoding="utf-8")
        compile_specs(specs, out)
        assert compile_specs(specs, out, check=True, use_cache=False).changes.added == []
