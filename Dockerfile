# One image for all three services; docker-compose.yml picks the module each container runs.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 fulfil \
    && useradd --system --uid 10001 --gid fulfil --no-create-home --home-dir /app --shell /usr/sbin/nologin fulfil

# The pinned dependencies first: this layer is rebuilt only when requirements.lock changes.
COPY requirements.lock /src/requirements.lock
RUN pip install -r /src/requirements.lock

# Then the project itself, installed (with its migrations) into site-packages; the sources are not kept.
COPY pyproject.toml /src/
COPY shared /src/shared
COPY services /src/services
COPY ops /src/ops
RUN pip install --no-deps /src && rm -rf /src

WORKDIR /app
USER fulfil:fulfil

# Compose sets the command per service; on its own the image runs the orders service.
CMD ["python", "-m", "services.orders"]
