"""Understanding free text: normalise -> detect language and script -> urgent patterns -> FAQ match ->
a decision (answer, "did you mean", hand over, or nothing). Pure: no I/O, no network, CPU only.

`Understanding.for_flows(flows)` builds the index once per flow set (language model and FAQ index
from the flows' own texts and examples) and keeps it while the flow set lives.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import ClassVar

from bot.core.normalize import skeleton
from bot.core.understanding import thresholds as th
from bot.core.understanding.langid import LangGuess, LanguageDetector, flow_texts, training_texts
from bot.core.understanding.matcher import Entry, FaqIndex
from bot.core.understanding.person import person_request
from bot.core.understanding.urgent import UNSURE_NODE, Urgent, maybe_urgent, urgent
from bot.flowspec.model import FlowSet, Node

__all__ = ["Analysis", "LangGuess", "Understanding", "Urgent"]

ACTIONS = ("answer", "clarify", "handoff", "none")


@dataclass(frozen=True)
class Analysis:
    text: str
    skeleton: str
    lang: LangGuess | None
    urgent: Urgent | None
    action: str  # answer | clarify | handoff | none
    node: str | None  # the answer (or urgent node) chosen; for `none`, the best guess
    topic: str | None  # the topic of `node` (for `none`: a guess, for the editors)
    confidence: float  # the best answer's score, 0..1 (1 for urgent patterns)
    options: tuple[str, ...] = ()  # for clarify: up to three answer nodes, best first
    ranked: tuple[tuple[str, float], ...] = ()  # the best few answers and their scores


class Understanding:
    _cache: ClassVar[dict[int, tuple[weakref.ref[FlowSet], Understanding]]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, flows: FlowSet):
        self.flows = flows
        entries: list[Entry] = []
        texts: list[tuple[str, str]] = []
        leads_to: dict[str, list[dict[str, str]]] = {}
        for node in flows.nodes():
            for option in node.options:
                if node.type == "menu" and option.next:
                    leads_to.setdefault(option.next, []).append(option.label)
        for node in flows.nodes():
            for field in (node.text, node.title, node.error):
                texts.extend((field or {}).items())
            for option in node.options:
                texts.extend(option.label.items())
            for lang, examples in node.examples.items():
                texts.extend((lang, e) for e in examples)
            if node.type != "answer" or not node.examples:
                continue  # answers without examples (calculator results) are not reached by free text
            for lang, examples in node.examples.items():
                entries.extend(Entry(node.key, "example", lang, e) for e in examples)
            for lang, title in (node.title or {}).items():
                entries.append(Entry(node.key, "title", lang, title))
            for label in leads_to.get(node.key, []):
                entries.extend(Entry(node.key, "label", lang, text) for lang, text in label.items())
        for flow in flows.flows.values():
            texts.extend(flow.title.items())
        self.detector = LanguageDetector(training_texts(flow_texts(texts)))
        self.index = FaqIndex(entries)
        self.answers = {key: flows.node(key) for key in self.index.nodes}

    @classmethod
    def for_flows(cls, flows: FlowSet) -> Understanding:
        """The understanding of a flow set, built on first use and kept while the flow set lives."""
        with cls._lock:
            cached = cls._cache.get(id(flows))
            if cached is not None and cached[0]() is flows:
                return cached[1]
            built = cls(flows)
            cls._cache = {k: v for k, v in cls._cache.items() if v[0]() is not None}
            cls._cache[id(flows)] = (weakref.ref(flows), built)
            return built

    def node(self, key: str) -> Node:
        return self.flows.node(key)

    def escalates(self, key: str) -> bool:
        """Whether entering `key` hands the conversation to a person straight away (an answer without
        feedback that goes on to a handoff node, as the urgent answers do)."""
        current: str | None = key
        for _ in range(10):
            if current is None or not self.flows.has(current):
                return False
            node = self.flows.node(current)
            if node.type == "handoff":
                return True
            if node.type == "goto":
                current = node.target
            elif node.type == "answer" and not node.feedback:
                current = node.next
            else:
                return False
        return False

    def detect(self, text: str, prior: str | None = None) -> LangGuess | None:
        return self.detector.detect(text, prior)

    def analyse(self, text: str, prior: str | None = None) -> Analysis:
        skel = skeleton(text)
        lang = self.detector.detect(text, prior)
        hit = urgent(skel) or person_request(skel, self.flows.settings.mediator)
        if hit is not None:
            first = hit.nodes[0]
            topic = self.flows.node(first).topic if self.flows.has(first) else "handoff_needed"
            return Analysis(text, skel, lang, hit, "handoff", first, topic, 1.0)
        if maybe_urgent(skel) and self.flows.has(UNSURE_NODE):  # one question: "a person now?"
            return Analysis(text, skel, lang, None, "answer", UNSURE_NODE, None, 0.0)
        ranked = self.index.rank(skel) if skel else []
        top = tuple(ranked[:5])
        if not ranked:
            return Analysis(text, skel, lang, None, "none", None, None, 0.0)
        best, score = ranked[0]
        topic = self.answers[best].topic
        # the lead over the next answer on another topic, and over the next answer on the same topic
        other = next((s for n, s in ranked[1:] if self.answers[n].topic != topic), 0.0)
        sibling = next((s for n, s in ranked[1:] if self.answers[n].topic == topic), 0.0)
        leads = score - other >= th.MARGIN * score and score - sibling >= th.SIBLING_MARGIN * score
        if score >= th.SURE or (score >= th.ANSWER and leads):
            action = "handoff" if self.escalates(best) else "answer"
            return Analysis(text, skel, lang, None, action, best, topic, score, ranked=top)
        if score >= th.CLARIFY:
            floor = max(th.CLARIFY, score * th.CLARIFY_SPREAD)
            options = tuple(n for n, s in ranked[:th.CLARIFY_OPTIONS] if s >= floor)
            return Analysis(text, skel, lang, None, "clarify", best, topic, score, options, top)
        guess = topic if score >= th.TOPIC_GUESS else None
        return Analysis(text, skel, lang, None, "none", best if guess else None, guess, score, ranked=top)
