"""Which language and script a short message is written in: ru, uz (Latin or Cyrillic), tg, ky.

A multinomial naive Bayes over character n-grams and words, trained when the index is built from the
flows themselves (every text, title, label and example, in all four languages). The training text is
widened the way people type: Uzbek also in Cyrillic (made by `uz_latin_to_cyrillic`) and with or
without the oʻ/gʻ marks, Tajik and Kyrgyz also without their own letters, Russian also typed in Latin
letters (several common schemes: zh/j, ch/4, sh/6/w, y/i for ы). No model file, no download.
"""

from __future__ import annotations

import math
import random
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bot.core.translit import uz_latin_to_cyrillic

# (language, script) classes the model tells apart
CLASSES: tuple[tuple[str, str], ...] = (("ru", "Cyrl"), ("ru", "Latn"), ("uz", "Latn"), ("uz", "Cyrl"),
                                        ("tg", "Cyrl"), ("ky", "Cyrl"))
_APOS = re.compile(r"[ʻʼ'`‘’ʹ]")
_DIGIT_IN_WORD = re.compile(r"(?<=[a-z])[46]|[46](?=[a-z])")
_NOT_LETTER = re.compile(r"[^\w'@]+|\d+|_")
_REPEAT = re.compile(r"(\w)\1{2,}")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[a-z]")
# Letters only one of the languages has (Uzbek ў; Tajik ӣ ӯ ҷ; Kyrgyz ң ө ү; Uzbek Latin oʻ gʻ)
_OWN_LETTERS = {"ў": ("uz", "Cyrl"), "ӣ": ("tg", "Cyrl"), "ӯ": ("tg", "Cyrl"), "ҷ": ("tg", "Cyrl"),
                "ң": ("ky", "Cyrl"), "ө": ("ky", "Cyrl"), "ү": ("ky", "Cyrl")}
_OWN_BONUS = 6.0  # log-likelihood added per own letter: one of them settles the question
_PLAIN = str.maketrans({"ӣ": "и", "ӯ": "у", "ҳ": "х", "ҷ": "ч", "қ": "к", "ғ": "г", "ң": "н", "ө": "о",
                        "ү": "у", "ў": "у"})
_RU_LATIN = [  # (Cyrillic, spellings seen in Russian typed in Latin letters)
    ("щ", ("sch", "sh", "shch")), ("ж", ("zh", "j", "zh")), ("х", ("h", "kh", "x")), ("ц", ("c", "ts", "c")),
    ("ч", ("ch", "4", "ch")), ("ш", ("sh", "6", "w", "sh")), ("ы", ("y", "i", "y")), ("й", ("y", "i", "j")),
    ("э", ("e",)), ("ю", ("yu", "ju", "iu")), ("я", ("ya", "ja", "ia")), ("ё", ("e", "yo")), ("ь", ("", "'", "")),
    ("ъ", ("",)), ("а", ("a",)), ("б", ("b",)), ("в", ("v",)), ("г", ("g",)), ("д", ("d",)), ("е", ("e",)),
    ("з", ("z",)), ("и", ("i",)), ("к", ("k",)), ("л", ("l",)), ("м", ("m",)), ("н", ("n",)), ("о", ("o",)),
    ("п", ("p",)), ("р", ("r",)), ("с", ("s",)), ("т", ("t",)), ("у", ("u",)), ("ф", ("f",)),
]
_RU_LATIN_MAP = dict(_RU_LATIN)
_ALPHA = 0.5  # additive smoothing


@dataclass(frozen=True)
class LangGuess:
    lang: str  # ru uz tg ky
    script: str  # Latn | Cyrl
    confidence: float  # 0..1: how far the best language is ahead of the next one
    scores: dict[str, float]  # per language, softmax over the length-normalised log-likelihoods

    @property
    def choice(self) -> str:
        """As the language picker names it: ru, uz, uz_cyrl, tg, ky."""
        return "uz_cyrl" if (self.lang, self.script) == ("uz", "Cyrl") else self.lang


CLASS_CHARS = 100_000  # training text per language and script (see `_sample`)
WORD_CACHE = 50_000  # words whose feature rows are kept (a few MB)


