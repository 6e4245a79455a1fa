"""Checks across a whole flow set: targets, topics, calculators, placeholders saved before use,
channel limits, reachability."""

from __future__ import annotations

import datetime as dt
import re
import string
from collections import Counter, deque
from pathlib import Path

from bot import payloads
from bot.flowspec import prices, provenance
from bot.flowspec.calculators import SIGNATURES as CALCULATORS
from bot.flowspec.loader import load_dir
from bot.flowspec.model import LANGS, FlowSet, L10n, Node
from bot.flowspec.problems import FlowError, Problem, did_you_mean
from bot.flowspec.regions import region_ids
from bot.flowspec.taxonomy import topics
from bot.vocabulary import UNSURE_NODE

MAX_TEXT = 1600  # WhatsApp's limit for one message; Telegram's (4,096) is larger
SOURCE_AGE = dt.timedelta(days=365)  # an answer whose newest dated source is older gets a warning
BUILTIN_VARS = frozenset({"language"})
# Values the shared choice variables take; switches on them are checked against these.
KNOWN_VALUES = {
    "citizenship": ("uz", "tj", "kg", "eaeu", "other"),  # eaeu: Kazakhstan, Armenia, Belarus
    "region": region_ids(),  # the 89 regions of the price table, and "other"
}


def placeholders(text: str) -> set[str] | None:
    """Names used as {name} in text; None when the braces are malformed."""
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError:
        return None


# A number as written: digits, with thousands grouped by (narrow) spaces, commas or dots, decimals by a
# comma or a dot, and dates as 15.03 or 15.03.2026.
_NUMBER = re.compile(r"(?<!\d)\d+(?:[ \u00a0\u202f\u2009]\d{3}(?!\d)|[.,]\d+)*")
_DATE = re.compile(r"(\d{1,2})\.(\d{2})(?:\.(\d{2}|\d{4}))?")
# Month names (ru, uz, tg, ky share the stems); "15 марта", "15-mart", "15 март", "15-мартта" are the date 15.3
_MONTH_STEMS = (("январ", "yanvar"), ("феврал", "fevral"), ("март", "mart"), ("апрел", "aprel"),
                ("ма[йя]", "may"), ("июн", "iyun"), ("июл", "iyul"), ("август", "avgust"),
                ("сентябр", "sentabr|sentyabr"), ("октябр", "oktabr|oktyabr"), ("ноябр", "noyabr"),
                ("декабр", "dekabr"))
_MONTH_DATE = re.compile(r"(?<![\d.,])(\d{1,2})[ \u00a0\u202f-]{1,2}(?:(" + ")|(".join(
    "|".join(stems) for stems in _MONTH_STEMS) + "))", re.IGNORECASE)


def numbers(text: str) -> Counter[str]:
    """The numbers of a text, normalised so that one number written in each language's way compares
    equal: "8 137", "8,137", "8\u202f137" and "8.137" are 8137; "2,842" and "2.842" both 2842 (a
    comma or a dot before exactly three digits is read the same way in every language); "1,5" is 1.5;
    "15.03" and "15 марта" (or "15-mart") are the date 15.3, and the year of "15.03.2026" is a number of
    its own, as it is in "2026-yil 15-mart"."""
    found: Counter[str] = Counter()

    def month_date(match: re.Match[str]) -> str:
        month = next(i for i, g in enumerate(match.groups()[1:], start=1) if g)
        found[f"{int(match.group(1))}.{month}"] += 1
        return " "

    for match in _NUMBER.finditer(_MONTH_DATE.sub(month_date, text)):
        token = match.group(0)
        date = _DATE.fullmatch(token)
        if date and 1 <= int(date.group(1)) <= 31 and 1 <= int(date.group(2)) <= 12:
            day, month, year = date.groups()
            found[f"{int(day)}.{int(month)}"] += 1
            if year:
                found[str(int(year))] += 1
            continue
        token = re.sub(r"[ \u00a0\u202f\u2009]", "", token)
        token = re.sub(r"[.,](?=\d{3}(?!\d))", "", token)  # grouping, or a 3-decimal figure: alike everywhere
        whole, _, fraction = token.replace(",", ".").partition(".")
        found[str(int(whole)) + ("." + fraction if fraction else "")] += 1
    return found


def _moscow_today() -> dt.date:
    # the latest date anywhere: a `reviewed` date of today is never "in the future" for its editor
    return (dt.datetime.now(dt.UTC) + dt.timedelta(hours=14)).date()



