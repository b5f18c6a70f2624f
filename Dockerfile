# ClinicPACS image for the scaled deployment (docker-compose.yml); the embedded mode needs only `make run`.
# HAProxy is in it too: the compose file's proxy service runs it with deploy/haproxy.cfg.
FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b fonts-dejavu-core make haproxy \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml requirements.lock requirements-pip.lock Makefile ./
RUN python -m venv .venv && make .venv/.installed
COPY . .
ENV PACS_DATA_DIR=/data
EXPOSE 8080 8443 11112 2762
CMD [".venv/bin/python", "main.py", "serve"]
