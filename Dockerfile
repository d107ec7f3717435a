# The platform runtime: one image, two roles (`aiops` or `llm`, the CMD).
#
# Base image: pinned to an exact Python/Debian tag. Pin it by digest as well when building for release
# (`docker buildx imagetools inspect docker.io/library/python:3.11.11-slim-bookworm` gives it; write
# `FROM docker.io/library/python:3.11.11-slim-bookworm@sha256:<digest>`): this Dockerfile was written
# where no registry other than PyPI/Debian/npm is reachable, so the digest could not be looked up.
#
# Runs as UID/GID 10001 with a read-only root filesystem; mount writable volumes (emptyDir or PVC) at
#   /var/lib/runtime   model registry, audit log, budgets ledger, scheduler lock (RUNTIME_STATE_DIR)
#   /tmp               Prometheus multiprocess files (PROMETHEUS_MULTIPROC_DIR) and scratch space
# Optional RAG model: build with --build-arg RUNTIME_EXTRAS=runtime,rag (adds torch's CPU build, taken from
# TORCH_INDEX first so pip never resolves the multi-GB CUDA build from PyPI; about 1.5 GB in all).

# The build stage is the full image of the same Python and Debian release: it has the C compiler for the
# /detect kernels (runtime/aiops/_kernels.c), and the runtime stage, without one, takes only the venv.
FROM docker.io/library/python:3.11.11-bookworm AS build
ARG RUNTIME_EXTRAS=runtime
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml setup.py ./
COPY runtime ./runtime
RUN python -m venv /opt/venv \
    && case ",${RUNTIME_EXTRAS}," in \
         *,rag,*) /opt/venv/bin/pip install --no-cache-dir --index-url "${TORCH_INDEX}" torch==2.13.0 ;; \
       esac \
    && /opt/venv/bin/pip install --no-cache-dir "./[${RUNTIME_EXTRAS}]" \
    && find /opt/venv -name '__pycache__' -type d -prune -exec rm -rf {} +

FROM docker.io/library/python:3.11.11-slim-bookworm
LABEL org.opencontainers.image.title="platform-runtime" \
      org.opencontainers.image.description="AIOps (train, detect, root cause, remediation) and LLM gateway"
RUN groupadd --system --gid 10001 runtime \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin runtime \
    && mkdir -p /var/lib/runtime \
    && chown 10001:10001 /var/lib/runtime
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    RUNTIME_STATE_DIR=/var/lib/runtime \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus-multiproc \
    RUNTIME_PORT=8080
WORKDIR /var/lib/runtime
USER 10001:10001
EXPOSE 8080
VOLUME ["/var/lib/runtime", "/tmp"]
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"]
ENTRYPOINT ["python", "-m", "runtime"]
CMD ["aiops"]
