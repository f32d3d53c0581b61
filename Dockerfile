# The ALVH daemon's image: a wheel built in one stage, installed into a slim runtime in the
# next, run as an unprivileged user. Nothing deployment-specific is inside: the config
# (config/default.yaml, events.yaml) and the journal are volumes, credentials belong to the
# IB Gateway container (deploy/docker-compose.yml), never to this one.
#
#   docker build -t alvh .
#   docker run --rm -v "$PWD/config:/opt/alvh/config:ro" alvh check-config
#
# Stage 1: the project's wheel and the wheels of everything it needs (with the IB client),
# installed from those files alone (--no-index) into a virtual environment.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY daemon ./daemon
# The wheels are built here, then installed from local files only: the version installed
# is the one just built. hadolint's DL3013 (pin versions) cannot apply to that.
# hadolint ignore=DL3013
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[ib]" \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --no-index --find-links=/wheels "alvh-daemon[ib]"

# Stage 2: the runtime: the same slim Python, the environment copied in one layer. No
# compiler, no source tree, no wheels, no pip cache. (Copying the installed environment
# rather than bind-mounting the wheels into a `pip install` works the same with Docker
# BuildKit and Podman/Buildah, whose cache loses a bind mount from a cached stage.)
FROM python:3.11-slim
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    # Serve /healthz and /metrics on the container's interface so the port can be
    # published (compose publishes it on the host's 127.0.0.1 only) and HEALTHCHECK reaches it.
    ALVH_HTTP_HOST=0.0.0.0 \
    ALVH_HTTP_ALLOW_NON_LOOPBACK=true \
    ALVH_HTTP_PORT=9321
RUN groupadd --system --gid 10001 alvh \
    && useradd --system --uid 10001 --gid 10001 --home-dir /opt/alvh --no-create-home alvh \
    && mkdir -p /opt/alvh/config /opt/alvh/var \
    && chown alvh:alvh /opt/alvh/var
WORKDIR /opt/alvh
USER 10001:10001
# config/: default.yaml and events.yaml, mounted read-only. var/: the SQLite journal and
# the kill-switch file (var/KILL); relative paths in the config resolve against /opt/alvh.
VOLUME ["/opt/alvh/var"]
EXPOSE 9321
# Healthy = the daemon's own /healthz answers 200 (scheduler alive, broker connected or
# reconnecting within its allowance, cycles on time during a session). urllib raises on
# 503 or no answer, so the exit code is the verdict; no curl needed in the image.
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('ALVH_HTTP_PORT', '9321') + '/healthz', timeout=8)"]
# SIGTERM: the running cycle finishes (up to schedule.cycle_timeout_s = 120 s), then a
# clean exit; give the container more than that (compose: stop_grace_period: 3m).
STOPSIGNAL SIGTERM
ENTRYPOINT ["alvh"]
CMD ["run", "--config", "config/default.yaml"]
