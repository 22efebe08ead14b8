"""The codec: every topic and its message type, and the frames `[topic, json]` on the wire.

A topic names exactly one message type (health topics add the process name: `health.web`).
"""

from __future__ import annotations

import msgspec

from bus.contract.events import (ChatNote, CommandResult, ConversationChanged, Health, JobProgress, ReplyQueued,
                                 ReplyStats, SettingChanged, TaskChanged, UiAlert)
from bus.contract.requests import (AgentCall, ApproveRequest, ChatUser, ConversationRequest, CrudReply,
                                   CrudRequest, PolicyRequest, RetryRequest, Typing, UndoRequest)
from bus.contract.rules import Msg
from bus.contract.stream import LlmCancel, LlmDelta, LlmDone, LlmError, LlmJob, LlmResend, LlmStart, LlmToolCall


TOPICS: dict[str, type[Msg]] = {
    "chat.user": ChatUser,
    "chat.note": ChatNote,
    "crud.request": CrudRequest,
    "crud.reply": CrudReply,
    "crud.undo": UndoRequest,
    "crud.agent": AgentCall,
    "crud.approve": ApproveRequest,
    "crud.policy": PolicyRequest,
    "crud.typing": Typing,
    "conversation.request": ConversationRequest,
    "conversation.retry": RetryRequest,
    "conversation.changed": ConversationChanged,
    "task.changed": TaskChanged,
    "command.result": CommandResult,
    "reply.queued": ReplyQueued,
    "reply.stats": ReplyStats,
    "llm.start": LlmStart,
    "llm.delta": LlmDelta,
    "llm.tool_call": LlmToolCall,
    "llm.done": LlmDone,
    "llm.error": LlmError,
    "llm.cancel": LlmCancel,
    "llm.resend": LlmResend,
    "ui.alert": UiAlert,
    "settings.changed": SettingChanged,
    "job.progress": JobProgress,
    "health": Health,
}
TOPIC_OF: dict[type[Msg], str] = {cls: topic for topic, cls in TOPICS.items()}

_encoder = msgspec.json.Encoder()
_decoders = {topic: msgspec.json.Decoder(cls) for topic, cls in TOPICS.items()}
_job_decoder = msgspec.json.Decoder(LlmJob)


def topic_for(msg: Msg) -> str:
    if isinstance(msg, Health):
        return f"health.{msg.proc}"
    return TOPIC_OF[type(msg)]


def encode(msg: Msg) -> list[bytes]:
    return [topic_for(msg).encode(), _encoder.encode(msg)]


def decode(topic: bytes, payload: bytes) -> Msg:
    """Raise msgspec.ValidationError / DecodeError / KeyError on anything off-contract
    (a topic that isn't UTF-8 is an unknown topic: KeyError, like any other)."""
    name = topic.decode(errors="replace")
    family = "health" if name.startswith("health.") else name
    return _decoders[family].decode(payload)


def encode_job(job: LlmJob) -> bytes:
    return _encoder.encode(job)


def decode_job(payload: bytes) -> LlmJob:
    return _job_decoder.decode(payload)
