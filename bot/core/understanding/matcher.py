"""FAQ matching: which answer a free-text question is asking for, in every language at once.

Each answer node is represented by what the flows say about it in all four languages: its `examples`
(how people ask), its `title` and the labels of the menu options that lead to it. Everything is
compared in the matching skeleton (`bot.core.normalize.skeleton`), so a question typed in Tajik
without its letters meets the Tajik examples, and loanwords (патент, регистрация, медкомиссия, ДМС)
meet the examples of every language.

Two views of the text are scored and mixed:
- character n-grams (3 to 5 letters inside words, TF-IDF, cosine): robust to endings, typos and
  missing letters;
- words (TF-IDF over word stems, cosine), where a word the index does not know is first replaced by
  the closest known word (rapidfuzz, Levenshtein ratio), so "patient" finds "patent" and "регистрацыя"
  finds "регистрация".
An answer's score is the best score of its entries.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process

from bot.core.normalize import skeleton

NGRAMS = (3, 4, 5)
STEM = 4  # a word is compared by its first letters: patentni, patentim, патентро -> pate
CHAR_WEIGHT = 0.4  # the rest is the word view
FUZZY_CUTOFF = 80.0  # rapidfuzz ratio for taking an unknown word as a known one
UNKNOWN = 1.0  # how much n-grams and words the index has never seen weigh in a question
NODE_WEIGHT = 0.85  # the share of the whole-answer document in an answer's score
ENTRY_WEIGHTS = {"example": 1.0, "title": 0.95, "label": 0.9}


@dataclass(frozen=True)
class Entry:
    node: str
    kind: str  # example | title | label
    lang: str
    text: str


def char_features(skel: str) -> Counter[str]:
    grams: Counter[str] = Counter()
    for word in skel.split():
        padded = f" {word} "
        for n in NGRAMS:
            if len(padded) < n:
                continue
            grams.update(padded[i:i + n] for i in range(len(padded) - n + 1))
    return grams


def stem(word: str) -> str:
    return word[:STEM]


class _Space:
    """TF-IDF vectors (sublinear tf, l2-normalised) of a set of documents, stored by feature (as the
    columns of a sparse matrix), so that scoring a question touches only the documents sharing a
    feature with it."""

    def __init__(self, docs: list[Counter[str]]):
        self.n = len(docs)
        df: Counter[str] = Counter()
        for doc in docs:
            df.update(doc.keys())
        self.column = {f: j for j, f in enumerate(df)}
        self.idf = np.asarray([math.log((1 + self.n) / (1 + d)) + 1.0 for d in df.values()], dtype=np.float64)
        self.unknown_idf = math.log(1 + self.n) + 1.0
        by_column: list[list[tuple[int, float]]] = [[] for _ in df]
        for i, doc in enumerate(docs):
            weights = {self.column[f]: (1.0 + math.log(c)) * self.idf[self.column[f]] for f, c in doc.items()}
            norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
            for j, w in weights.items():
                by_column[j].append((i, w / norm))
        lengths = [len(col) for col in by_column]
        self.indptr = np.zeros(len(by_column) + 1, dtype=np.int64)
        self.indptr[1:] = np.cumsum(lengths)
        self.indices = np.asarray([i for col in by_column for i, _ in col], dtype=np.int32)
        self.data = np.asarray([w for col in by_column for _, w in col], dtype=np.float32)

    def scores(self, query: Counter[str]) -> npt.NDArray[np.float64]:
        cols, tfs, unknown = [], [], 0.0
        for f, c in query.items():
            j = self.column.get(f)
            if j is None:
                # what the index has never seen still counts in the question's length: a question
                # about something else stays far from every answer
                unknown += ((1.0 + math.log(c)) * self.unknown_idf * UNKNOWN) ** 2
            else:
                cols.append(j)
                tfs.append(1.0 + math.log(c))
        if not cols:
            return np.zeros(self.n)
        col = np.asarray(cols, dtype=np.int64)
        q = np.asarray(tfs) * self.idf[col]
        norm = math.sqrt(float(q @ q) + unknown)
        starts, ends = self.indptr[col], self.indptr[col + 1]
        lengths = ends - starts
        total = int(lengths.sum())
        if total == 0:
            return np.zeros(self.n)
        offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
        weights = self.data[offsets] * np.repeat(q / norm, lengths)
        out = np.bincount(self.indices[offsets], weights=weights, minlength=self.n)
        return out.astype(np.float64, copy=False)


class FaqIndex:
    def __init__(self, entries: Iterable[Entry]):
        self.entries = list(entries)
        skels = [skeleton(e.text) for e in self.entries]
        self.chars = _Space([char_features(s) for s in skels])
        self.words = _Space([Counter(stem(w) for w in s.split()) for s in skels])
        self.vocabulary = sorted({w for s in skels for w in s.split() if len(w) >= 4})
        self._known = set(self.vocabulary)
        self._corrections: dict[str, str] = {}  # unknown word -> its correction, as met
        self.nodes = sorted({e.node for e in self.entries})
        node_pos = {n: i for i, n in enumerate(self.nodes)}
        self._entry_node = np.asarray([node_pos[e.node] for e in self.entries], dtype=np.int32)
        self._entry_weight = np.asarray([ENTRY_WEIGHTS[e.kind] for e in self.entries], dtype=np.float64)
        # every answer as one document too: all its examples, titles and labels together
        node_chars: list[Counter[str]] = [Counter() for _ in self.nodes]
        node_words: list[Counter[str]] = [Counter() for _ in self.nodes]
        for entry, skel in zip(self.entries, skels, strict=True):
            node_chars[node_pos[entry.node]].update(char_features(skel))
            node_words[node_pos[entry.node]].update(stem(w) for w in skel.split())
        self.node_chars = _Space(node_chars)
        self.node_words = _Space(node_words)

    def correct(self, words: list[str]) -> list[str]:
        """Unknown words replaced by the closest known word, when one is close enough."""
        out = []
        for word in words:
            if len(word) >= 4 and word not in self._known and not word.isdigit():
                fixed = self._corrections.get(word)
                if fixed is None:
                    best = process.extractOne(word, self.vocabulary, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
                    fixed = best[0] if best is not None else word
                    if len(self._corrections) >= 20_000:
                        self._corrections.clear()
                    self._corrections[word] = fixed
                word = fixed
            out.append(word)
        return out

    def rank(self, skel: str, exclude: int | None = None) -> list[tuple[str, float]]:
        """Answer nodes, best first, with their scores (0..1). `exclude`: an entry left out (for
        leave-one-out measurements of the entry view)."""
        if not self.entries or not skel:
            return []
        chars = char_features(skel)
        words = Counter(stem(w) for w in self.correct(skel.split()))
        scores = (CHAR_WEIGHT * self.chars.scores(chars) + (1 - CHAR_WEIGHT) * self.words.scores(words)) \
            * self._entry_weight
        if exclude is not None:
            scores[exclude] = 0.0
        best = np.zeros(len(self.nodes))
        np.maximum.at(best, self._entry_node, scores)
        whole = CHAR_WEIGHT * self.node_chars.scores(chars) + (1 - CHAR_WEIGHT) * self.node_words.scores(words)
        best = (1 - NODE_WEIGHT) * best + NODE_WEIGHT * whole
        order = np.argsort(-best)
        return [(self.nodes[i], float(best[i])) for i in order if best[i] > 0]
