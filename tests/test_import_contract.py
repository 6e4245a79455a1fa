"""The rooms of the house and the only ways they may import each other (docs/architecture.md).

Every module of bot/ and handoff/ belongs to one room; an import of another room (at the top of a module
or inside a function, absolute or relative) must be an edge of ALLOWED. A new module outside every room,
or a new edge, fails here until it is declared. SQLAlchemy is spoken only in bot/storage (and by the
composition root, which makes the engine and runs the migrations).
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handoff")

# module prefix -> room (the longest prefix wins)
ROOMS = {
    "bot.vocabulary": "vocabulary",  # shared words: languages, statuses, queues, channels' capabilities
    "bot.payloads": "vocabulary",  # the button payloads' codec, a leaf like the words
    "bot.flowspec": "flowspec",  # the flow format: pure
    "bot.core": "core",  # the conversation engine and understanding: pure
    "bot.storage": "storage",  # the one place that speaks SQL
    "bot.events": "events",  # live events (Redis pub/sub)
    "bot.i18n": "i18n",  # gettext catalogs
    "bot.settings": "settings",  # the one module that reads configuration
    "bot.metrics": "metrics",  # Prometheus counters and gauges: a leaf
    "handoff": "handoff",  # states, routing, office hours, timers: mediators' side
    "bot.service": "service",  # the conversation service every channel calls
    "bot.outbox": "outbox",  # the outbox sender
    "bot.channels": "channels",  # thin adapters: terminal, web chat, Telegram, WhatsApp
    "bot.flows_db": "flows_db",  # flow versions and drafts in the database
    "bot.console": "console",  # the staff console
    "bot.house": "root",  # the composition root: builds everything from the settings
    "bot.app": "root",
    "bot.webguard": "root",
    "bot.probes": "root",  # /metrics and /readyz
    "bot.runtime": "root",
    "bot.cli": "root",
}
EXACT = {"bot": "root", "bot.__main__": "root"}  # the package itself, not everything under it

# room -> the rooms it may import (its own room always)
ALLOWED: dict[str, frozenset[str]] = {
    "vocabulary": frozenset(),
    "flowspec": frozenset({"vocabulary"}),
    "core": frozenset({"flowspec", "vocabulary"}),  # one way: the flow format never imports the core
    "storage": frozenset({"vocabulary"}),
    "events": frozenset(),
    "metrics": frozenset(),
    "i18n": frozenset({"vocabulary"}),
    "settings": frozenset({"vocabulary"}),
    "handoff": frozenset({"core", "storage", "events", "vocabulary"}),  # never the service
    "service": frozenset({"core", "storage", "handoff", "vocabulary", "metrics"}),
    "outbox": frozenset({"storage", "vocabulary", "metrics"}),  # never the service
    "channels": frozenset({"service", "outbox", "core", "settings", "vocabulary"}),
    "flows_db": frozenset({"flowspec", "core", "storage", "events", "vocabulary"}),  # never the service
    "console": frozenset({"handoff", "storage", "flows_db", "flowspec", "core", "events", "i18n", "vocabulary"}),
    "root": frozenset(ROOMS.values()),
}

# Single modules allowed one more edge than their room, each with the reason (to be removed, not added to).
EXCEPTIONS: dict[str, frozenset[str]] = {
    # the WhatsApp sender reads the reply window and records delivery receipts itself
    "bot.channels.whatsapp": frozenset({"storage"}),
}

# Libraries only some rooms may import.
LIBRARIES: dict[str, frozenset[str]] = {
    "sqlalchemy": frozenset({"storage", "root"}),
    "alembic": frozenset({"storage", "root"}),
    "aiogram": frozenset({"channels", "root"}),
    "twilio": frozenset({"channels", "root"}),
}


@dataclass(frozen=True)
class Violation:
    module: str
    line: int
    imported: str
    why: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.imported}: {self.why}"


def room_of(module: str) -> str | None:
    if module in EXACT:
        return EXACT[module]
    best = max((p for p in ROOMS if module == p or module.startswith(p + ".")), key=len, default=None)
    return ROOMS[best] if best else None


def module_name(path: Path, base: Path) -> str:
    parts = list(path.relative_to(base).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, module imported) for every import in the file, relative ones resolved."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from bot import service` imports the module bot.service
            found.extend((node.lineno, f"{base}.{a.name}" if room_of(f"{base}.{a.name}") != room_of(base) else base)
                         for a in node.names)
    return found


def violations(base: Path, packages: tuple[str, ...] = PACKAGES) -> list[Violation]:
    out: list[Violation] = []
    for package in packages:
        for path in sorted((base / package).rglob("*.py")):
            if "migrations" in path.relative_to(base).parts:  # Alembic's own, part of storage by place
                continue
            module = module_name(path, base)
            room = room_of(module)
            if room is None:
                out.append(Violation(module, 0, "", "the module is in no room"))
                continue
            allowed = ALLOWED[room] | EXCEPTIONS.get(module, frozenset()) | {room}
            for line, name in imports(path, module):
                top = name.split(".")[0]
                if top in LIBRARIES and room not in LIBRARIES[top]:
                    out.append(Violation(module, line, name, f"only {sorted(LIBRARIES[top])} may import {top}"))
                if top not in packages:
                    continue
                target = room_of(name)
                if target is None:
                    out.append(Violation(module, line, name, "imports a module in no room"))
                elif target not in allowed:
                    out.append(Violation(module, line, name, f"{room} may not import {target}"))
    return out


def test_the_house_keeps_its_import_contract() -> None:
    found = violations(ROOT)
    assert not found, "\n".join(map(str, found))


def test_every_room_is_declared() -> None:
    assert set(ROOMS.values()) | set(EXACT.values()) == set(ALLOWED)
    assert all(to <= set(ALLOWED) for to in ALLOWED.values())


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


CLEAN = {"bot/__init__.py": "", "bot/core/__init__.py": "", "bot/flowspec/__init__.py": "",
         "bot/service.py": "from bot.core import engine\n", "bot/core/engine.py": "from bot.flowspec import model\n",
         "bot/flowspec/model.py": "", "handoff/__init__.py": "", "handoff/service.py": "from bot.storage import Tx\n",
         "bot/storage/__init__.py": "import sqlalchemy\n"}


def test_a_clean_tree_passes(tmp_path: Path) -> None:
    assert violations(_tree(tmp_path, CLEAN)) == []


@pytest.mark.parametrize(("module", "text", "why"), [
    ("handoff/service.py", "from bot.service import PUSH_CHANNELS\n", "handoff may not import service"),
    ("handoff/service.py", "def f():\n    from bot import service\n", "handoff may not import service"),
    ("bot/flowspec/model.py", "from bot.core.calculators import CALCULATORS\n", "flowspec may not import core"),
    ("bot/core/engine.py", "from .. import service\n", "core may not import service"),
    ("bot/outbox.py", "from bot.service import mask\n", "outbox may not import service"),
    ("bot/console/views.py", "import sqlalchemy\n", "only ['root', 'storage'] may import sqlalchemy"),
    ("bot/flows_db/reload.py", "from bot.service import ConversationService\n", "flows_db may not import service"),
    ("bot/reports.py", "", "the module is in no room"),
])
def test_a_forbidden_import_fails(tmp_path: Path, module: str, text: str, why: str) -> None:
    found = violations(_tree(tmp_path, {**CLEAN, module: text}))
    assert [v.why for v in found] == [why], found


def test_the_flow_format_and_the_core_agree_on_the_calculators() -> None:
    """The checks know the calculators by their signatures (bot/flowspec/calculators.py) so that the flow
    format need not import the core; the core's functions must have exactly those signatures."""
    from bot.core.calculators import CALCULATORS
    from bot.flowspec.calculators import SIGNATURES

    assert set(SIGNATURES) == set(CALCULATORS)
    for name, signature in SIGNATURES.items():
        calc = CALCULATORS[name]
        assert (dict(signature.inputs), dict(signature.outputs), dict(signature.statuses)) == \
            (dict(calc.inputs), dict(calc.outputs), dict(calc.statuses)), name

