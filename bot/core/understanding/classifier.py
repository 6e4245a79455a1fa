"""A second way to match questions, kept for measuring against the FAQ index (`matcher`): a linear
classifier (multinomial logistic regression) over the same features, character n-grams and word stems
of the matching skeleton, TF-IDF weighted, trained at start-up with plain numpy.

Classes are questions, not answer nodes: the variants of one answer for other citizenships or regions
(`variants.Variants.question`) are one class, represented by their first node, so the probability is
the question's and the variant is chosen afterwards for the person. A question's score is its
probability (0..1), so the thresholds differ from the index's (`thresholds.LINEAR_*`).

Training is mini-batch gradient descent over the examples (BATCH rows as one small dense block over
the features they touch), a fixed number of epochs in a fixed order: the same flows train the same
model. One row at a time with 8 epochs gave the same figures on both dev sets at twice the start-up.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from bot.core.normalize import skeleton
from bot.core.understanding.matcher import NGRAMS, Entry, stem

EPOCHS = 5
BATCH = 16
RATE = 4.0
L2 = 1e-5
WORD_WEIGHT = 1.0  # word stems weigh more than any one character n-gram


@lru_cache(maxsize=1 << 16)
def _word_features(word: str) -> tuple[str, ...]:
    padded = f" {word} "
    grams = [padded[i:i + n] for n in NGRAMS if len(padded) >= n for i in range(len(padded) - n + 1)]
    return (*grams, f"w:{stem(word)}")


def features(skel: str) -> Counter[str]:
    """Character n-grams of each word (as `matcher.char_features`) and its stem; a word's features are
    computed once (examples and questions repeat their words)."""
    out: Counter[str] = Counter()
    for word in skel.split():
        out.update(_word_features(word))
    return out


class LinearIndex:
    def __init__(self, entries: Iterable[Entry], question_of: Callable[[str], object]):
        self.entries = [e for e in entries if e.kind == "example" or e.kind == "title"]
        classes: dict[object, str] = {}
        for entry in self.entries:
            classes.setdefault(question_of(entry.node), entry.node)
        self.nodes = list(classes.values())
        position = {q: i for i, q in enumerate(classes)}
        docs = [features(skeleton(e.text)) for e in self.entries]
        df: Counter[str] = Counter()
        for doc in docs:
            df.update(doc.keys())
        self.column = {f: j for j, f in enumerate(df)}
        n = len(docs)
        self.idf = np.asarray([math.log((1 + n) / (1 + d)) + 1.0 for d in df.values()], dtype=np.float32)
        self.unknown_idf = math.log(1 + len(self.entries)) + 1.0
        is_word = np.fromiter((f.startswith("w:") for f in self.column), dtype=bool, count=len(self.column))
        self.scale = np.where(is_word, np.float32(WORD_WEIGHT), np.float32(1.0)).astype(np.float32)
        labels = np.asarray([position[question_of(e.node)] for e in self.entries], dtype=np.int64)
        self.weights = np.zeros((len(self.column), len(self.nodes)), dtype=np.float32)
        self.bias = np.zeros(len(self.nodes), dtype=np.float32)
        self._train(*self._matrix(docs), labels)

    def _matrix(self, docs: list[Counter[str]]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64],
                                                         npt.NDArray[np.float32]]:
        """The training documents as one sparse matrix (row starts, columns, values), each row as
        `_vector` makes it; every feature of a training document has a column."""
        starts, cols, counts = [0], list[int](), list[int]()
        for doc in docs:
            cols.extend(map(self.column.__getitem__, doc))
            counts.extend(doc.values())
            starts.append(len(cols))
        col = np.asarray(cols, dtype=np.int64)
        vals = self._weights(col, counts)
        bounds = np.asarray(starts, dtype=np.int64)
        norms = np.sqrt(np.add.reduceat(vals * vals, bounds[:-1])) if len(vals) else np.zeros(0, np.float32)
        lengths = np.diff(bounds)
        norms[lengths == 0] = 1.0
        return bounds, col, (vals / np.repeat(norms, lengths)).astype(np.float32)

    def _weights(self, col: npt.NDArray[np.int64], counts: list[int]) -> npt.NDArray[np.float32]:
        """Sublinear term frequency × idf × the word/letter weight, per known feature (not normalised)."""
        tf = 1.0 + np.log(np.asarray(counts, dtype=np.float32))
        weights: npt.NDArray[np.float32] = (tf * self.idf[col] * self.scale[col]).astype(np.float32)
        return weights

    def _vector(self, doc: Counter[str]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """A question's TF-IDF vector over the known features, normalised with what was never seen
        counted in its length (a question about something else stays flat)."""
        cols, counts, unknown = [], [], 0.0
        get = self.column.get
        for f, c in doc.items():
            j = get(f)
            if j is not None:
                cols.append(j)
                counts.append(c)
            else:
                scale = WORD_WEIGHT if f.startswith("w:") else 1.0
                unknown += ((1.0 + math.log(c)) * self.unknown_idf * scale) ** 2
        col = np.asarray(cols, dtype=np.int64)
        v = self._weights(col, counts)
        norm = math.sqrt(float(v @ v) + unknown) or 1.0
        return col, (v / norm).astype(np.float32)

    def _train(self, bounds: npt.NDArray[np.int64], cols: npt.NDArray[np.int64], vals: npt.NDArray[np.float32],
               labels: npt.NDArray[np.int64]) -> None:
        """Mini-batch gradient descent on the cross-entropy, BATCH rows at a time, each batch read as one
        small dense block over the features it touches (numpy, not a Python loop per row). The batches
        are drawn once and visited in a new order every epoch, so what a batch touches is worked out once:
        ten times faster than one row at a time for the same figures (thresholds.py)."""
        rng = np.random.default_rng(0)
        rows_kept = rng.permutation(np.flatnonzero(np.diff(bounds) > 0))  # an empty row teaches nothing
        batches = []
        for b in range(0, len(rows_kept), BATCH):
            rows = rows_kept[b:b + BATCH]
            lengths = bounds[rows + 1] - bounds[rows]
            firsts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
            picks = np.repeat(bounds[rows] - firsts, lengths) + np.arange(int(lengths.sum()))
            touched, where = np.unique(cols[picks], return_inverse=True)
            at = (np.repeat(np.arange(len(rows)), lengths), where)
            batches.append((touched, at, vals[picks], labels[rows]))
        for epoch in range(EPOCHS):
            rate = RATE / (1 + epoch)
            for i in rng.permutation(len(batches)):
                touched, at, values, truth = batches[i]
                block = np.zeros((len(truth), len(touched)), dtype=np.float32)
                block[at] = values
                w = self.weights[touched]
                logits = block @ w + self.bias
                logits -= logits.max(axis=1, keepdims=True)
                p = np.exp(logits)
                p /= p.sum(axis=1, keepdims=True)
                p[np.arange(len(truth)), truth] -= 1.0
                self.weights[touched] = w * (1 - rate * L2) - rate * (block.T @ p)
                self.bias -= rate * p.sum(axis=0) * 0.1

    def rank(self, skel: str) -> list[tuple[str, float]]:
        if not skel or not self.nodes:
            return []
        cols, vals = self._vector(features(skel))
        if not len(cols):
            return []
        logits = vals @ self.weights[cols] + self.bias
        logits -= logits.max()
        p = np.exp(logits)
        p /= p.sum()
        order = np.argsort(-p)
        return [(self.nodes[i], float(p[i])) for i in order[:10]]
