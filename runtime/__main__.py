"""Command line: `python -m runtime aiops|llm [--host H] [--port P] [--config FILE] [--workers N]`."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROLES = ("aiops", "llm")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m runtime", description="Serve the AIOps or the LLM role.")
    parser.add_argument("role", choices=ROLES)
    parser.add_argument("--host", default=os.environ.get("RUNTIME_HOST", "0.0.0.0"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("RUNTIME_PORT", "8080")))
    parser.add_argument("--config", default=os.environ.get("RUNTIME_CONFIG"), help="YAML or JSON config file")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("RUNTIME_WORKERS", "1")),
                        help="worker processes; metrics are aggregated over them (multiprocess mode)")
    return parser.parse_args(argv)


def _prepare_multiprocess_dir(directory: str | None) -> None:
    """Create the metrics directory (it may be a fresh emptyDir) and drop files of an earlier run,
    which would otherwise be added to this run's counters."""
    if not directory:
        return
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    from runtime.config import ConfigError, load_config

    try:
        load_config(args.config)  # fail here, with one clear line, before any worker starts
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 2
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="runtime-prom-")
    _prepare_multiprocess_dir(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
    os.environ["RUNTIME_ROLE"] = args.role
    if args.config:
        os.environ["RUNTIME_CONFIG"] = str(args.config)

    import uvicorn

    from runtime.app import create_from_env

    try:
        # Built here even with several workers, so a bad token file or prompt file fails before binding.
        app = create_from_env()
    except (ConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    target = app if args.workers == 1 else "runtime.app:create_from_env"
    uvicorn.run(target, factory=args.workers > 1, host=args.host, port=args.port, workers=args.workers,
                log_config=None, access_log=False, proxy_headers=False, server_header=False,
                timeout_graceful_shutdown=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