def prepare(text: str) -> str:
    """The form the detector reads: lower case, one apostrophe, letters only (4/6 inside Latin words
    kept: they are how Russian is typed in Latin letters), letters typed three times or more once."""
    text = unicodedata.normalize("NFC", unicodedata.normalize("NFKC", text)).lower()
    text = _APOS.sub("'", text)
    text = _DIGIT_IN_WORD.sub(lambda m: "ч" if m.group(0) == "4" else "ш", text)
    text = _NOT_LETTER.sub(" ", text)
    text = _REPEAT.sub(r"\1", text)
    return " ".join(text.split())


def word_features(word: str) -> list[str]:
    padded = f" {word} "
    out = ["w:" + word]
    for n in (1, 2, 3, 4):
        out.extend(padded[i:i + n] for i in range(len(padded) - n + 1) if padded[i:i + n] != " ")
    return out


def features(prepared: str) -> list[str]:
    out: list[str] = []
    for word in prepared.split():
        out.extend(word_features(word))
    return out


def count_features(texts: Iterable[str]) -> Counter[str]:
    """The features of many texts counted: words are counted first and each distinct word's features
    taken once (the same counts as `features` text by text, a tenth of the work at start-up)."""
    words: Counter[str] = Counter()
    for text in texts:
        words.update(prepare(text).split())
    counts: Counter[str] = Counter()
    for word, n in words.items():
        for feature in word_features(word):
            counts[feature] += n
    return counts


def ru_to_latin(text: str, rng: random.Random) -> str:
    """Russian as people type it in Latin letters, one scheme per text with some letters varying."""
    scheme = rng.randrange(3)
    out: list[str] = []
    for ch in text:
        low = ch.lower()
        spellings = _RU_LATIN_MAP.get(low)
        if spellings is None:
            out.append(ch)
            continue
        pick = spellings[scheme % len(spellings)] if rng.random() < 0.85 else rng.choice(spellings)
        out.append(pick)
    return "".join(out)


def training_texts(texts_by_lang: dict[str, list[str]], seed: int = 5) -> dict[tuple[str, str], list[str]]:
    """The training text of every class, widened the ways people type. Each class is sampled first
    (`_sample`, by the length of the source text, which its typed forms keep within a few letters) and
    only the texts kept are rewritten: transliterating every example cost most of the start-up."""
    rng = random.Random(seed)
    corpus: dict[tuple[str, str], list[tuple[str, Callable[[str], str]]]] = {c: [] for c in CLASSES}
    for text in texts_by_lang.get("ru", []):
        corpus[("ru", "Cyrl")].append((text, _same))
        corpus[("ru", "Latn")].append((text, lambda t: ru_to_latin(t, rng)))
    for text in texts_by_lang.get("uz", []):
        corpus[("uz", "Latn")].extend(((text, _same), (text, _no_apostrophe), (text, _one_apostrophe)))
        corpus[("uz", "Cyrl")].extend(((text, uz_latin_to_cyrillic), (text, _plain_uz_cyrillic)))
    for lang in ("tg", "ky"):
        for text in texts_by_lang.get(lang, []):
            corpus[(lang, "Cyrl")].extend(((text, _same), (text, _plain)))
    return {c: [rewrite(text) for text, rewrite in _sample(texts, rng)] for c, texts in corpus.items()}


def _same(text: str) -> str:
    return text


def _no_apostrophe(text: str) -> str:
    return _APOS.sub("", text)


def _one_apostrophe(text: str) -> str:
    return _APOS.sub("'", text)


def _plain(text: str) -> str:
    return text.lower().translate(_PLAIN)


def _plain_uz_cyrillic(text: str) -> str:
    return _plain(uz_latin_to_cyrillic(text))


def _sample(texts: list[tuple[str, Callable[[str], str]]],
            rng: random.Random) -> list[tuple[str, Callable[[str], str]]]:
    """At most CLASS_CHARS characters of a class, drawn evenly from all its texts: letter statistics
    settle long before that, and training on every example of every answer cost seconds at start-up."""
    if sum(len(text) for text, _ in texts) <= CLASS_CHARS:
        return texts
    order = list(range(len(texts)))
    rng.shuffle(order)
    kept, size = [], 0
    for i in order:
        if size >= CLASS_CHARS:
            break
        kept.append(i)
        size += len(texts[i][0])
    return [texts[i] for i in sorted(kept)]


