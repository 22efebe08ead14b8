"""The default: each test module gets its own fake Ollama and its own four real processes."""

from tests.fixtures import stack_fixtures

fake_ollama, stack = stack_fixtures("module")
