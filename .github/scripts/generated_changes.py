"""Markdown summary of the files under generated/ that differ from a base commit.

The pull-request workflow compiles the PR's specs into the working tree, then posts this summary
as a comment, so reviewers see which Kubernetes objects the change will touch before Flux does.
Usage: python .github/scripts/generated_changes.py BASE_REF [--path generated] [--limit 200]
"""
from __future__ import annotations

import argparse
import subprocess
import sys

MARKER = "<!-- platformc:generated-changes -->"
STATUS_NAMES = {"A": "added", "M": "modified", "D": "deleted", "T": "type changed"}


def changed_files(base: str, path: str) -> list[tuple[str, str]]:
    """(status letter, file) pairs for the working tree against `base`, untracked files included."""
    diff = subprocess.run(
        ["git", "diff", "--name-status", "--no-renames", base, "--", path],
        capture_output=True, text=True, check=False,
    )
    if diff.returncode != 0:
        raise RuntimeError(diff.stderr.strip() or f"git diff against {base} failed")
    untracked = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard", "--", path],
        capture_output=True, text=True, check=True,
    )
    changes = [tuple(line.split("\t", 1)) for line in diff.stdout.splitlines() if "\t" in line]
    changes += [("A", name) for name in untracked.stdout.splitlines() if name]
    return sorted(set((status[0], name) for status, name in changes), key=lambda change: change[1])


def render(changes: list[tuple[str, str]], path: str, limit: int) -> str:
    """The comment body: counts per kind of change, then a table of files (at most `limit` rows)."""
    lines = [MARKER, f"### `{path}/` changes in this pull request", ""]
    if not changes:
        lines.append(f"No file under `{path}/` changes: the clusters will not see this pull request.")
        return "\n".join(lines) + "\n"
    counts = {}
    for status, _ in changes:
        counts[status] = counts.get(status, 0) + 1
    summary = ", ".join(f"{counts[key]} {STATUS_NAMES.get(key, key)}" for key in sorted(counts))
    lines += [f"{len(changes)} file(s): {summary}.", "", "| change | file |", "|---|---|"]
    for status, name in changes[:limit]:
        lines.append(f"| {STATUS_NAMES.get(status, status)} | `{name}` |")
    if len(changes) > limit:
        lines += ["", f"... and {len(changes) - limit} more (see the job log)."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="summarise changes under generated/ against a base commit")
    parser.add_argument("base", help="commit or ref to compare with, e.g. origin/main")
    parser.add_argument("--path", default="generated")
    parser.add_argument("--limit", type=int, default=200)
    args = parser.parse_args(argv)
    try:
        changes = changed_files(args.base, args.path)
    except (RuntimeError, subprocess.CalledProcessError, FileNotFoundError) as error:
        print(f"generated_changes: {error}", file=sys.stderr)
        return 2
    sys.stdout.write(render(changes, args.path.rstrip("/"), args.limit))
    return 0


if __name__ == "__main__":
    sys.exit(main())