class LanguageDetector:
    def __init__(self, corpus: dict[tuple[str, str], list[str]]):
        counts = [count_features(corpus[c]) for c in CLASSES]
        vocabulary = sorted(set().union(*counts))
        self.index = {f: i for i, f in enumerate(vocabulary)}
        table = np.zeros((len(vocabulary) + 1, len(CLASSES)), dtype=np.float32)
        for j, counter in enumerate(counts):
            total = sum(counter.values()) + _ALPHA * (len(vocabulary) + 1)
            column = np.full(len(vocabulary) + 1, math.log(_ALPHA / total), dtype=np.float32)
            for feature, n in counter.items():
                column[self.index[feature]] = math.log((n + _ALPHA) / total)
            table[:, j] = column
        # unseen features say nothing: the last row is zero
        table[-1, :] = 0.0
        self.table: npt.NDArray[np.float32] = table
        self._unseen = len(vocabulary)
        self._word_rows: dict[str, list[int]] = {}

    def _rows(self, word: str) -> list[int]:
        """The table rows of a word's features, kept for the words people type again and again."""
        rows = self._word_rows.get(word)
        if rows is None:
            if len(self._word_rows) >= WORD_CACHE:
                self._word_rows.clear()
            rows = [self.index.get(f, self._unseen) for f in word_features(word)]
            self._word_rows[word] = rows
        return rows

    def log_likelihoods(self, prepared: str) -> npt.NDArray[np.float64]:
        rows = [r for word in prepared.split() for r in self._rows(word)]
        if not rows:
            return np.zeros(len(CLASSES))
        scores: npt.NDArray[np.float64] = self.table[rows].sum(axis=0, dtype=np.float64) / math.sqrt(len(rows))
        for ch in prepared:
            own = _OWN_LETTERS.get(ch)
            if own is not None:
                scores[CLASSES.index(own)] += _OWN_BONUS
        return scores

    def detect(self, text: str, prior: str | None = None) -> LangGuess | None:
        """The language and script of `text`; None when it has no letters. `prior` (a language the
        migrant chose) tips a close call its way."""
        prepared = prepare(text)
        if not any(ch.isalpha() for ch in prepared):
            return None
        scores = self.log_likelihoods(prepared)
        cyr, lat = len(_CYRILLIC.findall(prepared)), len(_LATIN.findall(prepared))
        script = "Cyrl" if cyr > lat else "Latn"
        # the script is read from the letters; only the classes written in it compete
        masked = np.array([s if c[1] == script else -np.inf for s, c in zip(scores, CLASSES, strict=True)])
        per_lang: dict[str, float] = {}
        for s, (lang, _) in zip(masked, CLASSES, strict=True):
            per_lang[lang] = max(per_lang.get(lang, -math.inf), float(s))
        if prior in per_lang and math.isfinite(per_lang[prior]):
            per_lang[prior] += PRIOR_BONUS
        finite = {k: v for k, v in per_lang.items() if math.isfinite(v)}
        top = max(finite.values())
        exp = {k: math.exp((v - top) / TEMPERATURE) for k, v in finite.items()}
        total = sum(exp.values())
        probs = {k: exp.get(k, 0.0) / total for k in ("ru", "uz", "tg", "ky")}
        ranked = sorted(probs.items(), key=lambda kv: -kv[1])
        lang = ranked[0][0]
        return LangGuess(lang=lang, script=script if lang == "uz" else ("Latn" if script == "Latn" else "Cyrl"),
                         confidence=ranked[0][1] - ranked[1][1], scores=probs)


# Softmax temperature over the length-normalised log-likelihoods, and the nudge a chosen language gets;
# see thresholds.py for how the confidence is used.
TEMPERATURE = 1.0
PRIOR_BONUS = 1.0


def flow_texts(items: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for lang, text in items:
        if text.strip():
            out.setdefault(lang, []).append(text)
    return out
