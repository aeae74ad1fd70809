# One image for every service of docker-compose.celery.yml: the API, the worker, Beat and Flower
# differ only in their command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATA_DIR=/data

WORKDIR /app

# Dependencies first, in their own layer: code changes do not reinstall them.
COPY pyproject.toml README.md* ./
RUN mkdir -p consultantos && touch consultantos/__init__.py \
    && pip install . \
    && pip uninstall --yes consultantos-jobs \
    && rm -rf consultantos build *.egg-info

COPY consultantos ./consultantos
COPY scripts ./scripts
RUN pip install --no-deps . && rm -rf build *.egg-info

# Not root: Celery warns against it, and nothing here needs it.
RUN useradd --create-home --uid 10001 consultantos \
    && mkdir -p /data /var/log/celery \
    && chown consultantos:consultantos /data /var/log/celery
USER consultantos

EXPOSE 8000 5555
CMD ["./scripts/start_celery_worker.sh"]
