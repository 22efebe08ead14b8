import pytest

from llm_worker.backends.base import BackendError, ModelInfo
from llm_worker.backends.ollama import OllamaBackend
from llm_worker.backends.ollama_models import normalize_host, pick_chat_model
from tests.fakes import FakeOllama, Script, tag
from tests.llm_worker.helpers import chat, closed_port, collect, request, run, text

GB = 1024**3


@pytest.fixture
def fake():
    with FakeOllama() as server:
        yield server


def probe(url: str, model: str = ""):
    return run(OllamaBackend(url, model).probe())


def test_default_fake_picks_the_chat_model_not_the_embedder(fake):
    found = probe(fake.url)
    assert found.reachable and found.model == "llama3.2:3b" and found.detail == ""
    assert {m.name: m.capabilities for m in found.models}["nomic-embed-text:latest"] == ("embedding",)


def test_capabilities_decide_over_the_name(fake):
    fake.models = [tag("mxbai-embed-large:latest", capabilities=["embedding"]),
                   tag("my-embed-chat:latest", size=3 * GB, capabilities=["completion"]),
                   tag("all-minilm:latest", size=GB // 20, family="bert", capabilities=["embedding"])]
    assert probe(fake.url).model == "my-embed-chat:latest"


def test_old_server_without_capabilities_uses_name_and_family(fake):
    fake.models = [tag("nomic-embed-text:latest", size=GB // 4, family="nomic-bert", capabilities=None),
                   tag("snowflake-arctic-embed:latest", size=GB // 2, family="bert", capabilities=None),
                   tag("bge-m3:latest", size=GB, family="bert", capabilities=None),
                   tag("mystery-model:latest", size=2 * GB, family="llama", capabilities=None)]
    found = probe(fake.url)
    assert found.model == "mystery-model:latest"
    assert {m.name for m in found.models if "completion" in m.capabilities} == {"mystery-model:latest"}


def test_only_embedding_models_means_no_chat_model(fake):
    fake.models = [tag("nomic-embed-text:latest", family="nomic-bert", capabilities=["embedding"])]
    found = probe(fake.url)
    assert found.reachable and found.model == ""
    assert "ollama pull llama3.2" in found.detail


def test_empty_server(fake):
    fake.models = []
    found = probe(fake.url)
    assert found.reachable and found.models == () and found.model == ""


def test_given_model_is_used_and_flagged_when_missing(fake):
    installed = probe(fake.url, "llama3.2:3b")
    assert installed.model == "llama3.2:3b" and installed.detail == ""
    missing = probe(fake.url, "qwen3")
    assert missing.reachable and missing.model == "qwen3"
    assert "not installed" in missing.detail and "ollama pull qwen3" in missing.detail


def test_untagged_name_means_latest(fake):
    fake.models = [tag("mistral:latest")]
    assert probe(fake.url, "mistral").detail == ""


def test_unreachable_probe_is_helpful():
    found = probe(f"http://127.0.0.1:{closed_port()}")
    assert not found.reachable
    assert "ollama serve" in found.detail


def test_stream_without_a_model_uses_the_probed_choice(fake):
    fake.enqueue(Script(tokens=["ok"]))
    assert text(chat(OllamaBackend(fake.url))) == "ok"
    assert fake.requests[0]["model"] == "llama3.2:3b"


def test_stream_without_any_chat_model_says_pull(fake):
    fake.models = []
    with pytest.raises(BackendError) as info:
        chat(OllamaBackend(fake.url))
    assert info.value.kind == "model_not_found" and "ollama pull" in info.value.message


def info(name: str, size_gb: float, caps=("completion",)) -> ModelInfo:
    return ModelInfo(name=name, size=int(size_gb * GB), capabilities=caps)


def test_preference_list_beats_size():
    models = [info("mixtral:8x7b", 26), info("phi3:mini", 2.2), info("llama3.2:3b", 2.0)]
    assert pick_chat_model(models) == "llama3.2:3b"


def test_within_a_family_the_largest_that_fits_a_laptop():
    models = [info("llama3.2:1b", 1.3), info("llama3.2:3b", 2.0), info("llama3.2:90b", 55), info("qwen3:32b", 20)]
    assert pick_chat_model(models) == "llama3.2:3b"


def test_unknown_models_prefer_fitting_then_smallest():
    assert pick_chat_model([info("a:70b", 40), info("b:13b", 7.4), info("c:7b", 4.1)]) == "c:7b"
    assert pick_chat_model([info("a:70b", 40), info("b:13b", 7.4)]) == "b:13b"


def test_never_an_embedding_model():
    assert pick_chat_model([info("llama3.2-embed:latest", 1, caps=("embedding",))]) == ""


@pytest.mark.parametrize("given, expected", [
    ("", "http://127.0.0.1:11434"),
    ("127.0.0.1", "http://127.0.0.1:11434"),
    ("0.0.0.0:11435", "http://127.0.0.1:11435"),
    ("http://gpu-box:11434/", "http://gpu-box:11434"),
    ("https://ollama.example.com", "https://ollama.example.com"),
])
def test_ollama_host_forms(given, expected):
    assert normalize_host(given) == expected


def test_pull_reports_progress_then_model_is_listed(fake):
    async def go():
        backend = OllamaBackend(fake.url)
        try:
            return await collect(backend.pull("gemma3:4b")), await backend.probe()
        finally:
            await backend.aclose()

    progress, found = run(go())
    assert progress[0] == {"status": "pulling manifest"}
    assert progress[-1] == {"status": "success"}
    assert any(p.get("total") and p.get("completed") == p["total"] for p in progress)
    assert "gemma3:4b" in {m.name for m in found.models}


def test_pull_error_line_raises(fake):
    fake.pull_error = "file does not exist"

    async def go():
        return await collect(OllamaBackend(fake.url).pull("nope:1b"))

    with pytest.raises(BackendError) as info_:
        run(go())
    assert "file does not exist" in info_.value.message and "nope:1b" in info_.value.message


def test_think_omitted_for_a_model_pulled_after_first_look(fake):
    backend = OllamaBackend(fake.url, "deepseek-r1:8b")
    run(backend.probe())  # caches capabilities before the model exists
    fake.models.append(tag("deepseek-r1:8b", capabilities=["completion", "thinking"]))
    fake.enqueue(Script(thinking=["..."], tokens=["hi"]))
    events = chat(backend, request())
    assert fake.requests[-1]["think"] is False
    assert text(events) == "hi"


def test_stream_without_a_model_when_ollama_is_down_says_unreachable():
    with pytest.raises(BackendError) as info_:
        chat(OllamaBackend(f"http://127.0.0.1:{closed_port()}"))
    assert info_.value.kind == "unreachable" and "ollama serve" in info_.value.message
