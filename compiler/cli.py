"""`platformc`: a thin click CLI over the library. Errors map to exit codes here and only here.

Imports stay light: nothing here pulls in kubernetes, scikit-learn or fastapi.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

from .errors import PlatformError

SPECS = click.option("--specs", "specs", type=click.Path(path_type=Path, file_okay=False), default=Path("specs"),
                     show_default=True, help="Folder holding <service>/platform.yaml and platform-config.yaml.")


def _fail(error: PlatformError) -> None:
    for line in error.lines():
        click.echo(line, err=True)
    sys.exit(error.exit_code)


def _warn(warnings) -> None:
    for warning in warnings:
        click.echo(str(warning), err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="platformc")
def cli() -> None:
    """Compile platform.yaml specs into everything a GitOps cluster needs."""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, exists=True))
@SPECS
def validate(paths: tuple[Path, ...], specs: Path) -> None:
    """Check specs (all of them, or the given files/folders) without writing anything."""
    from .api import validate_paths
    project = validate_paths(list(paths), specs)
    _warn(project.warnings)
    click.echo(f"{len(project.services)} spec(s) valid")


@cli.command(name="compile")
@SPECS
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=Path("generated"),
              show_default=True, help="Output folder (committed for Flux).")
@click.option("--env", "envs", multiple=True, help="Only this environment (repeatable); others stay as they are.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 and list what would change if the output is stale.")
def compile_(specs: Path, out: Path, envs: tuple[str, ...], check: bool) -> None:
    """Validate the specs and write the generated tree atomically."""
    from .api import compile_specs
    from .errors import StaleOutputError
    result = compile_specs(specs, out, envs=list(envs) or None, check=check)
    _warn(result.warnings)
    changes = result.changes
    if check:
        if changes:
            raise StaleOutputError(result.report)
        click.echo(f"{out} is up to date ({len(result.project.services)} service(s))")
        return
    click.echo(f"compiled {len(result.project.services)} service(s) into {out}: {len(changes.added)} added, "
               f"{len(changes.changed)} changed, {len(changes.removed)} removed")


@cli.command()
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False),
              default=Path("schemas/platform.schema.json"), show_default=True)
@click.option("--check", is_flag=True, help="Exit 1 if the committed schema is stale.")
def schema(out: Path, check: bool) -> None:
    """Write the JSON Schema of platform.yaml (for editors and CI)."""
    from .errors import StaleOutputError
    from .schema import schema_bytes
    content = schema_bytes()
    if check:
        if not out.is_file() or out.read_bytes() != content:
            raise StaleOutputError([f"would change {out}"],
                                   f"{out} is stale: run `platformc schema` and commit the result")
        click.echo(f"{out} is up to date")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(content)
    click.echo(f"wrote {out}")


@cli.command()
@click.argument("name")
@click.option("--team", required=True, help="Owning team (becomes the namespace).")
@click.option("--image", default=None, help="Container image with a pinned tag or digest.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@SPECS
def init(name: str, team: str, image: str | None, port: int, specs: Path) -> None:
    """Scaffold specs/NAME/platform.yaml, a commented starting point."""
    from .scaffold import scaffold
    path = scaffold(specs, name, team, image, port)
    click.echo(f"wrote {path}; edit it, then run `platformc compile`")


@cli.command()
@click.option("--prometheus", "url", required=True, help="Base URL of the environment's Prometheus.")
@click.option("--service", default=None, help="Only this service.")
@click.option("--env", default=None, help="Only this environment (the `environment` label of the SLO series).")
def budget(url: str, service: str | None, env: str | None) -> None:
    """Print the error budget left per SLO; exit 1 when one is below freezeDeploysBelow (2: no answer)."""
    from .budget_gate import budget_table, gate, read_budgets
    budgets = read_budgets(url, service, env)
    for line in budget_table(budgets):
        click.echo(line)
    gate(budgets)


def main() -> None:
    try:
        returned = cli.main(standalone_mode=False)
    except PlatformError as error:
        _fail(error)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    sys.exit(returned if isinstance(returned, int) else 0)
