"""Understanding free text: normalise -> detect language and script -> urgent patterns -> FAQ match ->
a decision (answer, "did you mean", hand over, or nothing). Pure: no I/O, no network, CPU only.

`Understanding.for_flows(flows)` builds the index once per flow set (language model and FAQ index
from the flows' own texts and examples) and keeps it while the flow set lives.
"""

from __future__ import annotations

import hashlib
import re
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from bot.core.normalize import skeleton
from bot.core.understanding import thresholds as th
from bot.core.understanding.classifier import LinearIndex
from bot.core.understanding.langid import LangGuess, LanguageDetector, flow_texts, training_texts
from bot.core.understanding.lookalike import lookalike
from bot.core.understanding.matcher import Entry, FaqIndex
from bot.core.understanding.person import person_request
from bot.core.understanding.profile import said
from bot.core.understanding.urgent import Urgent, maybe_urgent, urgent
from bot.core.understanding.variants import Resolution, Variants
from bot.flowspec.model import FlowSet, Node
from bot.vocabulary import UNSURE_NODE

Index = FaqIndex | LinearIndex

__all__ = ["Analysis", "LangGuess", "Resolution", "Understanding", "Urgent"]

ACTIONS = ("answer", "clarify", "handoff", "none")
_SENTENCES = re.compile(r"[.!?;\n]+|\s[-–—]\s")
OUT_OF_SCOPE = "out_of_scope"  # the topic of answers that say "not ours" (their examples are look-alikes)


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
    asks: str | None = None  # answer: the contact variable `node` (an ask) asks for before the answer
    want: str | None = None  # with `asks`: the answer to give once it is known (resolved again then)
    facts: Mapping[str, str] = field(default_factory=dict)  # citizenship/region said in the message, used
    entered: tuple[str, ...] = ()  # for clarify: what each option enters for this person (an ask first)
    also: str | None = None  # answer: a second question asked in the same message, offered after the first


