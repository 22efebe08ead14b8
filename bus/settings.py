"""Configuration, declared once: each field names its environment variable, its default and its
type, and `load()` reads them (with `.env` support). Every process loads only its own settings
class (`web.settings`, `crud_worker.settings`, `llm_worker.settings`), so a process that has no use
for an API key never holds one. What every process shares — where its files live and where the bus
is — is `Common`, here.

Secrets are marked `secret=True`: `repr()` masks them, and nothing formats a settings field into a
log line. The README's configuration table is checked against these declarations by a test.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from dotenv import load_dotenv

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})

T = TypeVar("T")


def var(name: str, default: Any = "", *, secret: bool = False, choices: tuple[str, ...] = (),
        doc_default: str | None = None) -> Any:
    """A field read from environment variable `name`. `doc_default` is how the README shows a
    default that is computed (for example a path under the run directory)."""
    meta = {"env": name, "secret": secret, "choices": choices, "doc_default": doc_default}
    return dataclasses.field(default=default, metadata=meta)


def fields(cls: type) -> list[dataclasses.Field]:
    """Every setting of a settings class, nested groups (such as `bus`) included."""
    out = []
    for f in dataclasses.fields(cls):
        if "env" in f.metadata:
            out.append(f)
        elif dataclasses.is_dataclass(f.type if isinstance(f.type, type) else _hint(cls, f.name)):
            out.extend(fields(_hint(cls, f.name)))
    return out


def _hint(cls: type, name: str) -> Any:
    return typing.get_type_hints(cls)[name]


def _convert(f: dataclasses.Field, kind: Any, raw: str) -> Any:
    name = f.metadata["env"]
    optional = isinstance(kind, types.UnionType) and type(None) in typing.get_args(kind)
    if optional:
        kind = next(a for a in typing.get_args(kind) if a is not type(None))
    if kind is bool:
        return raw.lower() in ("1", "true", "yes", "on")
    if kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            raise SystemExit(f"{name} must be {'a whole number' if kind is int else 'a number'}, got {raw!r}") from None
    if kind is Path:
        return Path(raw).expanduser().absolute()
    if f.metadata["choices"]:
        raw = raw.lower()
        if raw not in f.metadata["choices"]:
            raise SystemExit(f"{name} must be one of {', '.join(f.metadata['choices'])}, got {raw!r}")
    return raw


def load(cls: type[T], env_file: str | None = ".env", environ: typing.Mapping[str, str] | None = None) -> T:
    """Build `cls` from the environment (after `.env`, which never overrides a set variable)."""
    if environ is None:
        if env_file and Path(env_file).is_file():
            load_dotenv(env_file, override=False)
        environ = os.environ
    hints = typing.get_type_hints(cls)
    values = {}
    for f in dataclasses.fields(cls):
        kind = hints[f.name]
        if "env" not in f.metadata:
            values[f.name] = load(kind, environ=environ)
            continue
        raw = environ.get(f.metadata["env"], "").strip()
        if raw:
            values[f.name] = _convert(f, kind, raw)
        elif f.default is not dataclasses.MISSING and f.default is not None and kind is Path:
            values[f.name] = Path(f.default).absolute()
    return cls(**values)


def masked(obj: Any) -> str:
    """`repr` that shows every field but the secrets."""
    shown = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        shown[f.name] = "***" if f.metadata.get("secret") and value else value
    return f"{type(obj).__name__}({shown})"


@dataclasses.dataclass(frozen=True, repr=False)
class Common:
    """What every process shares: where the app keeps its files and where the bus is."""

    run_dir: Path = var("GHOSTWIRE_RUN_DIR", Path("var/run"))
    data_dir: Path = var("GHOSTWIRE_DATA_DIR", Path("var/data"))
    curve_dir: Path | None = var("GHOSTWIRE_CURVE_DIR", None)
    curve_name: str = var("GHOSTWIRE_CURVE_NAME", "client")
    events_in: str = var("GHOSTWIRE_BUS_EVENTS_IN", "", doc_default="`ipc://` under the run dir")
    events_out: str = var("GHOSTWIRE_BUS_EVENTS_OUT", "", doc_default="`ipc://` under the run dir")
    jobs_in: str = var("GHOSTWIRE_BUS_JOBS_IN", "", doc_default="`ipc://` under the run dir")
    jobs_out: str = var("GHOSTWIRE_BUS_JOBS_OUT", "", doc_default="`ipc://` under the run dir")

    def __post_init__(self) -> None:
        for name, sock in (("events_in", "events-in.sock"), ("events_out", "events-out.sock"),
                           ("jobs_in", "jobs-in.sock"), ("jobs_out", "jobs-out.sock")):
            if not getattr(self, name):
                object.__setattr__(self, name, f"ipc://{self.run_dir / sock}")

    @property
    def db_path(self) -> Path:
        return self.data_dir / "ghostwire.db"

    __repr__ = masked
