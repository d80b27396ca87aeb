# Tally's production image: daphne serves HTTP and WebSocket on port 8000; the same image
# runs the Celery worker and beat (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1

WORKDIR /app

# The result card's font: DejaVu covers Latin, Greek, Cyrillic, Hebrew and Arabic.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

# torch first and pinned, so that sentence-transformers does not pull another release.
RUN pip install torch==2.13.0

# The project's dependencies, read from pyproject.toml, in their own layer: code changes
# do not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .

# Static files are collected at build time; a dummy key is enough, the real one comes at run.
RUN DJANGO_SETTINGS_MODULE=config.settings.production \
    SECRET_KEY=collectstatic-only-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz \
    ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --noinput

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin tally \
    && mkdir -p /var/lib/tally-beat \
    && chown -R tally:tally /app/staticfiles /var/lib/tally-beat
USER tally

ENV DJANGO_SETTINGS_MODULE=config.settings.production
EXPOSE 8000
# No --proxy-headers: daphne would believe any client's X-Forwarded-For. Tally reads that
# header itself, from TRUSTED_PROXIES only (core/security.py).
CMD ["daphne", "--bind", "0.0.0.0", "--port", "8000", "config.asgi:application"]
