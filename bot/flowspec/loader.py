"""Strict loader of flow format 1: YAML -> FlowSet, collecting every problem with its location.

Strict YAML: YAML 1.2 (so `yes`/`no`/`on` are strings, never booleans), duplicate keys refused.
The schema is a table per node type; unknown fields are refused with a "did you mean".
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from bot.flowspec import prices
from bot.flowspec.limits import shape_problem, text_problem
from bot.flowspec.model import (
    EXPECTS,
    LANGS,
    NODE_TYPES,
    PRIORITIES,
    QUEUES,
    Flow,
    FlowSet,
    L10n,
    Node,
    Option,
    Settings,
)
from bot.flowspec.problems import Problem, did_you_mean
from bot.vocabulary import LANG_CHOICES

ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_NAME = 80  # who checked a translation
VAR_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
KEYWORD_KINDS = ("menu", "mediator", "language", "help", "forget", "hello")
OPTIONAL_KEYWORDS = ("hello",)  # greetings and thanks: answered with the main menu, never a miss

# field -> required?  per node type ("type" is implied)
SCHEMA: dict[str, dict[str, bool]] = {
    "menu": {"text": True, "options": True},
    "answer": {
        "topic": True, "text": True, "title": False, "examples": False, "sources": False,
        "reviewed": False, "native_check": False, "next": False, "feedback": False,
    },
    "ask": {
        "text": True, "expect": True, "save_as": True, "scope": False, "ask_again": False,
        "options": False, "min": False, "max": False, "when": False, "retries": False,
        "error": False, "next": True, "on_fail": False,
    },
    "switch": {"on": True, "cases": True, "default": True},
    "calculate": {"calculator": True, "inputs": True, "next": True},
    "handoff": {"topic": False, "queue": True, "priority": False, "text": True, "summary": True},
    "goto": {"target": True},
}
FLOW_FIELDS = ("format", "id", "title", "start", "nodes")
SETTINGS_FIELDS = (
    "format", "languages", "default_language", "entry", "language_picker", "mediator",
    "fallback_queue", "session_timeout_minutes", "review_period_days", "keywords", "yes_words", "no_words",
)


def _yaml() -> YAML:
    y = YAML(typ="safe", pure=True)
    y.allow_duplicate_keys = False
    return y


def parse_yaml(text: str, file: str) -> tuple[Any, list[Problem]]:
    if (deep := text_problem(text)) is not None:
        return None, [Problem(file, None, None, f"YAML error: {deep}")]
    try:
        data = _yaml().load(text)
    except RecursionError:
        return None, [Problem(file, None, None, "YAML error: it nests too deeply")]
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = (exc.problem or exc.context or "invalid YAML").strip()
        if "duplicate key" in str(exc):
            what = "duplicate key"
        return None, [Problem(file, None, None, f"YAML error{where}: {what}")]
    except YAMLError as exc:
        return None, [Problem(file, None, None, f"YAML error: {exc}")]
    problem = shape_problem(data)
    if problem is not None:
        return None, [Problem(file, None, None, f"YAML error: {problem}")]
    return data, []


class _NodeReader:
    """Reads one node's fields, recording problems at `file > node > field`."""

    def __init__(self, file: str, flow_id: str, node_id: str, raw: dict[str, Any], problems: list[Problem]):
        self.file, self.flow_id, self.node_id, self.raw, self.problems = file, flow_id, node_id, raw, problems

    def err(self, field: str | None, message: str) -> None:
        self.problems.append(Problem(self.file, self.node_id, field, message))

    def l10n(self, field: str, value: Any) -> L10n | None:
        if isinstance(value, str):
            self.err(field, f"needs a text in each language ({', '.join(LANGS)}), got a single text")
            return None
        if not isinstance(value, dict):
            self.err(field, f"needs a text in each language ({', '.join(LANGS)})")
            return None
        out: L10n = {}
        for lang in value:
            if lang not in LANGS:
                self.err(f"{field}.{lang}", f"unknown language{did_you_mean(str(lang), LANGS)}")
        for lang in LANGS:
            text = value.get(lang)
            if text is None:
                self.err(f"{field}.{lang}", "missing")
            elif not isinstance(text, str | int | float) or isinstance(text, bool):
                self.err(f"{field}.{lang}", "must be text")
            elif not str(text).strip():
                self.err(f"{field}.{lang}", "is empty")
            else:
                out[lang] = str(text).strip("\n") if isinstance(text, str) else str(text)
        return out if len(out) == len(LANGS) else None

    def target(self, field: str, value: Any) -> str | None:
        if not isinstance(value, str) or not value:
            self.err(field, "must name a node: 'node' or 'flow.node'")
            return None
        parts = value.split(".")
        if len(parts) > 2 or not all(ID_RE.match(p) for p in parts):
            self.err(field, f"'{value}' is not a node name: 'node' or 'flow.node'")
            return None
        return value if len(parts) == 2 else f"{self.flow_id}.{value}"

    def string(self, field: str, value: Any) -> str | None:
        if not isinstance(value, str) or not value.strip():
            self.err(field, "must be a non-empty text")
            return None
        return value

    def choice(self, field: str, value: Any, allowed: tuple[str, ...]) -> str | None:
        if value not in allowed:
            self.err(field, f"must be one of {', '.join(allowed)}{did_you_mean(str(value), allowed)}")
            return None
        return str(value)

    def boolean(self, field: str, value: Any) -> bool | None:
        if not isinstance(value, bool):
            self.err(field, "must be true or false")
            return None
        return value

    def number(self, field: str, value: Any) -> float | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.err(field, "must be a number")
            return None
        return float(value)

    def var(self, field: str, value: Any) -> str | None:
        if not isinstance(value, str) or not VAR_RE.match(value):
            self.err(field, "must be a variable name: a-z, 0-9 and _, starting with a letter")
            return None
        return value

    def options(self, field: str, value: Any, kind: str) -> list[Option]:
        if not isinstance(value, list) or not value:
            self.err(field, "needs a list of 1 to 10 options")
            return []
        if len(value) > 10:
            self.err(field, f"has {len(value)} options; at most 10")
        out: list[Option] = []
        allowed = ("label", "next") if kind == "menu" else ("label", "value")
        for i, raw in enumerate(value, start=1):
            where = f"{field}[{i}]"
            if not isinstance(raw, dict):
                self.err(where, "must be a mapping with " + " and ".join(allowed))
                continue
            for key in raw:
                if key not in allowed:
                    self.err(f"{where}.{key}", f"unknown field{did_you_mean(str(key), allowed)}")
            label = self.l10n(f"{where}.label", raw.get("label")) if "label" in raw else None
            if "label" not in raw:
                self.err(f"{where}.label", "missing")
            if kind == "menu":
                nxt = self.target(f"{where}.next", raw.get("next")) if "next" in raw else None
                if "next" not in raw:
                    self.err(f"{where}.next", "missing")
                out.append(Option(label=label or {}, next=nxt))
            else:
                val = raw.get("value")
                if not isinstance(val, str | int) or isinstance(val, bool) or str(val) == "":
                    self.err(f"{where}.value", "must be a text or a whole number")
                    val = None
                out.append(Option(label=label or {}, value=None if val is None else str(val)))
        return out

    def read(self) -> Node | None:
        raw = self.raw
        ntype = raw.get("type")
        if ntype is None:
            self.err("type", f"missing; one of {', '.join(NODE_TYPES)}")
            return None
        if ntype not in SCHEMA:
            self.err("type", f"unknown node type '{ntype}'{did_you_mean(str(ntype), NODE_TYPES)}")
            return None
        schema = SCHEMA[ntype]
        present = frozenset(str(k) for k in raw)
        for key in raw:
            if key != "type" and key not in schema:
                self.err(str(key), f"unknown field for a {ntype} node{did_you_mean(str(key), schema)}")
        for key, required in schema.items():
            if required and key not in raw:
                self.err(key, "missing")
        node = Node(flow=self.flow_id, id=self.node_id, type=ntype, fields=present)
        readers: dict[str, Callable[[str, Any], None]] = {
            "text": lambda f, v: setattr(node, "text", self.l10n(f, v)),
            "title": lambda f, v: setattr(node, "title", self.l10n(f, v)),
            "error": lambda f, v: setattr(node, "error", self.l10n(f, v)),
            "next": lambda f, v: setattr(node, "next", self.target(f, v)),
            "on_fail": lambda f, v: setattr(node, "on_fail", self.target(f, v)),
            "default": lambda f, v: setattr(node, "default", self.target(f, v)),
            "target": lambda f, v: setattr(node, "target", self.target(f, v)),
            "topic": lambda f, v: setattr(node, "topic", self.string(f, v)),
            "summary": lambda f, v: setattr(node, "summary", self.string(f, v)),
            "calculator": lambda f, v: setattr(node, "calculator", self.string(f, v)),
            "save_as": lambda f, v: setattr(node, "save_as", self.var(f, v)),
            "on": lambda f, v: setattr(node, "on", self.var(f, v)),
            "expect": lambda f, v: setattr(node, "expect", self.choice(f, v, EXPECTS)),
            "scope": lambda f, v: setattr(node, "scope", self.choice(f, v, ("conversation", "contact"))
                                          or "conversation"),
            "when": lambda f, v: setattr(node, "when", self.choice(f, v, ("any", "past", "future")) or "any"),
            "queue": lambda f, v: setattr(node, "queue", self.choice(f, v, QUEUES) or "general"),
            "priority": lambda f, v: setattr(node, "priority", self.choice(f, v, PRIORITIES) or "normal"),
            "feedback": lambda f, v: setattr(node, "feedback", self.boolean(f, v) is not False),
            "ask_again": lambda f, v: setattr(node, "ask_again", bool(self.boolean(f, v))),
            "min": lambda f, v: setattr(node, "min", self.number(f, v)),
            "max": lambda f, v: setattr(node, "max", self.number(f, v)),
            "retries": self._retries(node),
            "options": lambda f, v: setattr(node, "options", self.options(f, v, ntype)),
            "examples": self._examples(node),
            "sources": self._sources(node),
            "reviewed": self._reviewed(node),
            "native_check": self._native_check(node),
            "cases": self._cases(node),
            "inputs": self._inputs(node),
        }
        for key in schema:
            if key in raw:
                readers[key](key, raw[key])
        self._consistency(node)
        return node

    def _retries(self, node: Node) -> Callable[[str, Any], None]:
        def read(field: str, value: Any) -> None:
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 5:
                self.err(field, "must be a whole number from 0 to 5")
            else:
                node.retries = value
        return read

    def _examples(self, node: Node) -> Callable[[str, Any], None]:
        def read(field: str, value: Any) -> None:
            if not isinstance(value, dict):
                self.err(field, "must map languages to lists of questions")
                return
            for lang, items in value.items():
                if lang not in LANGS:
                    self.err(f"{field}.{lang}", f"unknown language{did_you_mean(str(lang), LANGS)}")
                elif not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
                    self.err(f"{field}.{lang}", "must be a list of non-empty texts")
                else:
                    node.examples[lang] = [i.strip() for i in items]
        return read

    def _sources(self, node: Node) -> Callable[[str, Any], None]:
        def read(field: str, value: Any) -> None:
            if not isinstance(value, list) or not value or not all(isinstance(s, str) and s.strip() for s in value):
                self.err(field, "must be a list of one or more sources")
            else:
                node.sources = [s.strip() for s in value]
        return read

    def _reviewed(self, node: Node) -> Callable[[str, Any], None]:
        def read(field: str, value: Any) -> None:
            if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
                self.err(field, "must be a date written YYYY-MM-DD")
            else:
                node.reviewed = value
        return read

    def _native_check(self, node: Node) -> Callable[[str, Any], None]:
        def read(field: str, value: Any) -> None:
            if not isinstance(value, dict):
                self.err(field, "must map languages to {by: name, on: YYYY-MM-DD}")
                return
            for lang, check in value.items():
                where = f"{field}.{lang}"
                if lang not in LANGS:
                    self.err(where, f"unknown language{did_you_mean(str(lang), LANGS)}")
                elif not isinstance(check, dict) or set(check) != {"by", "on"}:
                    self.err(where, "must be {by: name, on: YYYY-MM-DD}")
                elif not isinstance(check["by"], str) or not check["by"].strip() or len(check["by"]) > MAX_NAME:
                    self.err(f"{where}.by", f"must name who checked it (at most {MAX_NAME} characters)")
                elif isinstance(check["on"], dt.datetime) or not isinstance(check["on"], dt.date):
                    self.err(f"{where}.on", "must be a date written YYYY-MM-DD")
                else:
                    node.native_check[str(lang)] = (check["by"].strip(), check["on"])
        return read

    def _cases(self, node: Node) -> Callable[[str, Any], None]:
        def read(field: str, value: Any) -> None:
            if not isinstance(value, dict) or not value:
                self.err(field, "must map values to nodes")
                return
            for case, target in value.items():
                resolved = self.target(f"{field}.{case}", target)
                if resolved:
                    node.cases[str(case)] = resolved
        return read

    def _inputs(self, node: Node) -> Callable[[str, Any], None]:
        def read(field: str, value: Any) -> None:
            if not isinstance(value, dict):
                self.err(field, "must map the calculator's inputs to variables")
                return
            for name, var in value.items():
                if self.var(f"{field}.{name}", var):
                    node.inputs[str(name)] = var
        return read

    def _consistency(self, node: Node) -> None:
        if node.type != "ask":
            return
        if node.expect == "choice" and not node.options and "options" not in self.raw:
            self.err("options", "missing; a choice question needs options")
        if node.expect not in (None, "choice", "region") and "options" in self.raw:
            self.err("options", f"only for expect: choice or region, not {node.expect}")
        if ("min" in self.raw or "max" in self.raw) and node.expect not in ("number", "integer"):
            self.err("min" if "min" in self.raw else "max", "only for expect: number or integer")
        if "when" in self.raw and node.expect != "date":
            self.err("when", "only for expect: date")
        if node.save_as == "language":
            values = {o.value for o in node.options}
            bad = values - set(LANG_CHOICES)
            if node.expect != "choice" or bad:
                self.err("options", f"the language question needs choice values from {', '.join(LANG_CHOICES)}")


