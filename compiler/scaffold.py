"""`platformc init`: a commented starting spec, rendered from a Jinja2 template (text is the product here)."""
from __future__ import annotations

from pathlib import Path

from .errors import Diagnostic, OutputError, SpecError
from .loader import parse_yaml
from .spec.base import DNS_LABEL

TEMPLATE = Path(__file__).parent / "templates" / "platform.yaml.j2"


def scaffold(specs: Path, name: str, team: str, image: str | None, port: int) -> Path:
    import jinja2

    for label, value in (("NAME", name), ("--team", team)):
        if not DNS_LABEL.match(value) or len(value) > (40 if label == "NAME" else 63):
            raise SpecError([Diagnostic(label, 1, 1, f"'{value}' is not a DNS label; use lower-case letters, "
                                                      "digits and '-'")])
    target = specs / name / "platform.yaml"
    if target.exists():
        raise OutputError(f"{target} already exists; edit it instead")
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    text = env.from_string(TEMPLATE.read_text(encoding="utf-8")).render(
        name=name, team=team, image=image or f"ghcr.io/{team}/{name}:0.1.0", port=port)
    parse_yaml(text, str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target
