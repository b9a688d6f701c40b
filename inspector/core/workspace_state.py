"""A workspace as the window keeps it while its files change on disk: each file read on
its own, so one broken file is one problem line and the rest keeps working.

A file that cannot be read keeps what was last read from it (its endpoints stay usable
while the person fixes a typo); the problem line names the file and, where it can be
found, the line. Also here: filling a text's variables as far as they are known (the
composer shows the rest by name) and appending one saved message to ``messages.toml``
without rewriting what a person wrote there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from inspector.core.script import load_script
from inspector.core.variables import ENV_PREFIX, PLACEHOLDER, Scope, VariableError, names_in
from inspector.core.workspace import (
    ENDPOINTS,
    ENVIRONMENTS,
    FORMAT_VERSION,
    MARKER,
    MESSAGES,
    SCRIPTS,
    SavedEndpoint,
    SavedMessage,
    Workspace,
    message_from_table,
    message_to_table,
    read_endpoints,
    read_environments,
    read_head,
    read_messages,
)
from inspector.core.workspace_toml import WorkspaceError, dumps, load_file, save_file

T = TypeVar("T")

_TABLE_PLACE = re.compile(r"\[\[(\w+)\]\] (\d+)")
_STEP_PLACE = re.compile(r"\bstep (\d+):")
_ENV_PLACE = re.compile(r"\[environment\.([^\]]+)\]")
_HAS_LINE = re.compile(r"\(at line \d+")  # tomllib's own "(at line 2, column 8)"
#: The key a message is about: "unknown key 'x'", "has no key 'x'", or the word right
#: after its place ("[[endpoint]] 2: verify: true or false").
_NAMED_KEY = re.compile(r"(?:unknown key|has no key) '([^']+)'")
_KEY_AFTER = re.compile(r"^(?: \([^)]*\))?:? ([A-Za-z_][\w-]*)\b")


@dataclass(frozen=True, slots=True)
class ScriptEntry:
    """One file of ``scripts/``: its script's name, or why it cannot be read."""

    path: Path
    name: str
    steps: int = 0
    problem: str = ""


@dataclass(frozen=True, slots=True)
class WorkspaceState:
    """What the window shows of a workspace: its parts, scripts and problem lines."""

    workspace: Workspace
    scripts: tuple[ScriptEntry, ...] = ()
    problems: tuple[str, ...] = ()
    #: True when the folder itself is gone (deleted or moved away).
    missing: bool = False
    #: The files whose last read failed (the part shown is the last good one).
    broken: frozenset[str] = field(default_factory=frozenset)


def with_line(message: str, path: Path) -> str:
    """``message`` with the line of what it names (``[[endpoint]] 2: verify``,
    ``step 3``, ``[environment.dev]``, a top-level key) in ``path`` added, unless it
    already says a line or the place cannot be found."""
    if _HAS_LINE.search(message):
        return message
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return message
    rest = message.split(f"{path}:", 1)[-1]
    header: str | None = None
    wanted = 1
    if (found := _TABLE_PLACE.search(rest)) is not None:
        header, wanted = f"[[{found.group(1)}]]", int(found.group(2))
    elif (found := _STEP_PLACE.search(rest)) is not None:
        header, wanted = "[[step]]", int(found.group(1))
    elif (found := _ENV_PLACE.search(rest)) is not None:
        header = found.group(0)
    after = rest[found.end() :] if found is not None else rest
    key_match = _NAMED_KEY.search(after) or _KEY_AFTER.match(after)
    key = key_match.group(1) if key_match else None
    begin, seen = 0, 0
    if header is not None:
        for number, line in enumerate(lines):
            if line.strip().startswith(header):
                seen += 1
                if seen == wanted:
                    begin = number
                    break
        else:
            return message
    for number in range(begin + (header is not None), len(lines)):
        text = lines[number].strip()
        if text.startswith("["):
            break
        if key is not None and re.match(rf"{re.escape(key)}\s*=", text):
            return f"{message} (line {number + 1})"
    return f"{message} (line {begin + 1})" if header is not None else message


