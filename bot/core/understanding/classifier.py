"""A second way to match questions, kept for measuring against the FAQ index (`matcher`): a linear
classifier (multinomial logistic regression) over the same features, character n-grams and word stems
of the matching skeleton, TF-IDF weighted, trained at start-up with plain numpy.

Classes are questions, not answer nodes: the variants of one answer for other citizenships or regions
(`variants.Variants.question`) are one class, represented by their first node, so the probability is
the question's and the variant is chosen afterwards for the person. A question's score is its
probability (0..1), so the thresholds differ from the index's (`thresholds.LINEAR_*`).

Training is stochastic gradient descent over the examples, one sparse row at a time (a row touches only
its own features), a fixed number of epochs in a fixed order: the same flows train the same model.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable

import numpy as np
import numpy.typing as npt

from bot.core.normalize import skeleton
from bot.core.understanding.matcher import Entry, char_features, stem

EPOCHS = 8
RATE = 4.0
L2 = 1e-5
WORD_WEIGHT = 1.0  # word stems weigh more than any one character n-gram


def features(skel: str) -> Counter[str]:
    out = char_features(skel)
    for word in skel.split():
        out[f"w:{stem(word)}"] += 1
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
        rows = [self._vector(doc) for doc in docs]
        labels = np.asarray([position[question_of(e.node)] for e in self.entries], dtype=np.int64)
        self.weights = np.zeros((len(self.column), len(self.nodes)), dtype=np.float32)
        self.bias = np.zeros(len(self.nodes), dtype=np.float32)
        self._train(rows, labels)

    def _vector(self, doc: Counter[str]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        cols, vals, unknown = [], [], 0.0
        unknown_idf = math.log(1 + len(self.entries)) + 1.0
        for f, c in doc.items():
            j = self.column.get(f)
            scale = WORD_WEIGHT if f.startswith("w:") else 1.0
            if j is not None:
                cols.append(j)
                vals.append((1.0 + math.log(c)) * float(self.idf[j]) * scale)
            else:  # what was never seen still counts in the length: a question about something else stays flat
                unknown += ((1.0 + math.log(c)) * unknown_idf * scale) ** 2
        v = np.asarray(vals, dtype=np.float32)
        norm = math.sqrt(float(v @ v) + unknown) or 1.0
        return np.asarray(cols, dtype=np.int64), v / norm

    def _train(self, rows: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]],
               labels: npt.NDArray[np.int64]) -> None:
        rng = np.random.default_rng(0)
        order = np.arange(len(rows))
        step = 0
        for epoch in range(EPOCHS):
            rng.shuffle(order)
            rate = RATE / (1 + epoch)
            for i in order:
                cols, vals = rows[i]
                if not len(cols):
                    continue
                w = self.weights[cols]
                logits = vals @ w + self.bias
                logits -= logits.max()
                p = np.exp(logits)
                p /= p.sum()
                p[labels[i]] -= 1.0
                self.weights[cols] = w * (1 - rate * L2) - rate * np.outer(vals, p)
                self.bias -= rate * p * 0.1
                step += 1

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
