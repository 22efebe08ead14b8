"""Small static readers for the deployment files: nothing here needs Docker or Nix installed.

- `Dockerfile`: instructions and stages, as much of the grammar as our Dockerfile uses.
- `.dockerignore`: pattern matching close enough to Docker's (`*`, `**`, `?`, `!`, last match wins).
- Nix: no pure-Python Nix parser exists on PyPI (the one binding there, nixeval, is a compiled
  evaluator), so `nix_structure_errors` is a tokenizer that knows strings, interpolation and
  comments, and checks that brackets balance outside them.
- Environment variable names the app reads: string constants in the four packages' source.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = ("broker", "crud_worker", "llm_worker", "web", "engine")  # supervisord's programs
SHARED = ("bus", "commands", "models")  # packages every process may import
PACKAGES = SHARED + PROCESSES


@dataclass
class Instruction:
    cmd: str
    args: str
    line: int

    def words(self) -> list[str]:
        """Arguments as a list: JSON (exec) form if it parses, else split like a shell would."""
        text = self.args.strip()
        if text.startswith("["):
            try:
                return json.loads(text)
            except ValueError:
                pass
        return shlex.split(text)


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, cmd: str) -> list[Instruction]:
        return [i for i in self.instructions if i.cmd == cmd]

    def env(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for ins in self.all("ENV"):
            words = shlex.split(ins.args)
            if len(words) == 2 and "=" not in words[0]:  # legacy `ENV NAME value`
                out[words[0]] = words[1]
                continue
            for word in words:
                name, _, value = word.partition("=")
                out[name] = value
        return out


def dockerfile_instructions(text: str) -> list[Instruction]:
    out: list[Instruction] = []
    buf, start = "", 0
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if buf and line.startswith("#"):  # Docker drops comment lines inside a continuation
            continue
        if not buf:
            start = n
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        cmd, _, args = buf.partition(" ")
        out.append(Instruction(cmd.upper(), args.strip(), start))
        buf = ""
    if buf:
        raise ValueError(f"Dockerfile ends inside a line continuation (from line {start})")
    return out


def dockerfile_stages(text: str) -> list[Stage]:
    stages: list[Stage] = []
    for ins in dockerfile_instructions(text):
        if ins.cmd == "FROM":
            words = [w for w in ins.args.split() if not w.startswith("--")]
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name))
        elif not stages:
            if ins.cmd != "ARG":
                raise ValueError(f"line {ins.line}: {ins.cmd} before the first FROM")
        else:
            stages[-1].instructions.append(ins)
    return stages


@dataclass
class Copy:
    sources: list[str]
    dest: str
    from_stage: str | None
    line: int


def parse_copy(ins: Instruction) -> Copy:
    words = ins.words()
    flags = {w.split("=", 1)[0]: w.partition("=")[2] for w in words if w.startswith("--")}
    paths = [w for w in words if not w.startswith("--")]
    return Copy(paths[:-1], paths[-1], flags.get("--from"), ins.line)


def _glob_regex(pattern: str) -> re.Pattern:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out + r"\Z")


def dockerignore_patterns(text: str) -> list[tuple[bool, re.Pattern]]:
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keep = line.startswith("!")
        pattern = line.lstrip("!").strip().strip("/")
        rules.append((keep, _glob_regex(pattern)))
    return rules


def is_ignored(path: str, rules: list[tuple[bool, re.Pattern]]) -> bool:
    """Docker's rule: a path is excluded if it or a parent directory matches; the last matching line wins."""
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[: k + 1]) for k in range(len(parts))]
    ignored = False
    for keep, rx in rules:
        if any(rx.match(p) for p in prefixes):
            ignored = not keep
    return ignored


def nix_structure_errors(src: str) -> list[str]:
    """Unbalanced or mismatched brackets, unterminated strings or comments; [] when the file is well formed."""
    closers = {"}": ("{", "${"), "]": ("[",), ")": ("(",)}
    stack: list[tuple[str, int]] = []
    errors: list[str] = []
    i, n = 0, len(src)

    def line_of(pos: int) -> int:
        return src.count("\n", 0, pos) + 1

    while i < n:
        top = stack[-1][0] if stack else None
        if top == '"':
            if src[i] == "\\":
                i += 2
            elif src.startswith("$${", i):
                i += 3
            elif src.startswith("${", i):
                stack.append(("${", i))
                i += 2
            else:
                if src[i] == '"':
                    stack.pop()
                i += 1
            continue
        if top == "''":
            if src.startswith("'''", i) or src.startswith("''$", i):
                i += 3
            elif src.startswith("''\\", i):
                i += 4
            elif src.startswith("''", i):
                stack.pop()
                i += 2
            elif src.startswith("${", i):
                stack.append(("${", i))
                i += 2
            else:
                i += 1
            continue
        c = src[i]
        if c == "#":
            end = src.find("\n", i)
            i = n if end < 0 else end
        elif src.startswith("/*", i):
            end = src.find("*/", i + 2)
            if end < 0:
                errors.append(f"line {line_of(i)}: unterminated /* comment")
                return errors
            i = end + 2
        elif c == '"':
            stack.append(('"', i))
            i += 1
        elif src.startswith("''", i) and not (i and re.match(r"[\w'-]", src[i - 1])):
            stack.append(("''", i))
            i += 2
        elif src.startswith("${", i):
            stack.append(("${", i))
            i += 2
        elif c in "{[(":
            stack.append((c, i))
            i += 1
        elif c in closers:
            if not stack or stack[-1][0] not in closers[c]:
                opened = f"'{stack[-1][0]}' from line {line_of(stack[-1][1])}" if stack else "nothing"
                errors.append(f"line {line_of(i)}: '{c}' closes {opened}")
                return errors
            stack.pop()
            i += 1
        else:
            i += 1
    for kind, pos in stack:
        errors.append(f"line {line_of(pos)}: '{kind}' is never closed")
    return errors


def env_names_read_by_app() -> set[str]:
    """Every ENV_LIKE_NAME that appears as a string constant in the app's source (where os.environ is read)."""
    names: set[str] = set()
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                        and re.fullmatch(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+", node.value):
                    names.add(node.value)
    return names


def module_constant(path: Path, name: str):
    """The literal value of a top-level `NAME = ...` in a Python file, without importing it."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise LookupError(f"{name} not found in {path}")
