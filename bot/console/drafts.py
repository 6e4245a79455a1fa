"""What the flow editor's pages are made of, without HTTP: an editor's working set (their draft or the
published version), a flow set with its problems, problems placed at the fields they concern, and
file diffs. Publishing is bot/flows_db/publisher.py; the preview is bot/console/preview.py."""

from __future__ import annotations

import calendar
import datetime as dt
import difflib
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from bot.flows_db.store import CANCELLED, SCHEDULED, Files, Version, changed_files, errors
from bot.flows_db.yamledit import L10N_FIELDS, TARGET_FIELDS
from bot.flowspec import FlowSet, Problem
from bot.flowspec.model import LANGS

TECHNICAL = ("expect", "save_as", "scope", "ask_again", "min", "max", "when", "retries", "on", "calculator",
             "inputs")


def months_before(day: dt.date, months: int) -> dt.date:
    year, month = divmod(day.month - 1 - months, 12)
    year += day.year
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def version_state(version: Version, serving: int, now: dt.datetime) -> str:
    """How the history shows a version: live (served now), scheduled (waiting for its time), cancelled,
    or archived (took effect once, replaced since)."""
    if version.number == serving:
        return "live"
    if version.status == CANCELLED:
        return CANCELLED
    if version.status == SCHEDULED and version.effective_at is not None and version.effective_at > now:
        return SCHEDULED
    return "archived"


@dataclass
class Checked:
    """A flow set with its problems, indexed for the pages."""

    files: Files
    flowset: FlowSet
    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        return errors(self.problems)

    def in_file(self, name: str) -> list[Problem]:
        return [p for p in self.problems if p.file == name]


@dataclass
class Working:
    """What an editor works on: their draft, or the published version when they have none."""

    files: Files
    base: int  # the version the draft started from (or the published one)
    latest: int
    is_draft: bool
    updated_at: dt.datetime | None = None


def assign_problems(problems: list[Problem], shown: set[str]) -> dict[str, list[Problem]]:
    """Each problem at the field it concerns when that field is on the page, else at the nearest field
    that contains it, else at the node ("" key)."""
    out: dict[str, list[Problem]] = defaultdict(list)
    for p in problems:
        key = p.field or ""
        while key and key not in shown:
            cut = max(key.rfind("."), key.rfind("["))
            key = key[:cut] if cut > 0 else ""
        out[key].append(p)
    return out


def shown_fields(node: dict[str, Any]) -> set[str]:
    """The problem keys the node's form has a place for."""
    keys = {"type", "options", "examples", "cases", "inputs", *TARGET_FIELDS, *TECHNICAL,
            "topic", "sources", "reviewed", "summary", "queue", "priority", "feedback"}
    for name in L10N_FIELDS:
        keys.add(name)
        keys.update(f"{name}.{lang}" for lang in LANGS)
    keys.update(f"examples.{lang}" for lang in LANGS)
    keys.add("native_check")
    keys.update(f"native_check.{lang}{part}" for lang in LANGS for part in ("", ".by", ".on"))
    for i, _ in enumerate(node.get("options") or [], start=1):
        keys.update({f"options[{i}]", f"options[{i}].label", f"options[{i}].next", f"options[{i}].value"})
        keys.update(f"options[{i}].label.{lang}" for lang in LANGS)
    for case in node.get("cases") or {}:
        keys.add(f"cases.{case}")
    return keys


def text_of(value: Any, lang: str) -> str:
    if isinstance(value, dict):
        text = value.get(lang)
        return "" if text is None else str(text).strip("\n")
    return ""


HUNK_RE = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)")


def node_at(lines: list[str], index: int) -> str | None:
    """The node a line of a flow file belongs to: the nearest key above it at the nodes' indentation."""
    start = next((i for i, line in enumerate(lines) if line.rstrip() == "nodes:"), None)
    if start is None:
        return None
    indent = next((len(line) - len(line.lstrip(" ")) for line in lines[start + 1:]
                   if line.strip() and not line.lstrip().startswith("#")), 2)
    key = re.compile(rf"^ {{{indent}}}([a-z][a-z0-9_]{{0,39}}):")
    for line in reversed(lines[start + 1:index + 1]):
        if found := key.match(line):
            return found.group(1)
    return None


def diff_files(old: Files, new: Files, old_name: str, new_name: str) -> list[dict[str, Any]]:
    """A readable unified diff per changed file: [{"file", "lines": [(kind, text)]}]; each hunk names the
    node it is in."""
    out = []
    for name in changed_files(old, new):
        rows = []
        new_lines = new.get(name, "").splitlines()
        for line in difflib.unified_diff(old.get(name, "").splitlines(), new_lines,
                                         f"{old_name}/{name}", f"{new_name}/{name}", lineterm="", n=3):
            kind = ("file" if line.startswith(("---", "+++")) else "hunk" if line.startswith("@@")
                    else "add" if line.startswith("+") else "del" if line.startswith("-") else "same")
            if kind == "hunk" and (hunk := HUNK_RE.match(line)):
                node = node_at(new_lines, int(hunk.group(1)) + 2)  # the first changed line, past the context
                line += f"  {node}" if node else ""
            rows.append((kind, line))
        out.append({"file": name, "lines": rows,
                    "added": sum(1 for k, _ in rows if k == "add"), "removed": sum(1 for k, _ in rows if k == "del")})
    return out
