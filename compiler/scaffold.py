"""`platformc init`: a commented starting spec, rendered from a Jinja2 template (text is the product here)."""
from __future__ import annotations

from pathlib import Path

from .errors import OutputError, PlatformError
from .loader import parse_yaml
from .spec.base import DNS_LABEL

TEMPLATE = Path(__file__).parent / "templates" / "platform.yaml.j2"


def scaffold(specs: Path, name: str, team: str, image: str | None, port: int) -> Path:
    import jinja2

    for label, value, longest in (("NAME", name, 40), ("--team", team, 63)):
        if not DNS_LABEL.match(value) or len(value) > longest:
            raise PlatformError(f"{label} '{value}' is not a DNS label: use at most {longest} lower-case letters, "
                                "digits and '-', starting and ending with a letter or digit (e.g. 'checkout')")
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
