# Paper Surfer as a container: `paper-surfer run` as a non-root user, state in the /data volume.
#
#   docker build -t paper-surfer .
#   docker run -d --name paper-surfer --env-file .env -e HEALTH_PORT=8080 -e BIND_ADDRESS=0.0.0.0 \
#       -v paper-surfer-data:/data -p 127.0.0.1:8080:8080 --stop-timeout 60 paper-surfer
#
# BASE is any Debian-like image: the official python:3.11-slim (or newer) has Python already; a
# plain Debian image (e.g. --build-arg BASE=debian:bookworm-slim) gets Debian's python3 (3.11 in
# bookworm) from apt in the first stage.
ARG BASE=python:3.11-slim

FROM ${BASE} AS python
RUN if ! command -v python3 > /dev/null; then \
        apt-get update \
        && apt-get install -y --no-install-recommends python3 python3-venv \
        && rm -rf /var/lib/apt/lists/*; \
    fi \
    && python3 -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Paper Surfer needs Python 3.11 or newer")'
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# The same path as the systemd unit's (deploy/paper-surfer.service), so one layout for both.
FROM python AS build
RUN python3 -m venv /opt/paper-surfer/.venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot bot
COPY handlers handlers
COPY storage storage
RUN /opt/paper-surfer/.venv/bin/pip install . \
    && /opt/paper-surfer/.venv/bin/paper-surfer --version

FROM python
RUN groupadd --system --gid 10001 paper-surfer \
    && useradd --system --uid 10001 --gid paper-surfer --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin paper-surfer \
    && mkdir /data \
    && chown paper-surfer:paper-surfer /data
COPY --from=build /opt/paper-surfer/.venv /opt/paper-surfer/.venv
# HEALTH_PORT turns on GET /healthz and /metrics; DATABASE_PATH and ALERTS_DIR keep all state in
# the volume. The working directory is /data too, so relative paths from a .env land there.
# BIND_ADDRESS: every interface of the container, or a published port (-p) would reach nothing;
# what the host exposes is chosen by -p (127.0.0.1:8080:8080 keeps it on the host).
ENV PATH=/opt/paper-surfer/.venv/bin:$PATH \
    DATABASE_PATH=/data/paper_surfer.db \
    ALERTS_DIR=/data/alerts \
    HEALTH_PORT=8080 \
    BIND_ADDRESS=0.0.0.0
WORKDIR /data
VOLUME /data
USER paper-surfer
EXPOSE 8080
# SIGTERM lets the current poll finish (up to 30 s): stop with a longer timeout (--stop-timeout,
# compose's stop_grace_period). A kill after that loses nothing; the poll is redone at start.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["/opt/paper-surfer/.venv/bin/python", "-m", "bot.healthcheck"]
ENTRYPOINT ["/opt/paper-surfer/.venv/bin/paper-surfer"]
CMD ["run"]
