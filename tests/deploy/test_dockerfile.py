"""Dockerfile and .dockerignore, checked statically against the repository (no Docker needed)."""

from __future__ import annotations

import configparser
import json
import re
import tomllib

import pytest

from tests.deploy.parsing import (
    PACKAGES, PROCESSES, ROOT, dockerfile_stages, dockerignore_patterns, env_names_read_by_app, is_ignored, module_constant,
    parse_copy,
)

IPC_PATH_MAX = 107  # sun_path is 108 bytes, including the terminating NUL


@pytest.fixture(scope="module")
def stages():
    return dockerfile_stages((ROOT / "Dockerfile").read_text())


@pytest.fixture(scope="module")
def final(stages):
    return stages[-1]


@pytest.fixture(scope="module")
def ignore_rules():
    return dockerignore_patterns((ROOT / ".dockerignore").read_text())


def test_base_images_are_pinned(stages):
    names = set()
    for stage in stages:
        if stage.image in names:
            continue  # built on an earlier stage of this file
        repo, _, tag = stage.image.partition(":")
        assert tag, f"{stage.image}: no tag, so it means latest"
        assert tag != "latest" and re.match(r"\d+\.\d+", tag), f"{stage.image}: pin a version, not {tag!r}"
        assert "$" not in stage.image, f"{stage.image}: the tag must be written out"
        if stage.name:
            names.add(stage.name)
    assert stages[-1].image.startswith("python:3.11"), "the app stage runs Python 3.11 (requires-python)"


def test_final_stage_runs_as_a_non_root_user(final):
    users = final.all("USER")
    assert users, "no USER: supervisord and every process would run as root"
    user = users[-1].args.split(":")[0]
    assert user not in {"root", "0"}, f"USER {user} is root"
    created = " ".join(i.args for i in final.all("RUN"))
    assert re.search(rf"useradd\b.*\b{re.escape(user)}\b", created), f"USER {user} is never created"


def test_copy_sources_exist_and_are_in_the_build_context(stages, ignore_rules):
    checked = 0
    for stage in stages:
        for ins in stage.all("COPY") + stage.all("ADD"):
            copy = parse_copy(ins)
            if copy.from_stage:
                continue
            for src in copy.sources:
                assert (ROOT / src).exists(), f"line {copy.line}: COPY {src}: no such file in the repo"
                assert not is_ignored(src, ignore_rules), f"line {copy.line}: {src} is excluded by .dockerignore"
                checked += 1
    assert checked


def test_front_end_files_come_from_the_lockfile_and_match_what_web_serves(stages, final):
    node = next(s for s in stages[:-1] if s.image.startswith("node:"))
    npm = " ".join(i.args for i in node.all("RUN"))
    assert "npm ci" in npm and "--ignore-scripts" in npm, "npm ci (integrity-checked, no install scripts)"
    copied = {s for i in node.all("COPY") for s in parse_copy(i).sources}
    assert "web/assets/package-lock.json" in copied, "without the lockfile npm ci cannot check integrity"

    locked = json.loads((ROOT / "web/assets/package-lock.json").read_text())["packages"]
    workdir = node.all("WORKDIR")[-1].args.rstrip("/")
    vendored = []
    for ins in final.all("COPY"):
        copy = parse_copy(ins)
        if copy.from_stage != node.name:
            continue
        assert copy.dest.rstrip("/").endswith("web/static/vendor"), f"line {copy.line}: vendor files go to web/static/vendor"
        for src in copy.sources:
            rel = src.removeprefix(workdir + "/")
            pkg = re.match(r"node_modules/((?:@[^/]+/)?[^/]+)/", rel)
            assert pkg and f"node_modules/{pkg.group(1)}" in locked, f"{src}: package not in package-lock.json"
            local = ROOT / "web/assets" / rel
            if (ROOT / "web/assets/node_modules").is_dir():  # after `make assets`, the path can be checked too
                assert local.is_file(), f"{src}: no such file in the installed package"
            vendored.append(src.rsplit("/", 1)[1])
    served = [a.split("/", 1)[1] for a in module_constant(ROOT / "web/app.py", "ASSETS") if a.startswith("vendor/")]
    assert sorted(vendored) == sorted(served), "the image must vendor exactly the files web/app.py serves"


