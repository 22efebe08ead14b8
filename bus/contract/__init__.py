"""The bus contract: every topic and the typed message it carries — the one import for its users.

Frames are `[topic, json]`. It is kept in five modules by family, each readable in one sitting:

- `rules`: the limits and rules every process relies on (`MAX_MESSAGE`, `clean_name`, `agent_name`,
  `shown_model`, …), the literal types and the task row (`TaskRow`);
- `requests`: web → crud_worker requests and their one answer, `CrudReply`;
- `stream`: the LLM stream — the job, the start, deltas, tool calls, the end with its `Timing` and
  `Usage`, errors, cancel and resend — and the command-id rule;
- `events`: broadcasts every process may hear (`task.changed`, `reply.stats`, …) and `Health`;
- `codec`: `TOPICS` (a topic names exactly one message type) and the frames' encoder and decoder.

Import from `bus.contract`, not from the modules: what a receiver may rely on is said here and in
each message's docstring.
"""

# Re-exports: every name of the five modules.

from bus.contract.rules import (Action, CHARS_PER_TOKEN, CommandState, DEFAULT_CONVERSATION, InvalidName, JobKind,
                                MAX_AGENT_NAME, MAX_GROUP_STEPS, MAX_ID, MAX_MESSAGE, MAX_NAME, MAX_TITLE, MUTATING, Msg, POLICIES,
                                Policy, ReplyKind,
                                TaskRow, agent_name, clean_name, shown_model)
from bus.contract.requests import (AgentCall, ApproveRequest, ChatUser, ConversationRequest, CrudReply, CrudRequest,
                                   ExportedTask, PolicyRequest, RefusalCode,
                                   RetryRequest, Typing, UndoRequest)
from bus.contract.stream import (JobMessage, LlmCancel, LlmDelta, LlmDone, LlmError, LlmJob, LlmResend, LlmStart,
                                 LlmToolCall, Timing, ToolCallMsg, Usage)
from bus.contract.events import (ChatNote, CommandResult, ConversationChanged, Health, JobProgress, LlmStatus,
                                 ReplyQueued, ReplyStats, SettingChanged, TaskChanged, TaskStep, UiAlert)
from bus.contract.codec import (TOPICS, TOPIC_OF, decode, decode_job, encode, encode_job, topic_for)