class Understanding:
    _cache: ClassVar[dict[int, tuple[weakref.ref[FlowSet], Understanding]]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()
    # trained models by what they were trained on; the newest two kept (the served set and the next one)
    _models_cache: ClassVar[dict[bytes, tuple[LanguageDetector, Index]]] = {}
    _models_lock: ClassVar[threading.Lock] = threading.Lock()  # apart: for_flows holds _lock while building

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
            for l10n in (node.text, node.title, node.error):
                texts.extend((l10n or {}).items())
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
        self.answers = {key: flows.node(key) for key in sorted({e.node for e in entries})}
        # the answer for questions that are not ours (a plain "I can't help with that" and the menu)
        self.not_ours = next((k for k, n in self.answers.items() if n.topic == OUT_OF_SCOPE), None)
        self.variants = Variants(flows)
        self.detector, self.index = self._models(texts, entries)
        self.linear = isinstance(self.index, LinearIndex)

    def _models(self, texts: list[tuple[str, str]], entries: list[Entry]) -> tuple[LanguageDetector, Index]:
        """The trained language model and index, shared by flow sets that train them on the same texts (a
        publication that changed only answers, a test's fresh copy of the flows): training takes seconds."""
        questions = {e.node: repr(self.variants.question(e.node)) for e in entries}
        key = hashlib.sha256(repr((th.METHOD, texts, entries, sorted(questions.items()))).encode()).digest()
        with Understanding._models_lock:
            models = Understanding._models_cache.get(key)
        if models is None:
            detector = LanguageDetector(training_texts(flow_texts(texts)))
            # one way of matching, chosen on measurements (thresholds.METHOD); the other is not built
            index: Index = LinearIndex(entries, self.variants.question) if th.METHOD == "linear" else FaqIndex(entries)
            models = (detector, index)
            with Understanding._models_lock:
                Understanding._models_cache = {**dict(list(Understanding._models_cache.items())[-1:]), key: models}
        return models

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

    def analyse(self, text: str, prior: str | None = None, profile: Mapping[str, str] | None = None) -> Analysis:
        """What a typed message asks for; `profile`: the contact's saved variables (citizenship, region)."""
        skel = skeleton(text)
        lang = self.detector.detect(text, prior)
        hit = urgent(skel) or person_request(skel, self.flows.settings.mediator)
        if hit is not None:
            first = hit.nodes[0]
            topic = self.flows.node(first).topic if self.flows.has(first) else "handoff_needed"
            return Analysis(text, skel, lang, hit, "handoff", first, topic, 1.0)
        if maybe_urgent(skel) and self.flows.has(UNSURE_NODE):  # one question: "a person now?"
            return Analysis(text, skel, lang, None, "answer", UNSURE_NODE, None, 0.0)
        return self.decide(text, skel, lang, profile or {})

    def resolve(self, key: str, known: Mapping[str, str]) -> Resolution:
        """The answer node `key` for a person with these contact variables (see `variants`)."""
        return self.variants.resolve(key, known)

    def decide(self, text: str, skel: str, lang: LangGuess | None, profile: Mapping[str, str]) -> Analysis:
        """The FAQ decision: answer, "did you mean", or nothing; the answers are the ones for this person
        (the citizenship and region saved, or said in the message, or asked for first)."""
        ranked, firsts = self._rank(text, skel)
        if not ranked:
            return Analysis(text, skel, lang, None, "none", None, None, 0.0)
        if self.not_ours is not None and lookalike(skel) is not None:
            # about a car, a flight, an invention...: not ours, however much it sounds like our answers
            return Analysis(text, skel, lang, None, "none", self.not_ours, OUT_OF_SCOPE, 1.0, ranked=tuple(ranked[:5]))
        top = tuple(ranked[:5])
        stated = said(skel)
        known = {**{k: v for k, v in profile.items() if k in self.variants.domains}, **stated}
        # one line per question: variants of one answer for other citizenships or regions are the same
        # question, and what is shown is the variant for this person (or the question that asks first)
        questions: list[tuple[str, float, Resolution]] = []
        seen: set[object] = set()
        for key, score in ranked:
            resolution = self.variants.resolve(key, known)
            mark: object = (resolution.node if resolution.asks is None
                            else ("ask", resolution.node, self.variants.question(key)))
            if mark in seen:
                continue
            seen.add(mark)
            questions.append((key, score, resolution))
        key, score, resolution = questions[0]
        answer, sure, clarify = ((th.LINEAR_ANSWER, th.LINEAR_SURE, th.LINEAR_CLARIFY) if self.linear
                                 else (th.ANSWER, th.SURE, th.CLARIFY))
        best = resolution.want or resolution.node
        topic = self.topic_of(best) or self.topic_of(key)
        if topic == OUT_OF_SCOPE:
            # closest to what we know is not ours (a patent for an invention): no answer, no guesses;
            # the engine says so plainly (the node's text) and shows the menu
            # (only when that is clear: a weak "not ours" is a message not understood, and two of those
            # in a row offer a person)
            return Analysis(text, skel, lang, None, "none", key if score >= answer else None,
                            OUT_OF_SCOPE if score >= answer else None, score, ranked=top)
        facts = {var: stated[var] for var in self.variants.depends(key) if var in stated}
        # the lead over the next answer on another topic, and over the next answer on the same topic
        other = next((s for k, s, _ in questions[1:] if self.topic_of(k) != self.topic_of(key)), 0.0)
        sibling = next((s for k, s, _ in questions[1:] if self.topic_of(k) == self.topic_of(key)), 0.0)
        leads = score - other >= th.MARGIN * score and score - sibling >= th.SIBLING_MARGIN * score
        one_word = len(skel.split()) < th.ANSWER_MIN_WORDS  # "патент": a topic, not yet a question
        if not one_word and (score >= sure or (score >= answer and leads)):
            action = "handoff" if resolution.asks is None and self.escalates(resolution.node) else "answer"
            also = self._second(firsts, key, known, answer) if action == "answer" else None
            return Analysis(text, skel, lang, None, action, resolution.node, topic, score, ranked=top,
                            asks=resolution.asks, want=resolution.want, facts=facts, also=also)
        if score >= clarify:
            floor = 0.0 if one_word else max(clarify, score * th.CLARIFY_SPREAD)  # a topic: its best answers
            ours = [(k, s, r) for k, s, r in questions if self.topic_of(k) != OUT_OF_SCOPE]
            chosen = [(k, r) for k, s, r in ours[:th.CLARIFY_OPTIONS] if s >= floor]
            options = tuple(r.want or r.node for _, r in chosen)
            return Analysis(text, skel, lang, None, "clarify", resolution.node, topic, score, options, top,
                            facts=facts, entered=tuple(r.node for _, r in chosen))
        guess = topic if score >= th.TOPIC_GUESS else None
        return Analysis(text, skel, lang, None, "none", resolution.node if guess else None, guess, score,
                        ranked=top)

    def rank(self, text: str, skel: str) -> list[tuple[str, float]]:
        """Answers by score for the whole message and, in a long one, for each of its sentences: the
        question is often one sentence after a story ("...I came in March. How many days do I have?")."""
        return self._rank(text, skel)[0]

    def _rank(self, text: str, skel: str) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
        """The ranking, and the best answer of each sentence of a long message (first sentence first)."""
        index = self.index
        ranked = index.rank(skel) if skel else []
        parts = [p for p in (skeleton(s) for s in _SENTENCES.split(text)) if len(p.split()) >= th.PART_MIN_WORDS]
        if len(parts) < 2 or not ranked:
            return ranked, []
        scores = dict(ranked)
        firsts = []
        for part in parts[-th.PARTS:]:
            ranked_part = index.rank(part)
            if ranked_part:
                firsts.append(ranked_part[0])
            for key, score in ranked_part:
                scores[key] = max(scores.get(key, 0.0), score * th.PART_WEIGHT)
        return sorted(scores.items(), key=lambda kv: -kv[1]), firsts

    def _second(self, firsts: list[tuple[str, float]], answered: str, known: Mapping[str, str],
                threshold: float) -> str | None:
        """A second question in the same message (another sentence, another topic, as sure as an
        answer): offered after the first one is answered."""
        for key, score in firsts:
            topic = self.topic_of(key)
            if score >= threshold and topic not in (self.topic_of(answered), OUT_OF_SCOPE):
                resolution = self.variants.resolve(key, known)
                return resolution.want or resolution.node
        return None

    def topic_of(self, key: str) -> str | None:
        return self.flows.node(key).topic if self.flows.has(key) else None
