# pcmt-bot: one image for every deployment; settings come from PCMT_* variables.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PCMT_DATA_DIR=/data \
    PCMT_DATABASE_URL=sqlite+aiosqlite:////data/pcmt.db \
    PCMT_WEB_PORT=8080

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY scheduler ./scheduler
COPY locales ./locales
RUN pip install -e . \
 && useradd --system --uid 10001 --home-dir /data pcmt \
 && mkdir -p /data && chown pcmt /data

USER pcmt
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4); sys.exit(0)"
ENTRYPOINT ["pcmt-bot"]
CMD ["run"]
