"""The local engine's settings every process that meets it shares: which GGUF it serves, where it
listens, where a model is fetched from. The engine reads them to serve, the llm_worker to find it
(one rule for its URL: `LocalSettings.url`), `make model` to fetch."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
from pathlib import Path

from bus.settings import masked, var
from models.catalogue import fetched, model_path

ENGINE_HOST = "127.0.0.1"  # loopback only: the engine has no key of its own


@dataclasses.dataclass(frozen=True, repr=False)
class LocalSettings:
    model_path: Path | None = var("LLM_MODEL_PATH", None, doc_default="the fetched model")
    port: int = var("GHOSTWIRE_ENGINE_PORT", 18091)
    hub: str = var("GHOSTWIRE_MODEL_HUB", "https://huggingface.co")
    # Declared for the README's table; the rule that reads it is models.catalogue.cache_dir(), which
    # `python -m models` and the tests call without loading settings.
    cache: Path | None = var("GHOSTWIRE_CACHE_DIR", None,
                             doc_default="`$XDG_CACHE_HOME/ghostwire` or `~/.cache/ghostwire`")

    @property
    def url(self) -> str:
        """The engine's OpenAI-compatible base URL, as the llm_worker's local backend calls it."""
        return f"http://{ENGINE_HOST}:{self.port}/v1"

    def model_file(self) -> Path | None:
        """The GGUF the engine serves: LLM_MODEL_PATH, else the best fetched model, else none yet."""
        if self.model_path is not None:
            return self.model_path
        found = fetched()
        return model_path(found) if found else None

    __repr__ = masked


def engine_key(run_dir: Path) -> str:
    """The engine's API key, made once per run dir (private, like every file there) and read by the engine
    and the llm_worker: llama-server answers any web page's request (it allows every origin), so without
    a key any site open in this machine's browser could use the model and read its slots."""
    path = run_dir / "engine.key"
    if not path.exists():
        run_dir.mkdir(parents=True, exist_ok=True)
        mine = run_dir / f".engine.key.{os.getpid()}"
        mine.write_text(secrets.token_urlsafe(32))
        os.chmod(mine, 0o600)
        with contextlib.suppress(FileExistsError):
            os.link(mine, path)  # only the first one in wins; everyone then reads the same key
        mine.unlink()
    return path.read_text().strip()


def error_file(run_dir: Path) -> Path:
    """Where the engine leaves why it could not serve (absent while it serves), for the llm_worker's note."""
    return run_dir / "engine.error"