def _part(
    read: Callable[[Path], T],
    root: Path,
    name: str,
    previous: T,
    problems: list[str],
    broken: set[str],
) -> T:
    try:
        return read(root)
    except WorkspaceError as exc:
        problems.append(with_line(str(exc), root / name))
        broken.add(name)
        return previous


def read_state(root: Path, previous: WorkspaceState | None = None) -> WorkspaceState:
    """Read every file of the workspace at ``root`` on its own (see the module's note)."""
    root = Path(root)
    if not root.is_dir():
        old = previous.workspace if previous is not None else Workspace(root, root.name)
        gone = f"{root}: the workspace folder is gone (deleted or moved); nothing here can be used"
        return WorkspaceState(Workspace(root, old.name), (), (gone,), True)
    before = previous.workspace if previous is not None else Workspace(root, root.name)
    problems: list[str] = []
    broken: set[str] = set()
    name = _part(read_head, root, MARKER, before.name, problems, broken)
    endpoints = _part(read_endpoints, root, ENDPOINTS, before.endpoints, problems, broken)
    messages = _part(read_messages, root, MESSAGES, before.messages, problems, broken)
    environments = _part(
        read_environments, root, ENVIRONMENTS, dict(before.environments), problems, broken
    )
    workspace = Workspace(root, name, endpoints, messages, environments)
    scripts: list[ScriptEntry] = []
    for path in workspace.scripts():
        try:
            script = load_script(path)
        except WorkspaceError as exc:
            line = with_line(str(exc), path)
            problems.append(line)
            broken.add(f"{SCRIPTS}/{path.name}")
            scripts.append(ScriptEntry(path, path.stem, problem=line))
            continue
        scripts.append(ScriptEntry(path, script.name, sum(1 for _ in script.walk())))
    return WorkspaceState(workspace, tuple(scripts), tuple(problems), False, frozenset(broken))


def watched_paths(root: Path) -> list[Path]:
    """The folders and files whose changes matter: the folder, ``scripts/`` and every
    workspace file that exists."""
    paths = [root]
    for name in (MARKER, ENDPOINTS, MESSAGES, ENVIRONMENTS):
        if (root / name).is_file():
            paths.append(root / name)
    scripts = root / SCRIPTS
    if scripts.is_dir():
        paths.append(scripts)
        paths.extend(sorted(scripts.glob("*.toml")))
    return paths


# -- variables as far as they are known -------------------------------------------------


@dataclass(frozen=True, slots=True)
class Filled:
    """A text with the variables that have values filled in; the others left as written."""

    text: str
    unresolved: tuple[str, ...]


def fill_known(text: str, scope: Scope, where: str) -> Filled:
    """Fill what ``scope`` knows; name what it does not (a loop is an unresolved name)."""
    missing: list[str] = []

    def one(found: re.Match[str]) -> str:
        name = found.group(1)
        try:
            return scope.fill(found.group(0), where)
        except VariableError:
            if name not in missing:
                missing.append(name)
            return found.group(0)

    return Filled(PLACEHOLDER.sub(one, text), tuple(missing))


def unresolved_line(what: str, names: Iterable[str], environment: str | None) -> str:
    """One line naming the variables that have no value, and where they were looked up
    (``{{env.NAME}}`` in the process environment, the others in the environment)."""
    names = list(names)
    plain = [n for n in names if not n.startswith(ENV_PREFIX)]
    process = [n for n in names if n.startswith(ENV_PREFIX)]
    parts = []
    if plain:
        where = f"environment {environment!r}" if environment else "no environment chosen"
        parts.append(f"no value for {', '.join(f'{{{{{n}}}}}' for n in plain)} ({where})")
    if process:
        listed = ", ".join(f"{{{{{n}}}}}" for n in process)
        parts.append(f"{listed} not set in the process environment")
    return f"{what}: {'; '.join(parts)}"


def endpoint_variables(endpoint: SavedEndpoint) -> list[str]:
    """Every variable an endpoint's URL and header values use."""
    names = names_in(endpoint.url)
    for _, value in endpoint.options.headers:
        names += names_in(value)
    return list(dict.fromkeys(names))


