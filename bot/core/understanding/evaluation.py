"""Scoring free-text understanding on a labelled question set (the format of shared/eval/*.tsv:
lang, script, label, text, source), as shared/eval/README.md describes:

- a row labelled with a topic is right when the answer given (confidently, or as the first "did you
  mean" option) is a node of that topic; for health_emergency_free_care and health_hiv_tb, handing
  over to a person is right too;
- handoff_needed is right when the conversation is handed to a person;
- out_of_scope is right when no confident answer is given;
- the detected language should equal `lang`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.core.understanding import Analysis, Understanding

ESCALATION_IS_RIGHT = ("health_emergency_free_care", "health_hiv_tb")


def as_json(u: Understanding, a: Analysis) -> dict[str, Any]:
    """What `hotline match` prints for one question."""
    return {
        "text": a.text,
        "lang": a.lang.lang if a.lang else None,
        "script": a.lang.script if a.lang else None,
        "topic": a.topic,
        "node": a.node,
        "confidence": round(a.confidence, 3),
        "action": a.action,
        "options": [{"node": entered, "topic": u.topic_of(n), **({"want": n} if entered != n else {})}
                    for n, entered in zip(a.options, a.entered or a.options, strict=True)],
        **({"urgent": a.urgent.category} if a.urgent else {}),
        **({"asks": a.asks, "want": a.want} if a.asks else {}),
        **({"said": dict(a.facts)} if a.facts else {}),
        **({"also": a.also} if a.also else {}),
    }


def given_topic(u: Understanding, a: Analysis) -> str | None:
    """The topic a migrant would be answered with: the answer's, or the first "did you mean" option's."""
    if a.action == "clarify" and a.options:
        return u.node(a.options[0]).topic
    if a.action in ("answer", "handoff"):
        return a.topic
    return None


def is_right(u: Understanding, label: str, a: Analysis) -> bool:
    if label == "handoff_needed":
        return a.action == "handoff"
    if label == "out_of_scope":
        return a.action != "answer"
    if label in ESCALATION_IS_RIGHT and a.action == "handoff":
        return True
    return given_topic(u, a) == label


@dataclass
class _Tally:
    right: int = 0
    total: int = 0

    def add(self, ok: bool) -> None:
        self.right += ok
        self.total += 1

    @property
    def share(self) -> float:
        return 100.0 * self.right / self.total if self.total else 0.0

    def __str__(self) -> str:
        return f"{self.share:5.1f}%  {self.right:>4}/{self.total:<4}"


@dataclass
class _Group:
    """One line of a table: topic (lenient) over every row, and confident over the rows that want an
    answer (every label but out_of_scope)."""

    topic: _Tally = field(default_factory=_Tally)
    confident: _Tally = field(default_factory=_Tally)

    def __str__(self) -> str:
        confident = f"{self.confident.share:5.1f}%" if self.confident.total else "     -"
        return f"{self.topic}  {confident}"


def is_confident(u: Understanding, label: str, a: Analysis) -> bool:
    """Right without a list of guesses: the answer itself (or the escalation) is the right one."""
    return a.action in ("answer", "handoff") and is_right(u, label, a)


@dataclass
class Report:
    overall: _Group = field(default_factory=_Group)
    by_lang: dict[str, _Group] = field(default_factory=lambda: defaultdict(_Group))
    by_script: dict[str, _Group] = field(default_factory=lambda: defaultdict(_Group))
    by_style: dict[str, _Group] = field(default_factory=lambda: defaultdict(_Group))
    by_label: dict[str, _Group] = field(default_factory=lambda: defaultdict(_Group))
    lang_detection: _Tally = field(default_factory=_Tally)
    handoff: _Tally = field(default_factory=_Tally)
    oos_answered: _Tally = field(default_factory=_Tally)
    oos_offered: _Tally = field(default_factory=_Tally)
    misses: list[tuple[Mapping[str, str], Analysis]] = field(default_factory=list)
    unsure: list[tuple[Mapping[str, str], Analysis]] = field(default_factory=list)
    lang_misses: list[tuple[Mapping[str, str], Analysis]] = field(default_factory=list)

    def lines(self) -> list[str]:
        head = f"{'':<34}{'topic (lenient)':<16}  confident"
        out = [head, f"{'overall':<34}{self.overall}"]
        for title, table in (("by language", self.by_lang), ("by script", self.by_script),
                             ("by style", self.by_style), ("by label", self.by_label)):
            if not table:
                continue
            out.append(title)
            out.extend(f"  {key:<32}{table[key]}" for key in sorted(table))
        out.append(f"{'confident (in-scope rows)':<34}{self.overall.confident}")
        out.append(f"{'language detection':<34}{self.lang_detection}")
        out.append(f"{'handoff_needed escalated':<34}{self.handoff}")
        out.append(f"{'out_of_scope answered confidently':<34}{self.oos_answered}")
        out.append(f"{'out_of_scope offered topics':<34}{self.oos_offered}")
        return out


def evaluate(u: Understanding, rows: Iterable[Mapping[str, str]]) -> Report:
    report = Report()
    for row in rows:
        a = u.analyse(row["text"])
        label = row["label"]
        ok = is_right(u, label, a)
        groups = [report.overall, report.by_lang[row["lang"]], report.by_script[f"{row['lang']} {row['script']}"],
                  report.by_label[label]]
        if row.get("style"):
            groups.append(report.by_style[row["style"]])
        sure = is_confident(u, label, a)
        for group in groups:
            group.topic.add(ok)
            if label != "out_of_scope":
                group.confident.add(sure)
        lang_ok = a.lang is not None and a.lang.lang == row["lang"]
        report.lang_detection.add(lang_ok)
        if label == "handoff_needed":
            report.handoff.add(a.action == "handoff")
        if label == "out_of_scope":
            report.oos_answered.add(a.action == "answer")
            report.oos_offered.add(a.action == "clarify")
        if not ok:
            report.misses.append((row, a))
        elif label != "out_of_scope" and not sure:
            report.unsure.append((row, a))
        if not lang_ok:
            report.lang_misses.append((row, a))
    return report
