"""JSON Schemas made from SPEC: the native tool definitions (also for MCP) and, for structured
output, the schema of a whole reply."""

from __future__ import annotations

from bus.contract import MAX_NAME

from .spec import SPEC, Action, Field


_JSON_TYPES = {"text": {"type": "string", "minLength": 1, "maxLength": MAX_NAME},
               "ref": {"type": ["integer", "string"]}, "flag": {"type": "boolean"}}


def tool_definitions() -> list[dict]:
    """OpenAI-style tool definitions of the same command set, made from SPEC."""
    def param(f: Field) -> dict:
        return {**_JSON_TYPES[f.kind], **({"description": f.description} if f.description else {})}

    return [{"type": "function",
             "function": {"name": a.tool, "description": a.description,
                          "parameters": {"type": "object",
                                         "properties": {k: param(f) for k, f in a.fields.items() if f.tool},
                                         "required": list(a.required), "additionalProperties": False}}}
            for a in SPEC.values()]


# Names are not length-capped here (clean_name refuses a long one): llama.cpp's schema converter makes a
# bounded repeat one grammar rule per character. `minimum` is JSON Schema that llama-cpp-python 0.3.36's
# converter ignores (llama-server's honours it), so there a 0 can still reach validation and be refused.
_REPLY_TYPES = {"text": {"type": "string", "minLength": 1},
                "ref": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "minLength": 1}]},
                "flag": {"type": "boolean"}}


def reply_schema(commands_first: bool = False) -> dict:
    """JSON Schema of a whole reply in structured-output mode: {"say": text, "commands": [command, ...]}, each
    command in the same envelope the command language teaches (action first, so the splitter sees a command),
    made from SPEC. `commands_first`: the grammar has the model write its commands before its words
    (llama.cpp and Ollama keep the properties' order)."""
    def command(action: str, a: Action) -> dict:
        args = {k: _REPLY_TYPES[f.kind] for k, f in a.fields.items() if f.tool}
        envelope = {"action": {"const": action}, "target": {"const": "task"},
                    "args": {"type": "object", "properties": args, "required": list(a.required),
                             "additionalProperties": False}}
        if not a.fields:
            envelope = {"action": {"const": action}}
        return {"type": "object", "properties": envelope, "required": list(envelope), "additionalProperties": False}

    fields = {"say": {"type": "string"},
              "commands": {"type": "array", "items": {"anyOf": [command(k, a) for k, a in SPEC.items()]}}}
    order = ["commands", "say"] if commands_first else ["say", "commands"]
    return {"type": "object", "properties": {k: fields[k] for k in order}, "required": order,
            "additionalProperties": False}
