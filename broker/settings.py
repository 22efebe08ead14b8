"""Configuration shared by every process: environment variables, with `.env` support.

Secrets (API keys, the web token) are read here and never printed: `Settings.__repr__`
masks them, and nothing else in the code formats a Settings field into a log line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from dotenv import load_dotenv

SECRET_FIELDS = {"openai_api_key", "anthropic_api_key", "token"}


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def _float(name: str, default: float) -> float:
    raw = _env(name)
    try:
        return float(raw) if raw else default
    except ValueError:
        raise SystemExit(f"{name} must be a number, got {raw!r}") from None


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    data_dir: Path
    run_dir: Path
    token: str
    llm_backend: str
    llm_model: str
    ollama_host: str
    openai_base_url: str
    openai_api_key: str
    anthropic_api_key: str
    anthropic_base_url: str
    native_tools: bool
    first_token_timeout: float
    inter_token_timeout: float
    demo_rate: float
    num_ctx: int
    persona: str
    curve_dir: Path | None = None
    curve_name: str = ""
    llm_slots: int = 4
    bus_events_in: str = field(default="")
    bus_events_out: str = field(default="")
    bus_jobs_in: str = field(default="")
    bus_jobs_out: str = field(default="")

    @property
    def db_path(self) -> Path:
        return self.data_dir / "ghostwire.db"

    def __repr__(self) -> str:
        shown = {f.name: ("***" if f.name in SECRET_FIELDS and getattr(self, f.name) else getattr(self, f.name))
                 for f in fields(self)}
        return f"Settings({shown})"


def load(env_file: str | None = ".env") -> Settings:
    if env_file and Path(env_file).is_file():
        load_dotenv(env_file, override=False)
    run_dir = Path(_env("GHOSTWIRE_RUN_DIR", "var/run")).absolute()
    data_dir = Path(_env("GHOSTWIRE_DATA_DIR", "var/data")).absolute()
    backend = _env("LLM_BACKEND", "auto").lower()
    if backend not in {"auto", "ollama", "openai", "anthropic", "demo"}:
        raise SystemExit(f"LLM_BACKEND must be auto, ollama, openai, anthropic or demo, got {backend!r}")

    def endpoint(var: str, name: str) -> str:
        return _env(var) or f"ipc://{run_dir / name}"

    return Settings(
        host=_env("GHOSTWIRE_HOST", "127.0.0.1"),
        port=int(_env("GHOSTWIRE_PORT", "5001")),
        data_dir=data_dir,
        run_dir=run_dir,
        token=_env("GHOSTWIRE_TOKEN"),
        llm_backend=backend,
        llm_model=_env("LLM_MODEL"),
        ollama_host=_env("OLLAMA_HOST", "http://127.0.0.1:11434").rstrip("/"),
        openai_base_url=_env("OPENAI_BASE_URL", "https://api.openai.com/v1").rstrip("/"),
        openai_api_key=_env("OPENAI_API_KEY"),
        anthropic_api_key=_env("ANTHROPIC_API_KEY"),
        anthropic_base_url=_env("ANTHROPIC_BASE_URL", "https://api.anthropic.com").rstrip("/"),
        native_tools=_env("LLM_NATIVE_TOOLS", "0").lower() in ("1", "true", "yes", "on"),
        first_token_timeout=_float("LLM_FIRST_TOKEN_TIMEOUT", 300.0),
        inter_token_timeout=_float("LLM_INTER_TOKEN_TIMEOUT", 60.0),
        demo_rate=_float("GHOSTWIRE_DEMO_RATE", 40.0),
        num_ctx=int(_env("LLM_NUM_CTX", "8192")),
        persona=_env("GHOSTWIRE_PERSONA"),
        curve_dir=Path(_env("GHOSTWIRE_CURVE_DIR")).absolute() if _env("GHOSTWIRE_CURVE_DIR") else None,
        curve_name=_env("GHOSTWIRE_CURVE_NAME", "client"),
        llm_slots=int(_env("GHOSTWIRE_LLM_SLOTS", "4")),
        bus_events_in=endpoint("GHOSTWIRE_BUS_EVENTS_IN", "events-in.sock"),
        bus_events_out=endpoint("GHOSTWIRE_BUS_EVENTS_OUT", "events-out.sock"),
        bus_jobs_in=endpoint("GHOSTWIRE_BUS_JOBS_IN", "jobs-in.sock"),
        bus_jobs_out=endpoint("GHOSTWIRE_BUS_JOBS_OUT", "jobs-out.sock"),
    )
