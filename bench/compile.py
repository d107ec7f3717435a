"""Compile speed against a floor: `python bench/compile.py [--services N]`.

Generates N synthetic services (varied teams, scaling, overrides, secrets), then measures in one run:
- full_s: a compile of every spec into an empty output folder (load, validate, build, render, atomic write);
- nochange_s: the same compile again when nothing changed (nothing is written);
- floor_s: only serialising the very same documents with PyYAML's C dumper (no loading, no validation, no disk).
Ends with one JSON line of the figures. Target: ratio_to_floor = full_s / floor_s at most 2.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compiler.api import compile_specs  # noqa: E402
from compiler.build import build_tree  # noqa: E402
from compiler.project import load_project  # noqa: E402

SPEC = """\
apiVersion: platform/v1
kind: Service
metadata:
  name: {name}
  team: team-{team}
  tier: {tier}
spec:
  image: ghcr.io/acme/{name}:1.{i}.0
  port: {port}
  env:
    LOG_LEVEL: info
    FEATURE_FLAGS: "a,b,c"
  secretEnv:
    DB_PASSWORD: {{secret: {name}-db, key: password}}
  securityExceptions:
    - check: CKV_K8S_35
      reason: Synthetic service reads its password from the environment.
    - check: CKV_K8S_43
      reason: Synthetic images are pinned by tag in this benchmark.
  resources: {{cpu: {cpu}m, memory: {mem}Mi}}
{scaling}  environments:
    dev:
      replicas: 1
      env: {{LOG_LEVEL: debug}}
    prod:
      resources: {{cpu: {cpu2}m, memory: {mem2}Mi}}
"""


def write_specs(root: Path, count: int) -> Path:
    specs = root / "specs"
    for i in range(count):
        name = f"svc-{i:05d}"
        scaling = (f"  scaling: {{minReplicas: 2, maxReplicas: {4 + i % 20}, targetCPUUtilization: 70}}\n"
                   if i % 3 else "  replicas: 2\n")
        text = SPEC.format(name=name, team=i % 25, tier=("critical", "standard", "experimental")[i % 3],
                           i=i, port=8000 + i % 100, cpu=100 + i % 400, mem=128 + i % 512,
                           cpu2=200 + i % 400, mem2=256 + i % 512, scaling=scaling)
        (specs / name).mkdir(parents=True)
        (specs / name / "platform.yaml").write_text(text)
    return specs


def floor_seconds(specs: Path) -> float:
    """Serialise exactly the documents the compiler writes, with the C dumper, nothing else."""
    tree = build_tree(load_project(specs))
    docs = [f.doc for f in tree.values()]
    dumper = yaml.CSafeDumper
    start = time.perf_counter()
    for doc in docs:
        yaml.dump(doc, Dumper=dumper, sort_keys=True, default_flow_style=False, allow_unicode=True, width=120)
    return time.perf_counter() - start


def best_of(runs: int, fn) -> float:
    times = []
    for _ in range(runs):
        os.sync()  # start each run without the previous run's dirty pages still being written back
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3, help="repetitions; the best time of each is reported")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="platformc-bench-"))
    try:
        specs = write_specs(root, args.services)
        outs = iter(root / f"run-{i}" / "generated" for i in range(args.runs))

        def full() -> None:
            """A first compile: a fresh output folder and no cache, as on a clean clone."""
            compile_specs(specs, next(outs))

        full_s = best_of(args.runs, full)
        out = root / f"run-{args.runs - 1}" / "generated"
        nochange_s = best_of(args.runs, lambda: compile_specs(specs, out))
        floor_s = min(floor_seconds(specs) for _ in range(args.runs))
        files = sum(1 for p in out.rglob("*") if p.is_file())
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"{args.services} services, {files} files", file=sys.stderr)
    print(json.dumps({"services": args.services, "full_s": round(full_s, 3),
                      "per_service_ms": round(full_s * 1000 / args.services, 3),
                      "nochange_s": round(nochange_s, 3), "floor_s": round(floor_s, 3),
                      "ratio_to_floor": round(full_s / floor_s, 2)}))


if __name__ == "__main__":
    main()