def load_flow(path: Path, problems: list[Problem], broken: set[str]) -> Flow | None:
    """Read one flow file. Unreadable files and nodes are added to `broken` ("flow" or "flow.node")."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        broken.add(path.stem)
        problems.append(Problem(path.name, None, None, "is not UTF-8 text"))
        return None
    return load_flow_text(path.name, text, problems, broken)


def load_flow_text(file: str, text: str, problems: list[Problem], broken: set[str]) -> Flow | None:
    """One flow from the text of the file named `file` (e.g. "patent.yaml")."""
    stem = Path(file).stem
    broken.add(stem)  # until it is read
    data, errs = parse_yaml(text, file)
    problems.extend(errs)
    if errs:
        return None
    if not isinstance(data, dict):
        problems.append(Problem(file, None, None, "must be a mapping with format, id, title, start, nodes"))
        return None
    for key in data:
        if key not in FLOW_FIELDS:
            problems.append(Problem(file, None, str(key), f"unknown field{did_you_mean(str(key), FLOW_FIELDS)}"))
    for key in FLOW_FIELDS:
        if key not in data:
            problems.append(Problem(file, None, key, "missing"))
    if data.get("format", 1) != 1:
        problems.append(Problem(file, None, "format", f"unsupported format {data.get('format')!r}; this is format 1"))
    flow_id = data.get("id")
    if not isinstance(flow_id, str) or not ID_RE.match(flow_id):
        problems.append(Problem(file, None, "id", "must be a name: a-z, 0-9 and _, starting with a letter"))
        return None
    if stem != flow_id:
        problems.append(Problem(file, None, "id", f"'{flow_id}' must match the file name '{stem}'"))
        return None
    broken.discard(flow_id)
    reader = _NodeReader(file, flow_id, "", {}, problems)
    title = reader.l10n("title", data.get("title")) if "title" in data else None
    nodes_raw = data.get("nodes")
    nodes: dict[str, Node] = {}
    if not isinstance(nodes_raw, dict) or not nodes_raw:
        if "nodes" in data:
            problems.append(Problem(file, None, "nodes", "must map node ids to nodes"))
        nodes_raw = {}
    for node_id, raw in nodes_raw.items():
        node_id = str(node_id)
        if not ID_RE.match(node_id):
            problems.append(Problem(file, node_id, None, "node id must be a-z, 0-9 and _, starting with a "
                                                         "letter, at most 40 characters"))
            continue
        if not isinstance(raw, dict):
            problems.append(Problem(file, node_id, None, "must be a mapping with a type"))
            continue
        node = _NodeReader(file, flow_id, node_id, raw, problems).read()
        if node:
            nodes[node_id] = node
        else:
            broken.add(f"{flow_id}.{node_id}")
    start = data.get("start")
    if isinstance(start, str) and start not in nodes_raw:
        problems.append(Problem(file, None, "start", f"no node '{start}'{did_you_mean(start, nodes_raw)}"))
    elif "start" in data and not isinstance(start, str):
        problems.append(Problem(file, None, "start", "must name a node of this flow"))
    return Flow(id=flow_id, file=file, title=title or {}, start=str(start), nodes=nodes)


def load_settings(path: Path, problems: list[Problem]) -> Settings:
    return load_settings_text(path.name, path.read_text(encoding="utf-8") if path.exists() else None, problems)


def load_settings_text(file: str, text: str | None, problems: list[Problem]) -> Settings:
    """The settings from the text of `file` (None: the file is missing)."""
    settings = Settings()
    if text is None:
        problems.append(Problem(file, None, None, "missing: the flow set needs its settings file"))
        return settings
    data, errs = parse_yaml(text, file)
    problems.extend(errs)
    if not isinstance(data, dict):
        if not errs:
            problems.append(Problem(file, None, None, "must be a mapping"))
        return settings
    for key in data:
        if key not in SETTINGS_FIELDS:
            problems.append(Problem(file, None, str(key), f"unknown field{did_you_mean(str(key), SETTINGS_FIELDS)}"))
    langs = data.get("languages", list(LANGS))
    if not isinstance(langs, list) or not set(langs) <= set(LANGS) or not langs:
        problems.append(Problem(file, None, "languages", f"must list languages from {', '.join(LANGS)}"))
    else:
        settings.languages = [str(x) for x in langs]
    default = data.get("default_language", settings.default_language)
    if default not in settings.languages:
        problems.append(Problem(file, None, "default_language", "must be one of the languages"))
    else:
        settings.default_language = str(default)
    for key in ("entry", "language_picker", "mediator"):
        value = data.get(key, getattr(settings, key))
        if not isinstance(value, str) or len(value.split(".")) != 2:
            problems.append(Problem(file, None, key, "must name a node as 'flow.node'"))
        else:
            setattr(settings, key, value)
    queue = data.get("fallback_queue", settings.fallback_queue)
    if queue not in QUEUES:
        problems.append(Problem(file, None, "fallback_queue", f"must be one of {', '.join(QUEUES)}"))
    else:
        settings.fallback_queue = str(queue)
    timeout = data.get("session_timeout_minutes", settings.session_timeout_minutes)
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
        problems.append(Problem(file, None, "session_timeout_minutes", "must be a whole number of minutes"))
    else:
        settings.session_timeout_minutes = timeout
    period = data.get("review_period_days", settings.review_period_days)
    if isinstance(period, bool) or not isinstance(period, int) or period < 1:
        problems.append(Problem(file, None, "review_period_days", "must be a whole number of days"))
    else:
        settings.review_period_days = period
    keywords = data.get("keywords", {})
    if not isinstance(keywords, dict):
        problems.append(Problem(file, None, "keywords", "must map kinds to words per language"))
        keywords = {}
    for kind, per_lang in keywords.items():
        where = f"keywords.{kind}"
        if kind not in KEYWORD_KINDS:
            problems.append(Problem(file, None, where, f"unknown kind{did_you_mean(str(kind), KEYWORD_KINDS)}"))
            continue
        words = _words_per_lang(file, where, per_lang, problems)
        if words is not None:
            settings.keywords[str(kind)] = words
    for kind in KEYWORD_KINDS:
        if kind not in keywords and kind not in OPTIONAL_KEYWORDS:
            problems.append(Problem(file, None, f"keywords.{kind}", "missing"))
    for key in ("yes_words", "no_words"):  # optional: the defaults in model.py when absent
        if key in data and (words := _words_per_lang(file, key, data[key], problems)) is not None:
            setattr(settings, key, words)
    return settings


def _words_per_lang(file: str, where: str, per_lang: Any, problems: list[Problem]) -> dict[str, list[str]] | None:
    """{lang: [words]} with a non-empty list of words for every language."""
    if not isinstance(per_lang, dict):
        problems.append(Problem(file, None, where, "must map languages to lists of words"))
        return None
    words: dict[str, list[str]] = {}
    for lang in LANGS:
        items = per_lang.get(lang)
        if not isinstance(items, list) or not items or not all(isinstance(w, str) and w.strip() for w in items):
            problems.append(Problem(file, None, f"{where}.{lang}", "needs a list of words"))
        else:
            words[lang] = [w.strip() for w in items]
    return words


def load_dir(directory: Path) -> tuple[FlowSet, list[Problem]]:
    """Load every flow in `directory`; returns the (possibly partial) set and all load problems."""
    problems: list[Problem] = []
    if not directory.is_dir():
        problems.append(Problem(str(directory), None, None, "is not a directory of flow files"))
        return FlowSet(flows={}, settings=Settings()), problems
    settings = load_settings(directory / "_settings.yaml", problems)
    flows: dict[str, Flow] = {}
    broken: set[str] = set()
    for path in sorted(directory.glob("*.y*ml")):
        if path.name.startswith("_") or path.suffix not in (".yaml", ".yml"):
            continue
        flow = load_flow(path, problems, broken)
        if flow is None:
            continue
        if flow.id in flows:
            other = flows[flow.id].file
            problems.append(Problem(path.name, None, "id", f"flow '{flow.id}' is also defined in {other}"))
            continue
        flows[flow.id] = flow
    if not flows and not broken:
        problems.append(Problem(str(directory), None, None, "holds no flow files"))
    prices_path = directory / prices.FILE
    table = prices.load_text(prices_path.read_text(encoding="utf-8") if prices_path.exists() else None, problems)
    return FlowSet(flows=flows, settings=settings, broken=broken, prices=table), problems


def is_flow_file(name: str) -> bool:
    """A flow file of a directory: *.yaml or *.yml whose name does not start with "_"."""
    return name.endswith((".yaml", ".yml")) and not name.startswith("_") and "/" not in name


def load_files(files: dict[str, str], where: str = "the flow set") -> tuple[FlowSet, list[Problem]]:
    """As load_dir, from the texts of the files ({"patent.yaml": "...", "_settings.yaml": "..."}): the
    flow set kept in the database is read exactly as the same files in a directory would be."""
    problems: list[Problem] = []
    settings = load_settings_text("_settings.yaml", files.get("_settings.yaml"), problems)
    flows: dict[str, Flow] = {}
    broken: set[str] = set()
    for name in sorted(files):
        if not is_flow_file(name):
            continue
        flow = load_flow_text(name, files[name], problems, broken)
        if flow is None:
            continue
        if flow.id in flows:
            other = flows[flow.id].file
            problems.append(Problem(name, None, "id", f"flow '{flow.id}' is also defined in {other}"))
            continue
        flows[flow.id] = flow
    if not flows and not broken:
        problems.append(Problem(where, None, None, "holds no flow files"))
    table = prices.load_text(files.get(prices.FILE), problems)
    return FlowSet(flows=flows, settings=settings, broken=broken, prices=table), problems
