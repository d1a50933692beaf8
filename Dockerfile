# One image for web, worker and beat (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=shop.settings.production

# WeasyPrint (invoices) needs Pango; gettext compiles the interface translations.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core gettext \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY shop/ shop/
COPY catalog/ catalog/
COPY pricing/ pricing/
COPY shipping/ shipping/
COPY orders/ orders/
COPY payments/ payments/
COPY invoicing/ invoicing/
COPY templates/ templates/
COPY locale/ locale/
COPY manage.py ./
RUN pip install .

# Static files and messages are built into the image; the values below only
# satisfy production settings during the build.
RUN SECRET_KEY=build ALLOWED_HOSTS=build DATABASE_URL=postgres://build/build REDIS_URL=redis://build \
    sh -c "python manage.py compilemessages -v 0 && python manage.py collectstatic --noinput -v 0"

RUN useradd --system --uid 1000 --home /app kervan && mkdir -p /app/media && chown kervan /app/media
USER kervan

EXPOSE 8000
CMD ["gunicorn", "shop.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
