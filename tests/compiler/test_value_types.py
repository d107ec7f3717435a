"""String values stay strings all the way to the API server, even ones Go YAML readers would retype."""
from __future__ import annotations

from pathlib import Path

import yaml

from compiler.api import compile_specs
from tests.tools import require_tool, run_tool

TRICKY = ["y", "n", "Y", "N", "yes", "off", "true", "~", "null", "", "1e3", "1E-5", "+1e3", "0o17", "0x1F", "0b101",
          "1_000", ".5", "5.", "+1", "-0", "012", "1:20", "2024-01-31", ".inf", ".NaN", "0.0.1", "1e3x"]


def test_string_env_values_survive_kubectl_kustomize(tmp_path: Path):
    kubectl = require_tool("kubectl")
    env = "".join(f"    VALUE_{i}: {yaml.safe_dump(v, default_style=chr(34)).strip()}\n" for i, v in enumerate(TRICKY))
    spec = tmp_path / "specs" / "svc" / "platform.yaml"
    spec.parent.mkdir(parents=True)
    spec.write_text("apiVersion: platform/v1\nkind: Service\nmetadata:\n  name: svc\n  team: payments\nspec:\n"
                    "  image: ghcr.io/acme/svc:1.0.0\n  port: 8080\n  env:\n" + env, encoding="utf-8")
    compile_specs(tmp_path / "specs", tmp_path / "generated")

    result = run_tool([kubectl, "kustomize", str(tmp_path / "generated" / "services" / "svc" / "overlays" / "dev")])
    assert result.returncode == 0, result.stderr
    deployment = next(d for d in yaml.safe_load_all(result.stdout) if d and d["kind"] == "Deployment")
    values = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert {f"VALUE_{i}": v for i, v in enumerate(TRICKY)}.items() <= values.items()
