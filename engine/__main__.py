"""engine: serve a GGUF with llama.cpp's own server (OpenAI-compatible) on loopback until stopped.

The llm_worker talks to it like any OpenAI-compatible server, so a crash here is a model outage the
page shows, and supervisord restarts it. The llm_worker asks supervisord to start it when it picks the
local backend (supervisord.conf: autostart=false); a reason it cannot serve is logged and left in the
run dir's engine.error for the llm_worker's note, and it exits non-zero (supervisord gives up after a
few tries: the file won't change by retrying).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path

import xllamacpp as xlc

from bus import settings
from bus.runtime import setup_logging
from engine import checks
from engine.settings import EngineSettings
from models.local import ENGINE_HOST, engine_key, error_file

log = logging.getLogger("engine")


def params(cfg: EngineSettings, path: Path) -> xlc.CommonParams:
    p = xlc.CommonParams()
    p.model.path = str(path)
    p.n_ctx = cfg.num_ctx * cfg.slots  # llama.cpp splits the context across its slots
    p.n_parallel = cfg.slots
    p.cpuparams.n_threads = cfg.n_threads
    p.cpuparams_batch.n_threads = cfg.n_threads
    p.use_jinja = True  # the GGUF's own chat template
    p.hostnames = [ENGINE_HOST]
    p.port = cfg.local.port
    p.endpoint_slots = True
    p.endpoint_props = True
    p.api_keys = [engine_key(cfg.common.run_dir)]  # /health stays open; everything else needs it
    return p


def serve(cfg: EngineSettings) -> xlc.Server:
    path = checks.model_file(cfg.local.model_file())
    checks.fits(path)
    checks.port_free(ENGINE_HOST, cfg.local.port)
    log.info("loading %s (%d threads, %d slot(s), context %d)", path, cfg.n_threads, cfg.slots, cfg.num_ctx)
    try:
        return xlc.Server(params(cfg, path))
    except RuntimeError:
        raise checks.CannotServe(
            f"llama.cpp could not load {path.name}: the file may be damaged or incomplete, made for a newer "
            "llama.cpp, or too big for the memory left (its log lines say more).") from None


def main() -> None:
    cfg = settings.load(EngineSettings)
    setup_logging("engine")
    failed = error_file(cfg.common.run_dir)
    try:
        server = serve(cfg)
    except checks.CannotServe as err:
        log.error("%s", err.message)
        failed.parent.mkdir(parents=True, exist_ok=True)
        failed.write_text(err.message + "\n")
        sys.exit(2)
    failed.unlink(missing_ok=True)
    log.info("serving on %s", server.listening_address)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})  # the server runs in its own threads
    # Nothing to save (the prompt cache is memory), and xllamacpp's server can hang in its destructor
    # waiting for a thread (seen: 10 s until SIGKILL), so a stop is an immediate exit.
    log.info("stopping")
    logging.shutdown()
    os._exit(0)


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    main()
