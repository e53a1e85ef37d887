# The app's one image: daphne by default; docker-compose.yml runs the same image as the run
# worker, the one-shot migrate step and the simulator upstream. See docs/deploy.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings \
    STATIC_ROOT=/srv/static

WORKDIR /app

# The dependencies alone first, read from pyproject.toml: this layer is rebuilt when they
# change, not on every code change. (No compiler needed: psycopg comes as its binary wheel.)
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Then the project itself. Editable, so that its packages are imported from /app, next to the
# templates/, static/ and manage.py that settings.BASE_DIR points at.
COPY . .
RUN pip install --no-deps --editable .

# A user without a login or a home; it owns nothing in /app, so the code is read-only to the
# processes. /srv/static is its own: compose mounts a volume there that the migrate step
# refreshes (docker-compose.yml), and nginx serves it.
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin app \
    && mkdir -p /srv/static \
    && chown app:app /srv/static
USER app

# Collected at build time, so the image is complete without compose. The key only satisfies
# the settings (DEBUG=0 needs one); collectstatic signs nothing with it.
RUN DEBUG=0 SECRET_KEY=collectstatic-at-build-time-only python manage.py collectstatic --noinput

EXPOSE 8000
# --proxy-headers: the client address and scheme come from nginx's X-Forwarded-For and
# X-Forwarded-Proto; nothing but nginx reaches this port (docs/deploy.md).
CMD ["daphne", "--bind", "0.0.0.0", "--port", "8000", "--proxy-headers", "config.asgi:application"]
