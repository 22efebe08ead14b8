"""engine: serve a GGUF with llama.cpp's own server (OpenAI-compatible) on loopback until stopped.

The llm_worker talks to it like any OpenAI-compatible server, so a crash here is a model outage the
page shows, and supervisord restarts it.
"""

from __future__ import annotations

import logging
import signal
import sys

import xllamacpp as xlc

from bus import settings
from bus.runtime import setup_logging
from engine.settings import EngineSettings
from models.catalogue import fetched, model_path

log = logging.getLogger("engine")


def params(cfg: EngineSettings, path: str) -> xlc.CommonParams:
    p = xlc.CommonParams()
    p.model.path = path
    p.n_ctx = cfg.num_ctx * cfg.slots  # llama.cpp splits the context across its slots
    p.n_parallel = cfg.slots
    p.cpuparams.n_threads = cfg.n_threads
    p.cpuparams_batch.n_threads = cfg.n_threads
    p.use_jinja = True  # the GGUF's own chat template
    p.hostnames = ["127.0.0.1"]
    p.port = cfg.port
    p.endpoint_slots = True
    p.endpoint_props = True
    return p


def main() -> None:
    cfg = settings.load(EngineSettings)
    setup_logging("engine")
    model = cfg.model_path or (model_path(m) if (m := fetched()) else None)
    if model is None or not model.is_file():
        sys.exit(f"engine: no model file{f' at {model}' if model else ''}: run `make model`, or set LLM_MODEL_PATH")
    log.info("loading %s (%d threads, %d slot(s), context %d)", model, cfg.n_threads, cfg.slots, cfg.num_ctx)
    server = xlc.Server(params(cfg, str(model)))
    log.info("serving on %s", server.listening_address)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})  # the server runs in its own threads


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    main()
