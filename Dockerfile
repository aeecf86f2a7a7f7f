# Baton's webhook server. Build with `docker build -t baton .`; running it is described in
# docs/setup.md, "Running it in production".
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 baton \
    && useradd --system --uid 10001 --gid baton --home-dir /var/lib/baton --create-home baton

WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY app ./app
RUN pip install . && rm -rf /src

# The delivery store (baton.db) and the .env that one-click registration writes live here.
USER 10001:10001
WORKDIR /var/lib/baton
VOLUME ["/var/lib/baton"]

EXPOSE 3000
# /healthz answers 200 while the registration page waits and once Baton runs; 503 while the
# delivery store cannot be used, or once registered until Baton is restarted.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4)"]

ENTRYPOINT ["baton"]
CMD ["serve", "--host", "0.0.0.0", "--port", "3000"]
