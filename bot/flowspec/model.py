"""The in-memory shape of a flow set (format 1), as the loader builds it from YAML."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from bot.flowspec.prices import EMPTY, PriceData
from bot.vocabulary import LANGS, PRIORITIES, QUEUES

__all__ = ["LANGS", "PRIORITIES", "QUEUES"]  # the words of bot/vocabulary the flow format is written in

# A user-facing text in every language: {"ru": ..., "uz": ..., "tg": ..., "ky": ...}
L10n = dict[str, str]

NODE_TYPES = ("menu", "answer", "ask", "switch", "calculate", "handoff", "goto")
EXPECTS = ("text", "number", "integer", "date", "phone", "choice", "region")


@dataclass(frozen=True)
class Option:
    label: L10n
    next: str | None = None  # menu options: a resolved target "flow.node"
    value: str | None = None  # ask choices: the value saved


@dataclass
class Node:
    flow: str
    id: str
    type: str
    text: L10n | None = None
    title: L10n | None = None
    options: list[Option] = field(default_factory=list)
    next: str | None = None
    topic: str | None = None
    examples: dict[str, list[str]] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    reviewed: dt.date | None = None
    # per language: who checked the text as a native speaker, and when; a language missing here is
    # "written by us" (not yet read by a native speaker)
    native_check: dict[str, tuple[str, dt.date]] = field(default_factory=dict)
    feedback: bool = True
    expect: str | None = None
    save_as: str | None = None
    scope: str = "conversation"
    ask_again: bool = False
    min: float | None = None
    max: float | None = None
    when: str = "any"
    retries: int = 2
    error: L10n | None = None
    on_fail: str | None = None
    on: str | None = None
    cases: dict[str, str] = field(default_factory=dict)
    default: str | None = None
    calculator: str | None = None
    inputs: dict[str, str] = field(default_factory=dict)
    queue: str = "general"
    priority: str = "normal"
    summary: str | None = None
    target: str | None = None
    fields: frozenset[str] = frozenset()  # the fields written in the file

    @property
    def key(self) -> str:
        return f"{self.flow}.{self.id}"

    def targets(self) -> list[tuple[str, str]]:
        """(field, target) pairs of every edge leaving this node, targets already resolved."""
        out: list[tuple[str, str]] = []
        for i, opt in enumerate(self.options):
            if opt.next:
                out.append((f"options[{i + 1}].next", opt.next))
        for name in ("next", "on_fail", "default", "target"):
            value = getattr(self, name)
            if value:
                out.append((name, value))
        for case, value in self.cases.items():
            out.append((f"cases.{case}", value))
        return out


@dataclass
class Flow:
    id: str
    file: str
    title: L10n
    start: str
    nodes: dict[str, Node]


# "Did this help?" / "Delete your data?" answered in words: the words flow versions published before
# _settings.yaml listed them were served with (flows/_settings.yaml lists the same)
YES_WORDS: dict[str, list[str]] = {
    "ru": ["да", "ага", "угу", "помогло", "yes", "ok", "ок", "👍"],
    "uz": ["ha", "xa", "ҳа", "ha yordam berdi", "yes", "ok", "ок", "👍"],
    "tg": ["ҳа", "бале", "ҳа кӯмак кард", "yes", "ok", "ок", "👍"],
    "ky": ["ооба", "ооба жардам берди", "yes", "ok", "ок", "👍"],
}
NO_WORDS: dict[str, list[str]] = {
    "ru": ["нет", "не", "не помогло", "no", "👎"],
    "uz": ["yoʻq", "yoq", "yordam bermadi", "no", "👎"],
    "tg": ["нахӣ", "ёрӣ накард", "не ёрӣ накард", "кӯмак накард", "no", "👎"],
    "ky": ["жок", "жардам бербеди", "no", "👎"],
}


@dataclass
class Settings:
    languages: list[str] = field(default_factory=lambda: list(LANGS))
    default_language: str = "ru"
    entry: str = "main.menu"
    language_picker: str = "language.pick"
    mediator: str = "main.mediator"
    fallback_queue: str = "general"
    session_timeout_minutes: int = 30
    review_period_days: int = 180  # `flows check` warns about answers last reviewed longer ago
    keywords: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    yes_words: dict[str, list[str]] = field(default_factory=lambda: {k: list(v) for k, v in YES_WORDS.items()})
    no_words: dict[str, list[str]] = field(default_factory=lambda: {k: list(v) for k, v in NO_WORDS.items()})


@dataclass
class FlowSet:
    flows: dict[str, Flow]
    settings: Settings
    # Flows whose file could not be read, and nodes whose type is unknown: they are reported once,
    # and references to them are not reported again.
    broken: set[str] = field(default_factory=set)
    prices: PriceData = EMPTY  # the patent price table (_prices.yaml), published with the flows

    def node(self, key: str) -> Node:
        flow_id, _, node_id = key.partition(".")
        return self.flows[flow_id].nodes[node_id]

    def has(self, key: str) -> bool:
        flow_id, _, node_id = key.partition(".")
        return flow_id in self.flows and node_id in self.flows[flow_id].nodes

    def nodes(self) -> list[Node]:
        return [n for f in self.flows.values() for n in f.nodes.values()]

    def typed_entry(self, key: str) -> str:
        """Where a typed question that matched answer `key` enters the flows. An answer that shows a
        calculator's results (the patent price) is entered through the calculator, and through the
        contact question just before it (skipped when already answered): the node chain up from the
        answer while each node has exactly one predecessor that is a switch or a calculate node, up to a
        contact question; any other answer is entered itself."""
        preds: dict[str, list[str]] = {}
        for node in self.nodes():
            for _, target in node.targets():
                preds.setdefault(target, []).append(node.key)
        current, calculated = key, False
        for _ in range(10):
            before = list(dict.fromkeys(preds.get(current, [])))
            if len(before) != 1 or not self.has(before[0]):
                break
            prev = self.node(before[0])
            if prev.type == "switch" and not calculated:
                current = prev.key
            elif prev.type == "calculate" and not calculated:
                current, calculated = prev.key, True
            elif prev.type == "ask" and prev.scope == "contact" and calculated:
                return prev.key
            else:
                break
        return key
