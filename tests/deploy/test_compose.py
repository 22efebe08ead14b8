"""docker-compose.yml, read as YAML and checked against the Dockerfile and the app's settings (no Docker needed)."""

from __future__ import annotations

import configparser
import re

import pytest
import yaml

from llm_worker.backends import NAMES
from tests.deploy.parsing import ROOT, dockerfile_stages, env_names_read_by_app

SECRET = re.compile(r"KEY|TOKEN|SECRET|PASSWORD")


@pytest.fixture(scope="module")
def compose_text():
    return (ROOT / "docker-compose.yml").read_text()


@pytest.fixture(scope="module")
def compose(compose_text):
    return yaml.safe_load(compose_text)


@pytest.fixture(scope="module")
def services(compose):
    return compose["services"]


@pytest.fixture(scope="module")
def image_env():
    return dockerfile_stages((ROOT / "Dockerfile").read_text())[-1].env()


def default_of(value: str) -> str:
    """`${NAME:-default}` -> default (compose interpolation)."""
    m = re.fullmatch(r"\$\{(\w+):-([^}]*)\}", value)
    assert m, f"{value!r} is not ${{NAME:-default}}"
    return m.group(2)


def seconds(value: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", value))


def test_services_start_in_order(services):
    assert set(services) == {"ollama", "ollama-pull", "app"}
    pull, app = services["ollama-pull"], services["app"]
    assert pull["depends_on"] == {"ollama": {"condition": "service_healthy"}}
    assert app["depends_on"] == {"ollama": {"condition": "service_healthy"},
                                 "ollama-pull": {"condition": "service_completed_successfully"}}
    assert pull["restart"] == "no", "a one-shot job that restarts would never complete"
    assert app["restart"] == "unless-stopped" and services["ollama"]["restart"] == "unless-stopped"


def test_ollama_image_is_pinned_and_shared(services):
    image = services["ollama"]["image"]
    m = re.fullmatch(r"ollama/ollama:(\S+)", image)
    assert m, f"{image}: expected ollama/ollama with an explicit tag"
    assert re.fullmatch(r"\d+\.\d+\.\d+", m.group(1)), f"{image}: pin a release, not {m.group(1)!r}"
    assert services["ollama-pull"]["image"] == image, "the pull job must use the server's exact version"


def test_ollama_health_and_pull(services):
    assert services["ollama"]["healthcheck"]["test"] == ["CMD", "ollama", "list"], "the image has no curl"
    pull = services["ollama-pull"]
    assert pull["entrypoint"][:2] == ["ollama", "pull"] and len(pull["entrypoint"]) == 3
    assert pull["environment"]["OLLAMA_HOST"] == "http://ollama:11434"
    pulled = default_of(pull["entrypoint"][2])
    app_model = default_of(services["app"]["environment"]["LLM_MODEL"])
    assert pulled == app_model, f"the pull fetches {pulled} but the app asks for {app_model}"
    assert re.search(r"\$\{LLM_MODEL:-", pull["entrypoint"][2]), "one variable chooses the model for both"


def test_volumes_are_declared_used_and_mounted_where_data_lives(compose, services, image_env):
    declared = set(compose.get("volumes") or {})
    used: dict[str, set[str]] = {}
    for name, svc in services.items():
        for spec in svc.get("volumes", []):
            source, target = spec.split(":")[:2]
            if not source.startswith((".", "/")):
                assert source in declared, f"{name}: volume {source} is not declared"
                used.setdefault(source, set()).add(target)
    assert declared == set(used), f"declared but unused: {declared - set(used)}"
    assert "/root/.ollama" in {s.split(":")[1] for s in services["ollama"]["volumes"]}, \
        "models would be lost with the ollama container"
    assert image_env["GHOSTWIRE_DATA_DIR"] in {s.split(":")[1] for s in services["app"]["volumes"]}, \
        "the database directory is not on a volume"


def test_only_the_app_is_published_and_only_on_loopback(services, image_env):
    assert services["app"]["ports"] == [f"127.0.0.1:5001:{image_env['GHOSTWIRE_PORT']}"]
    for name, svc in services.items():
        for port in svc.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port} is reachable from the network"
    assert "ports" not in services["ollama"], "Ollama has no auth; keep it on the compose network"
    # The unauthenticated opt-out in the image is only sound because of the loopback publish above.
    assert image_env["GHOSTWIRE_ALLOW_UNAUTHENTICATED"] == "1"


def test_app_environment_is_read_by_the_app_and_leaks_nothing(services):
    env = services["app"]["environment"]
    assert isinstance(env, dict), "use the mapping form so values can be checked"
    unknown = sorted(set(env) - env_names_read_by_app())
    assert not unknown, f"the app never reads {unknown}"
    assert env["OLLAMA_HOST"] == "http://ollama:11434"
    assert re.match(r"http://([\w-]+):", env["OLLAMA_HOST"]).group(1) in services
    assert default_of(env["LLM_BACKEND"]) in ("auto", *NAMES)
    for name, value in env.items():
        if SECRET.search(name) or name == "OPENAI_BASE_URL":
            assert value is None, f"{name} must be passed through from the host, with no value in the file"
    assert {"OPENAI_API_KEY", "ANTHROPIC_API_KEY"} <= set(env)


def test_app_is_built_here_and_given_time_to_stop(services):
    build = services["app"]["build"]
    context = build if isinstance(build, str) else build["context"]
    assert (ROOT / context / "Dockerfile").is_file()
    conf = configparser.RawConfigParser()
    conf.read(ROOT / "supervisord.conf")
    web_stop = conf.getfloat("program:web", "stopwaitsecs", fallback=10)
    assert seconds(services["app"]["stop_grace_period"]) > web_stop, "docker would SIGKILL web mid-shutdown"


def test_gpu_stanza_is_valid_once_uncommented(compose_text):
    lines = compose_text.splitlines()
    start = next(i for i, line in enumerate(lines) if re.fullmatch(r"\s*# deploy:", line))
    out = lines[:start]
    i = start
    while i < len(lines) and re.match(r"\s*# ", lines[i]):
        out.append(re.sub(r"^(\s*)# ", r"\1", lines[i]))
        i += 1
    uncommented = yaml.safe_load("\n".join(out + lines[i:]))
    devices = uncommented["services"]["ollama"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