def _texts(node: Node) -> list[tuple[str, L10n]]:
    out: list[tuple[str, L10n]] = []
    for name in ("text", "title", "error"):
        value = getattr(node, name)
        if value:
            out.append((name, value))
    for i, opt in enumerate(node.options, start=1):
        if opt.label:
            out.append((f"options[{i}].label", opt.label))
    return out


class Checker:
    def __init__(self, flowset: FlowSet, today: dt.date | None = None):
        self.fs = flowset
        self.today = today or _moscow_today()
        self.problems: list[Problem] = []
        self.universe: set[str] = set()

    def err(self, node: Node, field: str | None, message: str, warning: bool = False) -> None:
        self.problems.append(Problem(self.fs.flows[node.flow].file, node.id, field, message, warning))

    def run(self) -> list[Problem]:
        self.check_settings()
        for node in self.fs.nodes():
            self.check_button_data(node)
            self.check_targets(node)
            self.check_texts(node)
            self.check_numbers(node)
            self.check_node(node)
            self.check_provenance(node)
            self.check_native(node)
        self.check_dataflow()
        self.check_reachable()
        self.check_prices()
        return self.problems

    def check_prices(self) -> None:
        self.problems.extend(prices.check(self.fs.prices, self.today))
        users = [n for n in self.fs.nodes() if n.type == "calculate" and n.calculator == "patent_price"]
        if users and not self.fs.prices.deflators:
            self.err(users[0], "calculator", f"patent_price needs the price table ({prices.FILE}) with deflators")

    def missing_target(self, target: str) -> str:
        flow_id, _, node_id = target.partition(".")
        if flow_id not in self.fs.flows:
            return f"no flow '{flow_id}'{did_you_mean(flow_id, self.fs.flows)}"
        return f"no node '{node_id}' in flow '{flow_id}'{did_you_mean(node_id, self.fs.flows[flow_id].nodes)}"

    def check_settings(self) -> None:
        s = self.fs.settings
        for key in ("entry", "language_picker", "mediator"):
            target = getattr(s, key)
            if self.fs.flows and not self.fs.has(target) and not self.is_broken(target):
                self.problems.append(Problem("_settings.yaml", None, key, self.missing_target(target)))
        if self.fs.has(s.mediator) and self.fs.node(s.mediator).type != "handoff":
            self.problems.append(Problem("_settings.yaml", None, "mediator", "must name a handoff node"))
        if self.fs.has(s.language_picker):
            picker = self.fs.node(s.language_picker)
            if picker.type != "ask" or picker.save_as != "language":
                self.problems.append(Problem("_settings.yaml", None, "language_picker",
                                             "must name an ask node that saves 'language'"))

    def is_broken(self, target: str) -> bool:
        return target in self.fs.broken or target.partition(".")[0] in self.fs.broken

    def check_button_data(self, node: Node) -> None:
        # Telegram carries at most 64 bytes of callback data: "o:flow.node:10" must fit.
        if node.options and len(payloads.option(node.key, len(node.options)).encode()) > 64:
            self.err(node, None, "flow id and node id are too long together for a Telegram button "
                                 "(at most 57 characters with the dot)")

    def check_targets(self, node: Node) -> None:
        for field, target in node.targets():
            if not self.fs.has(target) and not self.is_broken(target):
                self.err(node, field, self.missing_target(target))

    def check_texts(self, node: Node) -> None:
        for field, texts in _texts(node):
            found: dict[str, set[str]] = {}
            for lang, text in texts.items():
                names = placeholders(text)
                if names is None:
                    self.err(node, f"{field}.{lang}", "unbalanced braces; write {{ and }} for a literal brace")
                    continue
                found[lang] = names
                length = len(text) + (provenance.line_bound(node) if field == "text" else 0)
                if length > MAX_TEXT:
                    with_line = " with the checked/source line" if length > len(text) else ""
                    self.err(node, f"{field}.{lang}", f"{length} characters{with_line}; at most {MAX_TEXT} "
                                                      "(WhatsApp)")
            reference = found.get("ru", set())
            for lang in LANGS:
                if lang in found and found[lang] != reference:
                    missing = sorted(reference - found[lang])
                    extra = sorted(found[lang] - reference)
                    parts = [f"lacks {{{m}}}" for m in missing] + [f"has {{{e}}} that ru lacks" for e in extra]
                    self.err(node, f"{field}.{lang}", "placeholders differ from ru: " + ", ".join(parts))

    def check_numbers(self, node: Node) -> None:
        """One text says the same in every language: the same numbers, dates and amounts."""
        for field, texts in _texts(node):
            if "ru" not in texts:
                continue
            reference = numbers(texts["ru"])
            for lang in LANGS:
                if lang == "ru" or lang not in texts:
                    continue
                found = numbers(texts[lang])
                if found != reference:
                    missing = sorted((reference - found).elements())
                    extra = sorted((found - reference).elements())
                    parts = ([f"lacks {', '.join(missing)}"] if missing else []) + (
                        [f"has {', '.join(extra)} that ru lacks"] if extra else [])
                    self.err(node, f"{field}.{lang}", "numbers differ from ru: " + "; ".join(parts))

    def check_native(self, node: Node) -> None:
        for lang, (_, on) in node.native_check.items():
            if on > self.today:
                self.err(node, f"native_check.{lang}.on", f"{on.isoformat()} is after today ({self.today.isoformat()})")

    def check_provenance(self, node: Node) -> None:
        """`reviewed` is a day a person checked the facts: never in the future; warned when it is past the
        review period, or when the newest source it names is more than a year old."""
        if node.type != "answer" or node.reviewed is None:
            return
        if node.reviewed > self.today:
            self.err(node, "reviewed", f"{node.reviewed.isoformat()} is after today ({self.today.isoformat()}); "
                                       "write the day the facts were checked against the sources")
            return
        period = self.fs.settings.review_period_days
        if (self.today - node.reviewed).days > period:
            self.err(node, "reviewed", f"last checked {node.reviewed.isoformat()}, more than {period} days ago "
                                       "(review_period_days): check the facts against the sources again",
                     warning=True)
        dates = [d for s in node.sources for d in provenance.dates_in(s)]
        if dates and self.today - max(dates) > SOURCE_AGE:
            self.err(node, "sources", f"the newest source is from {max(dates).isoformat()}, more than a year "
                                      "ago: look for a newer one", warning=True)

    def check_node(self, node: Node) -> None:
        known_topics = topics()
        if node.topic is not None and node.topic not in known_topics:
            self.err(node, "topic", f"unknown topic '{node.topic}'{did_you_mean(node.topic, known_topics)}")
        if node.type == "answer" and node.topic not in provenance.UNSOURCED_TOPICS:
            if "sources" not in node.fields:
                self.err(node, "sources", "missing; an answer with facts names its sources")
            if "reviewed" not in node.fields:
                self.err(node, "reviewed", "missing; an answer with facts carries the date it was checked")
        if node.type == "calculate" and node.calculator:
            calc = CALCULATORS.get(node.calculator)
            if calc is None:
                self.err(node, "calculator", f"unknown calculator '{node.calculator}'"
                                             f"{did_you_mean(node.calculator, CALCULATORS)}")
            else:
                for name in calc.inputs:
                    if name not in node.inputs:
                        self.err(node, f"inputs.{name}", "missing")
                for name in node.inputs:
                    if name not in calc.inputs:
                        self.err(node, f"inputs.{name}", f"'{node.calculator}' has no such input"
                                                         f"{did_you_mean(name, calc.inputs)}")
        if node.type == "switch" and node.on:
            allowed = self.switch_values(node.on)
            if allowed is not None:
                for case in node.cases:
                    if case not in allowed:
                        self.err(node, f"cases.{case}", f"'{node.on}' is never '{case}'; it is one of "
                                                        f"{', '.join(allowed)}{did_you_mean(case, allowed)}")
        if node.type == "ask" and node.expect in ("choice", "region") and node.options:
            values = [o.value for o in node.options]
            if len(set(values)) != len(values):
                self.err(node, "options", "two options have the same value")
            if node.save_as in KNOWN_VALUES:
                for i, opt in enumerate(node.options, start=1):
                    if opt.value not in KNOWN_VALUES[node.save_as]:
                        self.err(node, f"options[{i}].value", f"'{node.save_as}' takes one of "
                                                              f"{', '.join(KNOWN_VALUES[node.save_as])}")

    def switch_values(self, var: str) -> tuple[str, ...] | None:
        for calc in CALCULATORS.values():
            if var in calc.statuses:
                return calc.statuses[var]
        if var in KNOWN_VALUES:
            return KNOWN_VALUES[var]
        choices = {o.value for n in self.fs.nodes() if n.type == "ask" and n.save_as == var for o in n.options}
        return tuple(sorted(v for v in choices if v)) or None

    def entries(self) -> set[str]:
        s = self.fs.settings
        keys = {s.entry, s.language_picker, s.mediator}
        keys |= {f"{f.id}.{f.start}" for f in self.fs.flows.values()}
        # Free-text matching can enter any answer that has examples, with nothing saved yet.
        keys |= {self.fs.typed_entry(n.key) for n in self.fs.nodes() if n.type == "answer" and n.examples}
        return {k for k in keys if self.fs.has(k)}

    def gen(self, node: Node, field: str) -> set[str]:
        if node.type == "ask" and node.save_as and field == "next":
            return {node.save_as}
        if node.type == "calculate":
            if node.calculator in CALCULATORS:
                return set(CALCULATORS[node.calculator].outputs)
            return set(self.universe)  # an unknown calculator is reported once, not at every use
        return set()

    def check_dataflow(self) -> None:
        """A variable must be saved on every path to the node that uses it (a 'must' analysis)."""
        nodes = {n.key: n for n in self.fs.nodes()}
        # Every name saved or used anywhere: the "top" of the analysis, and what an unknown
        # calculator is assumed to save (it is reported once, not at every use of its results).
        names = {name for n in nodes.values() for _, texts in _texts(n) for t in texts.values()
                 for name in placeholders(t) or ()}
        names |= {n.on for n in nodes.values() if n.on} | {v for n in nodes.values() for v in n.inputs.values()}
        self.universe = set(BUILTIN_VARS) | names | {n.save_as for n in nodes.values() if n.save_as} | {
            o for c in CALCULATORS.values() for o in c.outputs}
        universe = self.universe
        preds: dict[str, list[tuple[str, str]]] = {k: [] for k in nodes}
        for n in nodes.values():
            for field, target in n.targets():
                if target in preds:
                    preds[target].append((n.key, field))
        entries = self.entries()
        reachable = self.reachable(entries)
        defined_in = {k: (set(BUILTIN_VARS) if k in entries else set(universe)) for k in nodes}
        queue = deque(nodes)
        while queue:
            key = queue.popleft()
            new = set(universe) if key not in entries else set(BUILTIN_VARS)
            for pred, field in preds[key]:
                if pred in reachable:
                    new &= defined_in[pred] | self.gen(nodes[pred], field)
            if new != defined_in[key]:
                defined_in[key] = new
                queue.extend(t for _, t in nodes[key].targets() if t in nodes)
        for key, node in nodes.items():
            if key not in reachable:
                continue  # unreachable nodes get a warning, not a cascade of errors
            have = defined_in[key]
            used: list[tuple[str, str]] = []
            for field, texts in _texts(node):
                for lang, text in texts.items():
                    used.extend((f"{field}.{lang}", name) for name in placeholders(text) or ())
            if node.type == "switch" and node.on:
                used.append(("on", node.on))
            if node.type == "calculate":
                used.extend((f"inputs.{k}", v) for k, v in node.inputs.items())
            reported: set[str] = set()
            for field, name in used:
                if name not in have and name not in reported:
                    reported.add(name)
                    self.err(node, field, f"'{name}' is not saved on every path to this node")

    def reachable(self, start: set[str] | list[str]) -> set[str]:
        seen = set(start)
        queue = deque(start)
        while queue:
            for _, target in self.fs.node(queue.popleft()).targets():
                if target not in seen and self.fs.has(target):
                    seen.add(target)
                    queue.append(target)
        return seen

    def check_reachable(self) -> None:
        s = self.fs.settings
        start = [k for k in (s.entry, s.language_picker, s.mediator) if self.fs.has(k)]
        # typed text reaches an answer with example questions (e.g. main.not_ours, for look-alikes), and
        # the "a person now?" question asked when a message may be urgent
        typed = [n.key for n in self.fs.nodes() if (n.type == "answer" and n.examples) or n.key == UNSURE_NODE]
        seen = self.reachable(start + typed) if start else set()
        for node in self.fs.nodes():
            if node.key not in seen and start:
                self.err(node, None, "unreachable from the main menu", warning=True)


def check(flowset: FlowSet, today: dt.date | None = None) -> list[Problem]:
    """Every problem of the flow set; `today` (default: today) dates the `reviewed` checks."""
    return Checker(flowset, today).run()


def check_dir(directory: Path, today: dt.date | None = None) -> tuple[FlowSet, list[Problem]]:
    flowset, problems = load_dir(directory)
    problems = problems + check(flowset, today)
    return flowset, problems


def load(directory: Path) -> FlowSet:
    """The flow set in `directory`, or FlowError with every error (warnings don't stop it)."""
    flowset, problems = check_dir(directory)
    errors = [p for p in problems if not p.warning]
    if errors:
        raise FlowError(errors)
    return flowset
