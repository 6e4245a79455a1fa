"""The questions the bot could not answer (stored by the conversation service), grouped by similarity for
the editors: each group with its count, language, the understanding layer's topic and answer guesses; an
editor adds one as an example question to an answer (in their draft) or dismisses the group."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, process
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from bot.core.normalize import fold
from bot.flows_db.yamledit import EditError, clean_text
from bot.storage import Database, Record, reading, transaction

SIMILAR = 80.0  # rapidfuzz token_set_ratio of the folded texts for "the same question"
OPEN = "open"


@dataclass
class Group:
    ids: list[int]
    texts: list[str]  # distinct wordings, the most frequent first
    lang: str | None
    langs: Counter[str | None]
    topic: str | None
    node: str | None
    first: dt.datetime
    last: dt.datetime
    channels: Counter[str] = field(default_factory=Counter)

    @property
    def count(self) -> int:
        return len(self.ids)


def group(rows: list[Any], threshold: float = SIMILAR) -> list[Group]:
    """Similar questions together (same language, close wording once case, script and punctuation are
    folded away); the biggest groups first."""
    buckets: list[list[Any]] = []
    # per language: the folded text of each group's first question, and the group's index
    firsts: dict[str | None, tuple[list[str], list[int]]] = {}
    for row in sorted(rows, key=lambda r: r.created_at):
        key = fold(row.text) or row.text.strip().lower()
        texts, indexes = firsts.setdefault(row.lang, ([], []))
        best = process.extractOne(key, texts, scorer=fuzz.token_set_ratio, score_cutoff=threshold) if texts else None
        if best is not None:
            buckets[indexes[best[2]]].append(row)
        else:
            texts.append(key)
            indexes.append(len(buckets))
            buckets.append([row])
    groups = []
    for members in buckets:
        wordings = Counter(" ".join(r.text.split()) for r in members)
        langs: Counter[str | None] = Counter(r.lang for r in members)
        topics = Counter(r.topic_guess for r in members if r.topic_guess)
        nodes = Counter(r.node_guess for r in members if r.node_guess)
        groups.append(Group(
            ids=[r.id for r in members], texts=[w for w, _ in wordings.most_common()],
            lang=langs.most_common(1)[0][0], langs=langs,
            topic=topics.most_common(1)[0][0] if topics else None, node=nodes.most_common(1)[0][0] if nodes else None,
            first=min(r.created_at for r in members), last=max(r.created_at for r in members),
            channels=Counter(r.channel for r in members)))
    groups.sort(key=lambda g: (-g.count, -g.last.timestamp()))
    return groups


async def open_questions(db: Database, limit: int = 5000) -> list[Record]:
    async with reading(db) as tx:
        return await tx.unanswered.open(limit)


async def close(db: Database, ids: list[int], status: str, staff_id: int) -> int:
    """Mark questions handled ("added" or "dismissed"); only those still open."""
    async with transaction(db) as tx:
        return await tx.unanswered.close(ids, status, staff_id)


def add_example(node: CommentedMap, lang: str, text: str) -> bool:
    """Append `text` to the answer's example questions in `lang` (False when it is there already)."""
    text = " ".join(clean_text(text).split())
    if not text:
        raise EditError("the example is empty")
    if node.get("type") != "answer":
        raise EditError("examples belong to answers")
    examples = node.get("examples")
    if examples is None:
        examples = CommentedMap()
        node["examples"] = examples
    if not isinstance(examples, CommentedMap):
        raise EditError("the answer's examples are not a mapping of languages; correct them in the YAML editor")
    current = examples.get(lang)
    if isinstance(current, list):
        if fold(text) in {fold(str(e)) for e in current}:
            return False
        current.append(text)
        return True
    seq = CommentedSeq([text])
    siblings = [v for v in examples.values() if isinstance(v, CommentedSeq)]
    if siblings and siblings[0].fa.flow_style():
        seq.fa.set_flow_style()
    examples[lang] = seq
    return True
