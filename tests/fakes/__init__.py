"""Fake model servers over real sockets, for tests and for running the app with no model at hand."""

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama, tag
from tests.fakes.openai import FakeOpenAI
from tests.fakes.script import Script

__all__ = ["FakeAnthropic", "FakeOllama", "FakeOpenAI", "Script", "tag"]