def test_app_code_and_supervisord_conf_land_in_app(final):
    workdir = final.all("WORKDIR")[-1].args.rstrip("/")
    assert workdir == "/app"
    landed = set()
    for ins in final.all("COPY"):
        copy = parse_copy(ins)
        if copy.from_stage:
            continue
        for src in copy.sources:
            dest = copy.dest if copy.dest.startswith("/") else f"{workdir}/{copy.dest}"
            dest = dest.replace("/./", "/").rstrip("/")
            landed.add(dest if not copy.dest.endswith("/") else f"{dest}/{src.rstrip('/').rsplit('/', 1)[-1]}")
    wanted = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    for pkg in sorted({p.rstrip("*") for p in wanted}):
        assert f"/app/{pkg}" in landed, f"package {pkg} is not copied to /app"

    cmd = final.all("CMD")[-1].words()
    assert cmd[:2] == ["supervisord", "-c"], "CMD starts supervisord with an explicit -c"
    conf = cmd[2]
    assert conf in landed and (ROOT / conf.removeprefix("/app/")).is_file(), f"{conf} is not copied from the repo"

    # supervisord runs `python -m X` in directory=%(here)s, i.e. /app: each X must be there with a __main__.
    parser = configparser.RawConfigParser()
    parser.read(ROOT / "supervisord.conf")
    programs = [s for s in parser.sections() if s.startswith("program:")]
    assert len(programs) == len(PROCESSES)
    for section in programs:
        command = parser.get(section, "command").split()
        assert command[:2] == ["python", "-m"], f"{section}: expected `python -m ...`"
        assert parser.get(section, "directory") == "%(here)s"
        assert f"/app/{command[2]}" in landed and (ROOT / command[2] / "__main__.py").is_file()
    assert set(PROCESSES) == {parser.get(s, "command").split()[2] for s in programs}
    for pkg in PACKAGES:
        assert f"/app/{pkg}" in landed, f"{pkg}/ is not copied into the image"

    installs = [i.args for i in final.all("RUN") if "pip install" in i.args]
    assert any(re.search(r"pip install (--no-deps )?\.(\s|$)", a) for a in installs), "`pip install .` the project"
    assert not any("-e " in a or "[test]" in a for a in installs), "no editable install, no test extra in the image"


def test_environment_for_a_container(final):
    env = final.env()
    assert env["GHOSTWIRE_HOST"] == "0.0.0.0"
    assert env["GHOSTWIRE_ALLOW_UNAUTHENTICATED"] == "1"
    volumes = {v for i in final.all("VOLUME") for v in i.words()}
    assert env["GHOSTWIRE_DATA_DIR"] in volumes, "the database directory must be a volume"
    run_dir = env["GHOSTWIRE_RUN_DIR"]
    assert len(f"{run_dir}/events-out.sock") < IPC_PATH_MAX, "ipc:// socket paths would be too long"
    setup = " ".join(i.args for i in final.all("RUN"))
    user = final.all("USER")[-1].args.split(":")[0]
    for d in (run_dir, env["GHOSTWIRE_DATA_DIR"]):
        assert re.search(rf"mkdir -p [^&]*{re.escape(d)}\b", setup), f"{d} is not created"
        assert re.search(rf"chown [^&]*{re.escape(user)}[^&]*{re.escape(d)}\b", setup), f"{d} is not writable by {user}"

    read = env_names_read_by_app() | {"GHOSTWIRE_ALLOW_UNAUTHENTICATED"}
    ours = [k for k in env if not k.startswith(("PYTHON", "PIP_"))]
    unknown = [k for k in ours if k not in read]
    assert not unknown, f"ENV sets variables the app never reads: {unknown}"
    secrets = [k for k in env if re.search(r"KEY|TOKEN|SECRET|PASSWORD", k)]
    assert not secrets, f"secrets must not be baked into the image: {secrets}"


def test_expose_and_healthcheck(final):
    exposed = [w for i in final.all("EXPOSE") for w in i.words()]
    port = final.env().get("GHOSTWIRE_PORT", "5001")
    assert exposed == [port], f"EXPOSE {exposed} but the app listens on {port}"
    checks = final.all("HEALTHCHECK")
    assert len(checks) == 1 and "CMD" in checks[0].args
    probe = checks[0].args
    assert "/health" in probe and "python" in probe, "probe /health with python"
    assert not re.search(r"\b(curl|wget)\b", probe), "slim images have neither curl nor wget"
    assert re.search(r"""route\(\s*["']/health["']""", (ROOT / "web/page/routes.py").read_text()), "web has no /health"


@pytest.mark.parametrize("path", [".git/HEAD", ".venv/bin/python", "var/data/ghostwire.db", ".env",
                                  "web/assets/node_modules/htmx.org/package.json", "node_modules/x",
                                  "web/static/vendor/htmx.min.js"])
def test_dockerignore_keeps_local_state_out(path, ignore_rules):
    assert is_ignored(path, ignore_rules), f"{path} would be sent to the build context"


def test_dockerignore_matcher_follows_docker_rules():
    rules = dockerignore_patterns("**/node_modules\nvar\n*.md\n!README.md\n")
    assert is_ignored("a/b/node_modules/c", rules) and is_ignored("var/run/x.sock", rules)
    assert is_ignored("CHANGES.md", rules) and not is_ignored("README.md", rules)
    assert not is_ignored("variables.py", rules) and not is_ignored("docs/x.md", rules)


def test_the_local_engine_can_run_in_the_image(final):
    """xllamacpp's wheel links libgomp (`readelf -d`: NEEDED libgomp.so.1), which the slim image lacks; its
    model lives in a volume so a fetch survives the container."""
    setup = " ".join(i.args for i in final.all("RUN"))
    assert re.search(r"apt-get install [^&]*\blibgomp1\b", setup), "the engine's OpenMP runtime is not installed"
    env = final.env()
    assert env["GHOSTWIRE_CACHE_DIR"] in {v for i in final.all("VOLUME") for v in i.words()}, "models are not kept"
