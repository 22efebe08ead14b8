"""The local engine's settings every process that meets it shares: which GGUF it serves, where it
listens, where a model is fetched from. The engine reads them to serve, the llm_worker to find it
(one rule for its URL: `LocalSettings.url`), `make model` to fetch."""

from __future__ import annotations

import dataclasses
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


def error_file(run_dir: Path) -> Path:
    """Where the engine leaves why it could not serve (absent while it serves), for the llm_worker's note."""
    return run_dir / "engine.error"
