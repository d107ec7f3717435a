"""Point every spec that runs a given image at a new tag and digest.

The main-branch workflow calls this after pushing the runtime image, then recompiles and commits, so
Flux rolls out exactly the bytes CI built and scanned. Only the `image:` lines are rewritten, so the
specs keep their comments and layout.

Usage: python .github/scripts/set_image_digest.py --image ghcr.io/acme/platform-runtime \
           --tag 0.1.0-3f2a1bc --digest sha256:<64 hex> [--specs specs]
Exit status: 0 when at least one spec references the image, 2 on bad input or when none does.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
REPOSITORY = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._/-][a-z0-9]+)*)+$")
IMAGE_LINE = re.compile(r"^(?P<lead>\s*image:\s*)(?P<quote>['\"]?)(?P<ref>[^\s'\"#]+)(?P=quote)(?P<tail>\s*(#.*)?)$")


class UsageError(Exception):
    """Bad arguments or a specs folder that cannot be updated."""


def repository_of(reference: str) -> str:
    """The image reference without its tag and digest (`host/path:tag@sha256:x` -> `host/path`)."""
    name = reference.split("@", 1)[0]
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > last_slash:
        name = name[:colon]
    return name.lower()


def rewrite(text: str, image: str, new_reference: str) -> tuple[str, int]:
    """The text with every `image:` line of `image` pointing at `new_reference`, and how many changed."""
    lines = text.splitlines(keepends=True)
    changed = 0
    for index, line in enumerate(lines):
        body = line.rstrip("\r\n")
        match = IMAGE_LINE.match(body)
        if not match or repository_of(match["ref"]) != image:
            continue
        updated = f"{match['lead']}{match['quote']}{new_reference}{match['quote']}{match['tail']}"
        if updated != body:
            lines[index] = updated + line[len(body):]
            changed += 1
    return "".join(lines), changed


def spec_files(specs: Path) -> list[Path]:
    if not specs.is_dir():
        raise UsageError(f"specs folder '{specs}' does not exist")
    return sorted(specs.glob("*/platform.yaml"))


def references(text: str, image: str) -> int:
    return sum(
        1
        for line in text.splitlines()
        if (match := IMAGE_LINE.match(line)) and repository_of(match["ref"]) == image
    )


def update_specs(specs: Path, image: str, tag: str, digest: str) -> list[Path]:
    """Rewrite the specs in place; returns the files that changed. Raises UsageError on bad input."""
    image = image.lower()
    if not REPOSITORY.match(image):
        raise UsageError(f"'{image}' is not an image repository such as ghcr.io/acme/platform-runtime (no tag, no digest)")
    if not TAG.match(tag):
        raise UsageError(f"'{tag}' is not a valid image tag")
    if not DIGEST.match(digest):
        raise UsageError(f"'{digest}' is not a digest of the form sha256:<64 lower-case hex digits>")
    new_reference = f"{image}:{tag}@{digest}"
    files = spec_files(specs)
    texts = {path: path.read_text(encoding="utf-8") for path in files}
    if not any(references(text, image) for text in texts.values()):
        raise UsageError(f"no spec under '{specs}' runs {image}; nothing to update (is the image name right?)")
    changed_files = []
    for path, text in texts.items():
        updated, changed = rewrite(text, image, new_reference)
        if changed:
            path.write_text(updated, encoding="utf-8")
            changed_files.append(path)
    return changed_files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", required=True, help="image repository, e.g. ghcr.io/acme/platform-runtime")
    parser.add_argument("--tag", required=True, help="tag kept next to the digest for humans")
    parser.add_argument("--digest", required=True, help="sha256:... digest the registry returned on push")
    parser.add_argument("--specs", type=Path, default=Path("specs"), help="folder holding <service>/platform.yaml")
    args = parser.parse_args(argv)
    try:
        changed = update_specs(args.specs, args.image, args.tag, args.digest)
    except UsageError as error:
        print(f"set_image_digest: {error}", file=sys.stderr)
        return 2
    for path in changed:
        print(f"updated {path}")
    if not changed:
        print("every spec already runs this digest")
    return 0


if __name__ == "__main__":
    sys.exit(main())
