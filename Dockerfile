# The openslots server. Installs openslots with deploy/install.sh, the script CI runs before it
# exercises docker-compose.yml's commands (tests/test_deployment.py); runs as an unprivileged
# user, and keeps its default SQLite database in /data (mount a volume there, or set
# OPENSLOTS_DATABASE_URL=postgresql://... to share PostgreSQL between containers; see
# docker-compose.yml for one API and one worker process).
#   docker build -t openslots .
#   docker run -p 8080:8080 -v openslots-data:/data openslots              # the server
#   docker run -p 8080:8080 openslots serve --host 0.0.0.0 --demo          # with the demo
#   docker run -v openslots-data:/data openslots orgs create "Acme"        # any other command
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
COPY connectors ./connectors
COPY examples ./examples
COPY deploy/install.sh ./deploy/install.sh
RUN sh deploy/install.sh . \
    && useradd --create-home --uid 10001 openslots \
    && mkdir /data && chown openslots /data
USER openslots
# The default database.url (sqlite:///openslots.db) is read from the working directory.
WORKDIR /data
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]

ENTRYPOINT ["openslots"]
# Migrates the database, then serves the API and a sync worker on every interface of the
# container (one process; `api` and `worker` split them, as docker-compose.yml does).
CMD ["serve", "--host", "0.0.0.0"]