# -- saving one message -----------------------------------------------------------------


def append_message(root: Path, message: SavedMessage) -> Path:
    """Add ``message`` at the end of ``messages.toml`` (created if missing, and
    workspace.toml with it), keeping the file's own text and comments; WorkspaceError
    when the name is taken or the file is broken (it is not touched then)."""
    path = root / MESSAGES
    if not root.is_dir():
        raise WorkspaceError(f"{root}: the workspace folder is gone")
    existing = read_messages(root)
    if any(m.name == message.name for m in existing):
        raise WorkspaceError(f"{path}: a message is already called {message.name!r}")
    table = message_to_table(message)
    message_from_table(table, f"{path}: new message")  # what is written reads back
    try:
        before = path.read_text(encoding="utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkspaceError(f"cannot read {path}: {exc}") from None
    text = before.rstrip("\n") + ("\n\n" if before.strip() else "") + dumps({"message": [table]})
    temp = path.with_name(f".{path.name}.partial")
    try:
        temp.write_text(text, encoding="utf-8")
        temp.replace(path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise WorkspaceError(f"cannot write {path}: {exc.strerror or exc}") from None
    load_file(path)
    if not (root / MARKER).exists():  # a folder used as a workspace becomes one
        save_file(root / MARKER, {"version": FORMAT_VERSION, "name": root.name})
    return path


def _message_blocks(lines: list[str]) -> tuple[list[str], list[list[str]]]:
    """messages.toml's lines before the first ``[[message]]``, and each message's lines
    (the comment lines right above a header go with it, except those opening the file)."""
    starts = [n for n, line in enumerate(lines) if line.strip().startswith("[[message]]")]
    begins = []
    for start in starts:
        begin = start
        while begin > 0 and lines[begin - 1].lstrip().startswith("#"):
            begin -= 1
        if begin == 0:  # comments that open the file are the file's, not the table's
            begin = start
        begins.append(begin)
    if not begins:
        return lines, []
    blocks = [lines[b:e] for b, e in zip(begins, [*begins[1:], len(lines)], strict=True)]
    return lines[: begins[0]], blocks


def reorder_messages(root: Path, names: list[str]) -> Path:
    """Write messages.toml with its ``[[message]]`` tables in the order of ``names``,
    each moved whole with its comments; WorkspaceError (file untouched) when the names
    are not exactly the file's, or the file cannot be read."""
    path = root / MESSAGES
    existing = [m.name for m in read_messages(root)]
    if sorted(existing) != sorted(names):
        raise WorkspaceError(f"{path}: changed on disk meanwhile; nothing was moved")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkspaceError(f"cannot read {path}: {exc}") from None
    head, blocks = _message_blocks(text.splitlines())
    if len(blocks) != len(existing):
        raise WorkspaceError(f"{path}: its [[message]] tables could not be told apart")
    by_name = dict(zip(existing, blocks, strict=True))
    moved: list[str] = list(head)
    for name in names:
        block = list(by_name[name])
        while block and not block[-1].strip():
            block.pop()
        if moved and moved[-1].strip():
            moved.append("")
        moved += block
    new_text = "\n".join(moved) + "\n"
    temp = path.with_name(f".{path.name}.partial")
    try:
        temp.write_text(new_text, encoding="utf-8")
        check = [m.name for m in read_messages_text(temp)]
        if check != names:
            raise WorkspaceError(f"{path}: the tables could not be moved apart; nothing was moved")
        temp.replace(path)
    except OSError as exc:
        raise WorkspaceError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        temp.unlink(missing_ok=True)
    return path


def read_messages_text(path: Path) -> tuple[SavedMessage, ...]:
    """The messages of a messages.toml file at any path."""
    data = load_file(path)
    items = data.get("message", [])
    if not isinstance(items, list):
        raise WorkspaceError(f"{path}: message must be [[message]] tables")
    return tuple(message_from_table(t, f"{path}: [[message]] {n}") for n, t in enumerate(items, 1))
