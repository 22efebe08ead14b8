"""Reading Ollama's model list and choosing a default chat model from it."""

from __future__ import annotations

from urllib.parse import urlsplit

import msgspec

from llm_worker.backends.base import ModelInfo

DEFAULT_PORT = 11434

# Families known to follow our JSON command language well at small sizes, best first.
# Matched against the model's base name (namespace and tag stripped), so "llama3.2:3b" and
# "library/llama3.2:latest" both count as llama3.2.
PREFERRED = ("llama3.2", "qwen3", "qwen2.5", "gemma3", "llama3.1", "mistral", "phi4", "phi3", "gemma2", "llama3")

# On-disk size that still runs at conversational speed on a typical laptop (an 8B model at
# Q4 is ~4.9 GB). Under this budget we take the largest model (better at following the
# command language); if nothing fits we take the smallest, because a reply that never
# comes out of swap is worse than a plain one. LLM_MODEL overrides all of this.
LAPTOP_BUDGET_BYTES = 6 * 1024**3

EMBEDDING_FAMILIES = frozenset({"bert", "nomic-bert"})


class _Details(msgspec.Struct):
    family: str = ""
    families: list[str] | None = None


class TagEntry(msgspec.Struct):
    name: str = ""
    model: str = ""
    size: int = 0
    details: _Details | None = None
    capabilities: list[str] | None = None  # absent before Ollama 0.9.1


class _Tags(msgspec.Struct):
    models: list[TagEntry] | None = None


_tags_decoder = msgspec.json.Decoder(_Tags)


def parse_tags(body: bytes) -> list[TagEntry]:
    return [m for m in (_tags_decoder.decode(body).models or []) if m.name or m.model]


def normalize_host(host: str) -> str:
    """Accept OLLAMA_HOST the way the ollama CLI does: bare host, host:port, or a URL."""
    host = (host or "").strip() or f"127.0.0.1:{DEFAULT_PORT}"
    bare = "://" not in host  # like the CLI: a bare host gets Ollama's port, a URL its scheme's
    if bare:
        host = "http://" + host
    parts = urlsplit(host)
    hostname = parts.hostname or "127.0.0.1"
    if hostname in ("0.0.0.0", "::"):
        hostname = "127.0.0.1"  # a listen-on-all address is not something to connect to
    if ":" in hostname:
        hostname = f"[{hostname}]"
    port = parts.port or (DEFAULT_PORT if bare else None)
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{hostname}{f':{port}' if port else ''}{path}"


def full_name(name: str) -> str:
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


def base_name(name: str) -> str:
    return name.rsplit("/", 1)[-1].split(":", 1)[0]


def inferred_capabilities(entry: TagEntry) -> tuple[str, ...]:
    """The server's capabilities, or a guess from name and family on servers that predate them."""
    if entry.capabilities is not None:
        return tuple(entry.capabilities)
    details = entry.details or _Details()
    families = {details.family, *(details.families or [])}
    if "embed" in (entry.name or entry.model).lower() or families & EMBEDDING_FAMILIES:
        return ("embedding",)
    return ("completion",)


def to_info(entry: TagEntry) -> ModelInfo:
    return ModelInfo(name=entry.name or entry.model, size=entry.size, capabilities=inferred_capabilities(entry))


def is_chat_model(info: ModelInfo) -> bool:
    return "completion" in info.capabilities


def find(models: list[ModelInfo] | tuple[ModelInfo, ...], name: str) -> ModelInfo | None:
    wanted = full_name(name)
    return next((m for m in models if full_name(m.name) == wanted), None)


def pick_chat_model(models: list[ModelInfo] | tuple[ModelInfo, ...]) -> str:
    """The default chat model: preferred family first, then size as explained above; never an embedder."""
    def rank(m: ModelInfo) -> tuple[int, int, int, str]:
        base = base_name(m.name)
        pref = next((i for i, p in enumerate(PREFERRED) if base == p), len(PREFERRED))
        fits = 0 < m.size <= LAPTOP_BUDGET_BYTES
        return (pref, 0 if fits else 1, -m.size if fits else m.size, m.name)

    chat = [m for m in models if is_chat_model(m)]
    return min(chat, key=rank).name if chat else ""
