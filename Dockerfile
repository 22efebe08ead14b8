# syntax=docker/dockerfile:1
# Ghostwire in one image: broker, crud_worker, llm_worker and web run under supervisord in a
# single container, so the bus keeps using ipc:// sockets in GHOSTWIRE_RUN_DIR. With LLM_BACKEND=local
# (or auto and no Ollama) the engine runs here too, its model in the /models volume: fetched on first
# use (the page's button, `!pull local`), kept across containers.

# Front-end files are fetched at build time; npm ci refuses any tarball whose hash differs from
# package-lock.json, and --ignore-scripts keeps package install hooks from running.
FROM node:22.23.2-bookworm-slim AS assets
WORKDIR /assets
COPY web/assets/package.json web/assets/package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

FROM python:3.11.15-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /app

# The local engine's wheel (xllamacpp: llama.cpp prebuilt) links the system's OpenMP runtime, which the
# slim image lacks.
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/*

# Dependencies in their own layer (read from pyproject.toml), so a code change does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import sys, tomllib; sys.stdout.write('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

COPY bus ./bus
COPY commands ./commands
COPY models ./models
COPY engine ./engine
COPY broker ./broker
COPY crud_worker ./crud_worker
COPY llm_worker ./llm_worker
COPY web ./web
COPY supervisord.conf ./
# A plain (non-editable) install proves the package builds; at run time supervisord starts
# `python -m ...` with directory=/app, so the copies in /app are the ones imported, and
# web/static (not package data) is served from /app/web/static.
RUN pip install --no-deps . && rm -rf build ./*.egg-info
COPY --from=assets /assets/node_modules/htmx.org/dist/htmx.min.js \
                   /assets/node_modules/htmx-ext-sse/dist/sse.js \
                   /assets/node_modules/sortablejs/Sortable.min.js \
                   ./web/static/vendor/

# Code stays root-owned and read-only to the app; only the data and run dirs are its own.
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin ghostwire \
 && mkdir -p /data /run/ghostwire /models \
 && chown ghostwire:ghostwire /data /run/ghostwire /models \
 && chmod 0700 /data /run/ghostwire /models

# Inside a container the server must listen on all interfaces to be reachable at all.
# GHOSTWIRE_ALLOW_UNAUTHENTICATED=1 says "the port is published on the host's loopback only"
# (docker-compose.yml does exactly that); publish it anywhere else and set GHOSTWIRE_TOKEN.
# The run dir stays short: ipc:// socket paths are limited to 107 bytes.
ENV GHOSTWIRE_HOST=0.0.0.0 \
    GHOSTWIRE_PORT=5001 \
    GHOSTWIRE_ALLOW_UNAUTHENTICATED=1 \
    GHOSTWIRE_DATA_DIR=/data \
    GHOSTWIRE_RUN_DIR=/run/ghostwire \
    GHOSTWIRE_CACHE_DIR=/models
VOLUME /data /models
USER ghostwire
EXPOSE 5001

# Slim images have no curl. /health answers ok=true only when all four processes are heartbeating.
HEALTHCHECK --interval=30s --timeout=5s --start-period=40s --retries=3 \
    CMD ["python", "-c", "import json, os, sys, urllib.request as u; t = os.environ.get('GHOSTWIRE_TOKEN'); q = u.Request('http://127.0.0.1:%s/health' % os.environ.get('GHOSTWIRE_PORT', '5001'), headers={'Authorization': 'Bearer ' + t} if t else {}); sys.exit(0 if json.load(u.urlopen(q, timeout=4)).get('ok') else 1)"]

# Exec form: supervisord is PID 1, gets docker's SIGTERM and stops web, llm, crud, broker in turn.
CMD ["supervisord", "-c", "/app/supervisord.conf"]
