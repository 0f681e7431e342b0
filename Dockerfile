# The emulator image: the `linkup-emulator` console script, state on the /data volume, a health check.
# Build: docker build -t linkup-emulator .   Run: docker run -p 8000:8000 linkup-emulator
# Stage 1 builds the wheel (openapi.yaml and fixtures/ ride inside it) into a venv; stage 2 ships
# only that venv, so no compiler, pip cache or source tree ends up in the image.
FROM python:3.11-slim AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
WORKDIR /src
# What the wheel is built from; .dockerignore keeps everything else (tests, bench, .git) out.
COPY pyproject.toml README.md constraints.txt openapi.yaml ./
COPY fixtures/ fixtures/
COPY app/ app/
# Non-editable on purpose: the image must not depend on /src, which stage 2 leaves behind.
RUN /opt/venv/bin/pip install -c constraints.txt .


FROM python:3.11-slim

LABEL org.opencontainers.image.title="linkup-emulator" \
      org.opencontainers.image.description="Emulator of LinkupAPI's v2 POST /v2/network recommendations" \
      org.opencontainers.image.licenses="MIT"

# A fixed, unprivileged user (numeric in USER, so runtimes can verify it is not root); /data is
# created here so a fresh named volume inherits its owner.
RUN groupadd --system --gid 10001 emulator \
    && useradd --system --no-log-init --uid 10001 --gid emulator --no-create-home \
        --home-dir /data --shell /usr/sbin/nologin emulator \
    && mkdir /data \
    && chown emulator:emulator /data

COPY --from=builder /opt/venv /opt/venv

# Settings are the CLI's EMULATOR_* variables (README, "Configuration"); override any with `docker run -e`.
# Change the port through EMULATOR_PORT, not a --port flag, so the health check follows it.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    EMULATOR_HOST=0.0.0.0 \
    EMULATOR_PORT=8000 \
    EMULATOR_STATE=/data/state.sqlite3

VOLUME /data
WORKDIR /data
USER 10001:10001
EXPOSE 8000

# slim has no curl: python's urllib fails (exit 1) on a refused connection or a non-2xx answer.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('EMULATOR_PORT', '8000') + '/_emulator/health', timeout=2)"]

# The same console script users run; arguments after the image name become its flags.
ENTRYPOINT ["linkup-emulator"]
