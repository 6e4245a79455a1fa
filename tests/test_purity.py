"""House rule 1: the core and the flow format import no I/O library and no channel or desk code."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = ("aiogram", "twilio", "aiohttp", "sqlalchemy", "asyncpg", "aiosqlite", "redis", "httpx",
             "requests", "urllib3", "socket", "apscheduler", "bot.channels", "bot.storage", "bot.service",
             "bot.console", "handoff.desks")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_forbidden_imports_in_source() -> None:
    for package in ("bot/core", "bot/flowspec"):
        for path in (ROOT / package).rglob("*.py"):
            for name in _imports(path):
                bad = [f for f in FORBIDDEN if name == f or name.startswith(f + ".")]
                assert not bad, f"{path.relative_to(ROOT)} imports {name}"


def test_nothing_forbidden_is_loaded_at_run_time() -> None:
    code = ("import sys, bot.core.engine, bot.flowspec, bot.flowspec.diagram; "
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {[f.split('.')[0] for f in FORBIDDEN]!r}"
            " and any(m == f or m.startswith(f + '.') for f in " + repr(FORBIDDEN) + ")))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
