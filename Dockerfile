# Production image: gunicorn serves jdpop on :8000; the same image runs the Celery worker and
# beat (see docker-compose.yml). Settings come from the environment only (README, Production).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=jdpop.settings \
    DJANGO_STATIC_ROOT=/app/staticfiles \
    DJANGO_MEDIA_ROOT=/data/media \
    WEB_CONCURRENCY=3

# PYTHONPATH=/app: the source tree, with its templates, static files and translations, is what
# runs; `pip install .` below registers the project and pins its dependencies.

RUN groupadd --system --gid 10001 jdpop \
    && useradd --system --uid 10001 --gid jdpop --home-dir /app --no-create-home jdpop

WORKDIR /app

# Dependencies in their own layer, rebuilt only when pyproject.toml changes.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .
RUN pip install --no-deps . && rm -rf build *.egg-info

# Static files are collected (hashed and compressed by WhiteNoise) at build time. This secret
# key exists for this one step only; a running container must be given its own.
RUN DJANGO_SECRET_KEY=collectstatic-only-not-a-secret JDPOP_VAR_DIR=/tmp/jdpop-build \
        python manage.py collectstatic --noinput --verbosity 0 \
    && rm -rf /tmp/jdpop-build \
    && mkdir -p /data/media /app/var \
    && chown jdpop:jdpop /data/media /app/var

USER jdpop
EXPOSE 8000

# WEB_CONCURRENCY sets gunicorn's worker count.
CMD ["gunicorn", "jdpop.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
