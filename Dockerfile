# Installs openslots exactly as `make` does (pip install of this project into an environment).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
COPY connectors ./connectors
COPY examples ./examples
RUN python -m pip install --no-cache-dir . \
    && useradd --create-home --uid 10001 openslots
USER openslots

# Until the HTTP service exists, the image answers scenarios: docker run IMAGE slots FILE.json
ENTRYPOINT ["openslots"]
CMD ["slots", "--pretty", "examples/haircut.json"]
